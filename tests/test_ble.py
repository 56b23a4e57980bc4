"""The device client over Bluetooth LE: the simulated firmware behind a bumble peripheral, the host's BLE
transport on a bumble central, joined by bumble's virtual radio link (real HCI, L2CAP, SMP, ATT and GATT).

Who may move the fingers: only a host on an encrypted link with a bond, made in the board's pairing window. What
these tests prove, and what they cannot (bumble's virtual link does not encrypt), is in docs/ble.md.
"""

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
from ble_board import BOARD_NAME, HOST_ADDRESS, STRANGER_ADDRESS, Air, ble_board
from ble_bumble import BumbleCentral
from bumble.device import Device
from bumble.pairing import PairingConfig
from device_helpers import board_shows, next_event
from hypothesis import given
from hypothesis import strategies as st

from flutex.firmware import link_ble, wire
from flutex.host.link.ble import BleTransport
from flutex.host.link.client import STREAMS, BoardRefused, DeviceClient
from flutex.host.link.events import BeltSample, FluteSample, HapticStatus, LinkLost, LinkRestored
from flutex.sim.board import SimBoard, firmware_files, run_micropython

FLUTE_FRAMES = 200  # one second of the flute stream
ANSWER_TIMEOUT_S = 2.0
ACTUATING = {  # every command that can move a finger or change what the sensors read, well formed
    wire.ARM: ((1,), None),
    wire.SERVO: ((6,), (500,) * 6),
    wire.CLUTCH: ((1,), None),
    wire.GUIDE: ((500, 1000, 6), (1000,) * 6),
    wire.TARE: ((), None),
}


@given(data=st.binary(max_size=600), mtu=st.integers(link_ble.DEFAULT_MTU, 517))
def test_chunks_fit_the_mtu_and_join_back(data, mtu):
    pieces = link_ble.chunks(data, mtu)
    assert b"".join(pieces) == data
    assert all(0 < len(piece) <= mtu - link_ble.ATT_HEADER_SIZE for piece in pieces)


@given(seq=st.integers(0, 0xFFFF), t_us=st.integers(0, wire.TICKS_PERIOD - 1), code=st.integers(0, 255))
def test_frame_type_reads_an_encoded_frame(seq, t_us, code):
    frames = {
        wire.FLUTE: wire.encode(wire.FLUTE, seq, (t_us, 0, 0)),
        wire.BELT: wire.encode(wire.BELT, seq, (t_us, 0, 0, 0, 0)),
        wire.STATUS: wire.encode(wire.STATUS, seq, (t_us, 0, 0), ()),
        wire.ACK: wire.encode(wire.ACK, seq, (wire.ARM, seq, t_us)),
        wire.ERROR: wire.encode(wire.ERROR, seq, (wire.HELLO, seq, code), ""),
    }
    assert {link_ble.frame_type(frame): msg_type for msg_type, frame in frames.items()} == {t: t for t in frames}


def test_only_someone_at_the_board_opens_the_pairing_window():
    window_ms = link_ble.PAIRING_WINDOW_MS
    assert link_ble.may_bond(0, estop_pressed=True, bonded_since_power_on=False)
    assert link_ble.may_bond(window_ms - 1, estop_pressed=True, bonded_since_power_on=False)
    assert not link_ble.may_bond(window_ms, estop_pressed=True, bonded_since_power_on=False), "the window closes"
    assert not link_ble.may_bond(10, estop_pressed=False, bonded_since_power_on=False), "e-stop not pressed"
    assert not link_ble.may_bond(10, estop_pressed=True, bonded_since_power_on=True), "one new host per power-on"


# A stand-in for micropython-lib's aioble and MicroPython's bluetooth: it records what BleLink asks of the stack and
# lets the test play the stack's part (connections, writes, encryption flags, key-store events). Not a radio.
STAND_IN_AIOBLE = """
import asyncio
configured = []
incoming = []
arrived = asyncio.Event()
def config(**settings):
    configured.append(settings)
def register_services(*services):
    pass
class Service:
    def __init__(self, uuid):
        pass
class Characteristic:
    def __init__(self, service, uuid, **flags):
        self.notified = []
    def notify(self, connection, piece):
        self.notified.append(bytes(piece))
class BufferedCharacteristic(Characteristic):
    def __init__(self, *args, **flags):
        super().__init__(*args, **flags)
        self.writes = []
        self.event = asyncio.Event()
    async def written(self):
        while not self.writes:
            self.event.clear()
            await self.event.wait()
        return self.writes.pop(0)
class Connection:
    def __init__(self):
        self.encrypted = self.bonded = False
        self.mtu = 23
        self.gone = asyncio.Event()
    async def disconnected(self, timeout_ms=None):
        await self.gone.wait()
async def advertise(interval_us, name=None, services=None):
    while not incoming:
        arrived.clear()
        await arrived.wait()
    return incoming.pop(0)
class core:
    handed_on = []
    def ble_irq(event, data):
        core.handed_on.append(event)
        return True
    class ble:
        handler = None
        def irq(handler):
            core.ble.handler = handler
class security:
    path = None
    def load_secrets(path=None):
        security.path = path
"""

BLE_LINK_SCENARIO = """
import asyncio, aioble, link_ble, wire
link_ble.PAIRING_WINDOW_MS = 300
link = link_ble.BleLink()
assert aioble.security.path == link_ble.BONDS_FILE
assert aioble.configured == [{"mtu": 247, "le_secure": True, "mitm": False, "bond": False, "io": 3}]
assert aioble.core.ble.handler == link._irq
reading = asyncio.create_task(link.read())
await asyncio.sleep_ms(20)
host = aioble.Connection()
aioble.incoming.append(host)
aioble.arrived.set()
await asyncio.sleep_ms(20)
assert aioble.configured[1:] == [{"bond": True}], "the e-stop reads pressed: the window is open"
assert not link.trusted()
assert not link.write(wire.encode(wire.FLUTE, 0, (0, 0, 0))), "no stream to a host that is not trusted"
assert link.write(wire.encode(wire.ERROR, 0, (wire.HELLO, 0, wire.E_NOT_PAIRED), "no"))
link._rx.writes.append((host, b"abc"))
link._rx.event.set()
assert await reading == b"\\x00abc", "a new connection's bytes start with a delimiter"
link._rx.writes.append((aioble.Connection(), b"old"))
link._rx.writes.append((host, b"def"))
link._rx.event.set()
assert await link.read() == b"def", "bytes from another connection are dropped"
host.encrypted = host.bonded = True
assert link.trusted() and link.write(wire.encode(wire.FLUTE, 1, (0, 0, 0)))
assert link._irq(30, (1, b"addr", b"ours")) and link._irq(30, (2, b"addr", None))
assert not link._bonded_since_power_on, "our own keys, or a bond deleted, are no new bond"
assert link._irq(30, (2, b"addr", b"theirs")) and link._bonded_since_power_on
await asyncio.sleep_ms(150)
assert aioble.configured[1:] == [{"bond": True}, {"bond": False}], "one new bond per power-on"
assert aioble.core.handed_on == [30, 30, 30], "aioble still gets every event"
print("ok")
"""


def test_ble_link_logic_runs_in_micropython(tmp_path):
    """BleLink's own logic (the pairing window, trust, what goes to whom) in the real MicroPython interpreter,
    with the BLE stack played by a stand-in: what no radio is needed for."""
    (tmp_path / "aioble.py").write_text(STAND_IN_AIOBLE)
    (tmp_path / "bluetooth.py").write_text("class UUID:\n    def __init__(self, text):\n        pass\n")
    files = firmware_files() | {"/aioble.py": tmp_path / "aioble.py", "/bluetooth.py": tmp_path / "bluetooth.py"}
    assert run_micropython(files, BLE_LINK_SCENARIO)[-1:] == ["ok"]


@pytest_asyncio.fixture
async def air(board):
    async with ble_board(board) as radio:
        yield radio


async def bond(air: Air, host: Device) -> None:
    """Someone at the board presses the e-stop in its pairing window, the host pairs, the e-stop is let go."""
    air.peripheral.set_estop(True)
    central = BumbleCentral(host, BOARD_NAME)
    await central.connect(lambda _data: None, lambda _reason: None)
    await board_shows(lambda: air.peripheral.trusted)
    await central.disconnect()
    air.peripheral.set_estop(False)
    assert air.peripheral.pairings[-1] is True


async def arm_when_released(client: DeviceClient, events: asyncio.Queue) -> None:
    """ARM once the board reports the e-stop (pressed for pairing) up again. The firmware polls the button: a STATUS
    sent before it saw the release (or the press) is stale, and the ARM is then refused for the e-stop: try again
    at the next STATUS that says released."""
    while True:
        while (await next_event(events, HapticStatus)).emergency_stop:
            pass
        result = await client.arm()
        if result.accepted:
            return
        assert result.code == wire.E_ESTOP, result


class RawHost:
    """What a stranger's phone can do: write any bytes to RX, and keep every frame the board notifies back."""

    def __init__(self, device: Device) -> None:
        self.central = BumbleCentral(device, BOARD_NAME, pair=False)
        self.frames: list[tuple[int, int, bytes]] = []
        self._decoder = wire.StreamDecoder()
        self._arrived = asyncio.Event()
        self._seq = 100

    async def connect(self) -> None:
        await self.central.connect(self._on_data, lambda _reason: None)

    async def write(self, value: bytes) -> None:
        await self.central.send(value)

    async def send(self, msg_type: int, fields: tuple = (), tail: tuple | None = None) -> int:
        """Write one well-formed frame with a new seq; returns the seq."""
        self._seq += 1
        await self.write(wire.encode(msg_type, self._seq, fields, tail))
        return self._seq

    async def command(self, msg_type: int, fields: tuple = (), tail: tuple | None = None) -> tuple[int, int]:
        return await self.answer(msg_type, await self.send(msg_type, fields, tail))

    async def answer(self, msg_type: int, seq: int) -> tuple[int, int]:
        """The board's answer to the command (msg_type, seq): (ACK, 0) or (ERROR, code)."""
        return await self._wait_for(lambda: self._answer(msg_type, seq))

    async def frame(self, msg_type: int) -> bytes:
        """The payload of the first frame of `msg_type` the board sent this host."""
        return await self._wait_for(lambda: next((p for t, _s, p in self.frames if t == msg_type), None))

    def streamed(self) -> int:
        return sum(1 for msg_type, _seq, _payload in self.frames if msg_type in STREAMS)

    def _answer(self, msg_type: int, seq: int) -> tuple[int, int] | None:
        for answer_type, _seq, payload in self.frames:
            if answer_type == wire.ACK and wire.parse(wire.ACK, payload)[:2] == (msg_type, seq):
                return wire.ACK, 0
            if answer_type == wire.ERROR:
                ref_type, ref_seq, code, _reason = wire.parse(wire.ERROR, payload)
                if (ref_type, ref_seq) == (msg_type, seq):
                    return wire.ERROR, code
        return None

    async def _wait_for(self, found: Callable[[], Any]) -> Any:
        async def wait() -> Any:
            while (result := found()) is None:
                self._arrived.clear()
                await self._arrived.wait()
            return result

        return await asyncio.wait_for(wait(), ANSWER_TIMEOUT_S)

    def _on_data(self, data: bytes) -> None:
        self.frames.extend(self._decoder.feed(data))
        self._arrived.set()


async def talk_for(raw: RawHost, board: SimBoard, board_ms: int) -> None:
    """Keep `raw` sending HEARTBEATs until the board's own clock has seen `board_ms` pass between the first and the
    last that reached it: long enough for any stream to show, however loaded the machine."""
    heard_before = len(board.heartbeat_times_us)
    sent = 0
    while True:
        await raw.send(wire.HEARTBEAT)
        sent += 1
        await board_shows(lambda heard=heard_before + sent: len(board.heartbeat_times_us) >= heard)
        heard = list(board.heartbeat_times_us)[heard_before:]
        if (heard[-1] - heard[0]) % wire.TICKS_PERIOD >= board_ms * 1000:
            return
        await asyncio.sleep(0.02)  # pacing only: the board's clock, not this sleep, decides when to stop


@pytest.mark.parametrize("mtu", [link_ble.DEFAULT_MTU, link_ble.PREFERRED_MTU])
async def test_streams_and_commands_over_ble(air, mtu):
    peripheral, host = air.peripheral, air.central()
    await bond(air, host)
    client = DeviceClient(BleTransport(BumbleCentral(host, BOARD_NAME, mtu=mtu)))
    events = client.subscribe()
    info = await client.connect()
    try:
        assert peripheral.connection().is_encrypted and peripheral.trusted
        assert info.rates_hz["flute"] == 200
        assert client.transport.mtu == mtu
        for _ in range(FLUTE_FRAMES):
            await next_event(events, FluteSample, 2.0)
        await next_event(events, BeltSample, 2.0)
        await arm_when_released(client, events)
        assert (await client.set_servos([0] * info.fingers)).accepted
        stats = client.stats
        assert stats.frames["FLUTE"] >= FLUTE_FRAMES and stats.frames["BELT"] > 0
        assert sum(stats.lost.values()) == 0
        assert stats.crc_errors == stats.framing_errors == stats.bad_messages == 0
        payload = mtu - link_ble.ATT_HEADER_SIZE
        written = [len(value) for value in peripheral.written]
        assert max(peripheral.notified) <= payload and max(written) <= payload
        if mtu == link_ble.DEFAULT_MTU:
            # BOARD_INFO and SERVO frames are longer than 20 bytes: they crossed in several pieces each way
            assert payload in peripheral.notified and payload in written
        else:
            assert max(peripheral.notified) > link_ble.DEFAULT_MTU - link_ble.ATT_HEADER_SIZE
        assert peripheral.pairings == [True], "one pairing, at the bond; this connection restored its keys"
    finally:
        await client.close()


async def test_survives_a_disconnect_and_encrypts_again(air):
    peripheral, host = air.peripheral, air.central()
    await bond(air, host)
    client = DeviceClient(BleTransport(BumbleCentral(host, BOARD_NAME)), reconnect_timeout_s=10.0)
    events = client.subscribe()
    await client.connect()
    try:
        samples = [await next_event(events, FluteSample, 2.0)]
        await peripheral.connection().disconnect()  # the board walks out of range
        lost_events = []
        while not isinstance(event := await asyncio.wait_for(events.get(), 10.0), LinkRestored):
            samples += [event] if isinstance(event, FluteSample) else []
            lost_events += [event] if isinstance(event, LinkLost) else []
        assert len(lost_events) == 1 and not lost_events[0].final
        assert event.info.protocol_version == client.info.protocol_version and not event.rebooted
        samples.append(await next_event(events, FluteSample, 2.0))  # the new connection is subscribed
        assert peripheral.connection().is_encrypted and peripheral.trusted
        assert peripheral.pairings == [True], "the bond's keys were used again: no new pairing"
        assert (await client.arm()).accepted, "commands work again after the reconnect"
        # the board ran on while no host was connected: what it sent then is counted lost, frame for frame, and
        # that is no more frames than its clock says the gap lasted. (Frames still on their way arrive after
        # LinkLost, and a board whose session is still open streams before it answers the new HELLO: the gap is
        # where the numbers jump, not where the events say.)
        gaps = [(a, b) for a, b in itertools.pairwise(samples) if (b.seq - a.seq) % 65536 != 1]
        assert len(gaps) == 1, [sample.seq for sample in samples]
        (last_before, first_after) = gaps[0]
        lost = client.stats.lost["FLUTE"]
        assert lost == (first_after.seq - last_before.seq - 1) % 65536 > 0, client.stats.lost
        by_clock = (first_after.t_s - last_before.t_s) * client.info.rates_hz["flute"] - 1
        assert lost <= 1.05 * by_clock + 2, (lost, by_clock)  # (a late sampling tick spends no number)
    finally:
        await client.close()


async def test_a_bonded_host_comes_back_after_the_window_closed(air):
    peripheral, host = air.peripheral, air.central()
    await bond(air, host)
    peripheral.powered_on_s -= link_ble.PAIRING_WINDOW_MS / 1000  # the board has been on longer than the window
    client = DeviceClient(BleTransport(BumbleCentral(host, BOARD_NAME)))
    events = client.subscribe()
    await client.connect()
    try:
        await arm_when_released(client, events)
        assert peripheral.connection().is_encrypted and peripheral.pairings == [True]
    finally:
        await client.close()


async def test_a_host_without_a_bond_is_refused(air, board):
    stranger = air.central(STRANGER_ADDRESS)
    client = DeviceClient(BleTransport(BumbleCentral(stranger, BOARD_NAME, pair=False)))
    with pytest.raises(BoardRefused, match=r"refused: .*not paired.*pairing window"):
        await client.connect()
    raw = RawHost(stranger)
    await raw.connect()
    await raw.write(wire.DELIMITER + wire.encode(wire.HELLO, 1, (wire.VERSION,)))
    assert await raw.answer(wire.HELLO, 1) == (wire.ERROR, wire.E_NOT_PAIRED)
    assert (await raw.frame(wire.BOARD_INFO))[0] == wire.VERSION, "it may say which board refused it"
    for msg_type, (fields, tail) in ACTUATING.items():
        assert await raw.command(msg_type, fields, tail) == (wire.ERROR, wire.E_NO_SESSION), wire.NAMES[msg_type]
    await talk_for(raw, board, board_ms=300)
    assert raw.streamed() == 0 and not air.peripheral.trusted
    assert air.peripheral.pairings == [] and air.peripheral.bonds.all_keys == {}


@pytest.mark.parametrize("why", ["e-stop not pressed", "window over", "another host bonded first"])
async def test_pairing_outside_the_window_makes_no_bond(air, why):
    peripheral = air.peripheral
    if why == "another host bonded first":
        await bond(air, air.central())
        peripheral.set_estop(True)
    elif why == "window over":
        peripheral.powered_on_s -= link_ble.PAIRING_WINDOW_MS / 1000
        peripheral.set_estop(True)
    bonds_before = dict(peripheral.bonds.all_keys)
    client = DeviceClient(BleTransport(BumbleCentral(air.central(STRANGER_ADDRESS), BOARD_NAME, pair=True)))
    with pytest.raises(BoardRefused, match="not paired"):
        await client.connect()  # the pairing itself completes, without a bond: the link is encrypted, not trusted
    assert peripheral.pairings[-1] is False
    assert peripheral.bonds.all_keys == bonds_before, "no key kept for the stranger"
    assert not peripheral.trusted


async def test_legacy_pairing_makes_no_bond(air):
    """In the window, a host that offers only legacy (pre-4.2) pairing: the bench models a firmware built without it
    (the stock MicroPython build would bond; see docs/security.md)."""
    air.peripheral.set_estop(True)
    host = air.central()
    central = BumbleCentral(host, BOARD_NAME)
    host.pairing_config_factory = lambda _connection: PairingConfig(sc=False, mitm=False, bonding=True)
    client = DeviceClient(BleTransport(central))
    with pytest.raises(BoardRefused, match="not paired"):
        await client.connect()
    assert air.peripheral.pairings == [False] and air.peripheral.bonds.all_keys == {}


async def test_a_replayed_write_is_refused(air):
    """A stranger who recorded a bonded host's writes (over the air they are ciphertext; bumble's virtual link
    carries them in clear, which only makes this stronger) writes the same bytes on its own connection."""
    peripheral, host = air.peripheral, air.central()
    await bond(air, host)
    client = DeviceClient(BleTransport(BumbleCentral(host, BOARD_NAME)))
    events = client.subscribe()
    await client.connect()
    await arm_when_released(client, events)
    await client.close()

    def carries(value: bytes, msg_type: int) -> bool:
        return any(t == msg_type for t, _s, _p in wire.StreamDecoder().feed(value))

    hellos = [value for value in peripheral.written if carries(value, wire.HELLO)]
    arms = [value for value in peripheral.written if carries(value, wire.ARM)]
    assert hellos and arms
    raw = RawHost(air.central(STRANGER_ADDRESS))
    await raw.connect()
    arm_seq = next(s for t, s, _p in wire.StreamDecoder().feed(arms[-1]) if t == wire.ARM)
    await raw.write(arms[-1])  # the host's ARM, inside its session (idle for less than 2 s)
    assert await raw.answer(wire.ARM, arm_seq) == (wire.ERROR, wire.E_NOT_PAIRED)
    for value in hellos:
        await raw.write(value)
    hello_seq = next(s for t, s, _p in wire.StreamDecoder().feed(hellos[-1]) if t == wire.HELLO)
    assert await raw.answer(wire.HELLO, hello_seq) == (wire.ERROR, wire.E_NOT_PAIRED)
    raw.frames.clear()
    await raw.write(arms[-1])
    assert await raw.answer(wire.ARM, arm_seq) == (wire.ERROR, wire.E_NO_SESSION), "the replayed HELLO ended it"
    assert not any(t == wire.ACK for t, _s, _p in raw.frames) and raw.streamed() == 0


async def test_a_stranger_right_after_the_host_left_moves_nothing(air, board):
    """The host armed, set the servos and walked away; a stranger connects inside its session (the board keeps
    a session for 2 s of silence) and sends well-formed commands."""
    peripheral, host = air.peripheral, air.central()
    await bond(air, host)
    client = DeviceClient(BleTransport(BumbleCentral(host, BOARD_NAME)))
    events = client.subscribe()
    info = await client.connect()
    await arm_when_released(client, events)
    assert (await client.set_servos([0] * info.fingers)).accepted
    await client.close()
    raw = RawHost(air.central(STRANGER_ADDRESS))
    await raw.connect()
    for msg_type, (fields, tail) in ACTUATING.items():
        answer = await raw.command(msg_type, fields, tail)
        assert answer == (wire.ERROR, wire.E_NOT_PAIRED), wire.NAMES[msg_type]  # the old session, refused
    heartbeat = await raw.command(wire.HEARTBEAT)
    assert heartbeat == (wire.ERROR, wire.E_NOT_PAIRED), "nor may it feed the watchdog or keep the session alive"
    assert await raw.command(wire.ESTOP, (1,)) == (wire.ACK, 0), "stopping never needs permission"
    await talk_for(raw, board, board_ms=300)
    assert raw.streamed() == 0, "the host's breath and playing data never reach the stranger"
    assert not peripheral.trusted and peripheral.pairings == [True]


async def test_the_bond_is_the_key_not_the_address(air):
    """A device that takes the bonded host's address, without its keys, is a stranger."""
    peripheral, host = air.peripheral, air.central()
    await bond(air, host)
    air.leave(host)
    impostor = air.central(HOST_ADDRESS)
    client = DeviceClient(BleTransport(BumbleCentral(impostor, BOARD_NAME, pair=False)))
    with pytest.raises(BoardRefused, match="not paired"):
        await client.connect()
    assert not peripheral.trusted
