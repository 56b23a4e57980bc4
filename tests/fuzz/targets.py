"""The two ends of the protocol as fuzz targets: bytes in, invariants checked, any exception is a bug.

- `FirmwareTarget`: bytes from a host into the firmware's link and command handler (on stand-in silicon, see
  `firmware_in_cpython`). Checked after every input: the firmware raised nothing, everything it sent is a valid
  frame, and the safety envelope holds (no clutch while disarmed, no servo target outside the travel).
- `HostTarget`: bytes from a board into the device client's receive path (decoder, parsers, events, the reaction
  to errors). Checked: it raised nothing and every event it published is well formed.

Random bytes almost never carry a valid CRC, so `stream_from` reads the fuzzer's bytes as a recipe: mostly
well-framed messages of the protocol's types with arbitrary payloads, some raw bytes between them. Shared by the
bounded property tests (tests/test_fuzz.py, in CI) and the coverage-guided harness (fuzz_wire.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
from binascii import crc32

from fuzz.firmware_in_cpython import Chip, load_firmware

from flutex.firmware import wire
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import (
    BeltSample,
    BoardAlert,
    CommandResult,
    FluteSample,
    HapticStatus,
    LinkLost,
    LinkRestored,
)

TYPES = sorted(wire.LAYOUTS)
EVENT_TYPES = (FluteSample, BeltSample, HapticStatus, CommandResult, BoardAlert, LinkLost, LinkRestored)
US_PER_INPUT = 3000  # the stand-in clock advances this much per input, so the firmware's timers move


def stream_from(recipe: bytes) -> bytes:
    """A byte stream built from `recipe`: each step is a head byte, a length byte and that many bytes, which
    become a framed message (of a protocol type, or any type) with a correct CRC, or go on the line raw."""
    out = bytearray()
    i = 0
    while i + 1 < len(recipe):
        head, size = recipe[i], recipe[i + 1]
        chunk = recipe[i + 2 : i + 2 + size]
        i += 2 + size
        kind = head & 3
        if kind == 0:
            out += chunk
            continue
        msg_type = TYPES[(head >> 2) % len(TYPES)] if kind < 3 else head
        if msg_type == wire.HELLO and kind == 1:
            chunk = bytes([wire.VERSION])  # a good HELLO opens the session, where most of the firmware lives
        body = struct.pack(wire.HEADER, msg_type, head * 257 & 0xFFFF) + chunk[: wire.MAX_BODY]
        out += wire.cobs_encode(body + struct.pack("<I", crc32(body))) + wire.DELIMITER
    return bytes(out)


class FirmwareTarget:
    """One firmware, fed input after input (its state carries over, as on a board that runs for hours)."""

    def __init__(self) -> None:
        self.chip = Chip()
        self.firmware = load_firmware(self.chip)
        self._envelope = self.firmware.envelope
        self._max_press = self.firmware.pinmap["safety"]["max_press_permille"]
        self._answers = wire.StreamDecoder()

    def __call__(self, recipe: bytes) -> None:
        self.chip.now_us += US_PER_INPUT
        self.firmware.link.receive(stream_from(recipe), self.firmware.handle)
        envelope = self._envelope
        assert envelope.armed or not envelope.clutch_engaged, "clutch engaged while disarmed"
        assert all(-1000 <= target <= self._max_press for target in envelope.targets), envelope.targets
        for msg_type, _seq, payload in self._answers.feed(bytes(self.chip.sent)):
            wire.parse(msg_type, payload)  # everything the board sends is valid protocol
        assert self._answers.crc_errors == self._answers.framing_errors == 0
        self.chip.sent.clear()


class _Unplugged:
    """A transport with nothing behind it: the client's answers (HELLO, heartbeats) go nowhere."""

    description = "nothing"

    async def open(self) -> None: ...

    async def read(self) -> bytes:
        await asyncio.Event().wait()
        return b""

    def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class HostTarget:
    """A fresh device client per input, mid-session and waiting for a BOARD_INFO, on its own event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()

    def __call__(self, recipe: bytes) -> None:
        self._loop.run_until_complete(self._one(stream_from(recipe)))

    async def _one(self, data: bytes) -> None:
        client = DeviceClient(_Unplugged())
        events = client.subscribe()
        client._info_waiter = waiter = asyncio.get_running_loop().create_future()
        client._receive(data)
        if waiter.done() and not waiter.cancelled():
            waiter.exception()  # a version mismatch or a refusal is an outcome here, not an error to report
        if client._recovery is not None:  # an error made it reconnect: nothing to reconnect to here
            client._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await client._recovery
        while (event := events.get_nowait()) is not None:
            assert isinstance(event, EVENT_TYPES), event
            t_s = getattr(event, "t_s", 0.0)
            assert t_s is None or math.isfinite(t_s), event
