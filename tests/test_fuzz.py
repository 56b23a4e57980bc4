"""Both ends of the protocol under arbitrary input, in bounded time: the firmware's receiving side and the device
client's. The same targets run unbounded, coverage-guided, in tests/fuzz/fuzz_wire.py (atheris)."""

import asyncio
import random

from fuzz.targets import FirmwareTarget, HostTarget, stream_from
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.firmware import wire
from flutex.host.link.client import DeviceClient
from flutex.host.link.transport import SerialTransport

recipes = st.binary(max_size=600)


@settings(max_examples=300)
@given(st.lists(recipes, min_size=1, max_size=4))
def test_the_firmware_takes_any_bytes_from_a_host_and_keeps_its_envelope(inputs):
    target = FirmwareTarget()  # fresh each example, so a failure replays exactly
    for recipe in inputs:
        target(recipe)


@settings(max_examples=300)
@given(recipes)
def test_the_client_takes_any_bytes_from_a_board(recipe):
    HOST(recipe)


HOST = HostTarget()


def test_recipes_reach_deep_into_the_protocol():
    """The fuzz input is mostly valid frames of every type, or the fuzzers would only ever test the CRC."""
    rng = random.Random(1)
    decoder = wire.StreamDecoder()
    seen = set()
    for _ in range(300):
        recipe = bytes(rng.randrange(256) for _ in range(rng.randrange(2, 200)))
        seen.update(msg_type for msg_type, _seq, _payload in decoder.feed(stream_from(recipe)))
    assert set(wire.LAYOUTS) <= seen


async def test_the_real_firmware_survives_a_fuzzed_host_and_still_answers(board):
    """The same recipes, on the real firmware in the real MicroPython: after 400 of them it has not stopped (no
    exception, no hardware watchdog reset) and a host can still connect.

    Each write runs in a thread, as a real host's writer would, so that the event loop goes on reading the simulated
    board's own output while a write waits for room in the pty: a loop blocked in back-to-back writes leaves the
    board's output pipe full, the board stalls, and the writes time out (a CI flake under load)."""
    rng = random.Random(7)
    port = SerialTransport(board.port)
    await port.open()
    for _ in range(400):
        payload = stream_from(bytes(rng.randrange(256) for _ in range(rng.randrange(2, 300))))
        await asyncio.to_thread(port.write, payload)
    await port.close()
    client = DeviceClient(SerialTransport(board.port))
    info = await client.connect()
    await client.close()
    assert info.protocol_version == wire.VERSION
    assert board.running and board.exit_error is None, board.log
