"""The device client over Bluetooth LE: the simulated firmware behind a bumble peripheral, the host's BLE
transport on a bumble central, joined by bumble's virtual radio link (real GATT, ATT MTU exchange, notifications)."""

import pytest
import pytest_asyncio
from ble_board import BOARD_NAME, ble_board
from device_helpers import next_event
from hypothesis import given
from hypothesis import strategies as st

from flutex.ble import BleTransport
from flutex.ble_bumble import BumbleCentral
from flutex.client import DeviceClient
from flutex.events import BeltSample, FluteSample, LinkLost, LinkRestored
from flutex.firmware import link_ble

FLUTE_FRAMES = 200  # one second of the flute stream


@given(data=st.binary(max_size=600), mtu=st.integers(link_ble.DEFAULT_MTU, 517))
def test_chunks_fit_the_mtu_and_join_back(data, mtu):
    pieces = link_ble.chunks(data, mtu)
    assert b"".join(pieces) == data
    assert all(0 < len(piece) <= mtu - link_ble.ATT_HEADER_SIZE for piece in pieces)


@pytest_asyncio.fixture
async def radio(board):
    async with ble_board(board) as peripheral_and_central:
        yield peripheral_and_central


@pytest.mark.parametrize("mtu", [link_ble.DEFAULT_MTU, link_ble.PREFERRED_MTU])
async def test_streams_and_commands_over_ble(radio, mtu):
    peripheral, central = radio
    client = DeviceClient(BleTransport(BumbleCentral(central, BOARD_NAME, mtu=mtu)))
    events = client.subscribe()
    info = await client.connect()
    try:
        assert info.rates_hz["flute"] == 200
        assert client.transport.mtu == mtu
        for _ in range(FLUTE_FRAMES):
            await next_event(events, FluteSample, 2.0)
        await next_event(events, BeltSample, 2.0)
        assert (await client.arm()).accepted
        assert (await client.set_servos([0] * info.fingers)).accepted
        stats = client.stats
        assert stats.frames["FLUTE"] >= FLUTE_FRAMES and stats.frames["BELT"] > 0
        assert sum(stats.lost.values()) == 0
        assert stats.crc_errors == stats.framing_errors == stats.bad_messages == 0
        payload = mtu - link_ble.ATT_HEADER_SIZE
        assert max(peripheral.notified) <= payload and max(peripheral.written) <= payload
        if mtu == link_ble.DEFAULT_MTU:
            # BOARD_INFO and SERVO frames are longer than 20 bytes: they crossed in several pieces each way
            assert payload in peripheral.notified and payload in peripheral.written
        else:
            assert max(peripheral.notified) > link_ble.DEFAULT_MTU - link_ble.ATT_HEADER_SIZE
    finally:
        await client.close()


async def test_survives_a_disconnect_and_subscribes_again(radio):
    peripheral, central = radio
    client = DeviceClient(BleTransport(BumbleCentral(central, BOARD_NAME)), reconnect_timeout_s=10.0)
    events = client.subscribe()
    await client.connect()
    try:
        await next_event(events, FluteSample, 2.0)
        await peripheral.connection().disconnect()  # the board walks out of range, or resets
        assert not (await next_event(events, LinkLost)).final
        restored = await next_event(events, LinkRestored, 10.0)
        assert restored.info.protocol_version == client.info.protocol_version
        await next_event(events, FluteSample, 2.0)  # notifications flow again: the new connection is subscribed
        assert (await client.arm()).accepted, "commands work again after the reconnect"
        assert sum(client.stats.lost.values()) == 0
    finally:
        await client.close()
