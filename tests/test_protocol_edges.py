"""The protocol's edges on the real firmware, spoken raw (no device client to smooth them over): no session, no
commands; a refused HELLO opens none; yes/no fields take 0 or 1 only; a silent host's session ends."""

import asyncio
import time
from binascii import crc32

import pytest
from fuzz.firmware_in_cpython import Chip, load_firmware

from flutex.firmware import wire
from flutex.host.errors import UsageError
from flutex.host.link.transport import SerialTransport


class RawHost:
    """Frames out, frames in, on the board's port, with nothing in between."""

    def __init__(self, port: str) -> None:
        self._transport = SerialTransport(port)
        self._decoder = wire.StreamDecoder()
        self._seq = 0
        self.frames: list[tuple[float, int, tuple]] = []  # (host time, type, fields)
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "RawHost":
        await self._transport.open()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._reader.cancel()
        await self._transport.close()

    async def _read(self) -> None:
        while True:
            for msg_type, _seq, payload in self._decoder.feed(await self._transport.read()):
                self.frames.append((time.monotonic(), msg_type, wire.parse(msg_type, payload)))

    def send(self, msg_type: int, fields: tuple = (), tail=None, payload: bytes | None = None) -> int:
        """Send a message (or, with `payload`, any bytes as its payload); returns its seq."""
        self._seq += 1
        if payload is None:
            frame = wire.encode(msg_type, self._seq, fields, tail)
        else:
            body = bytes([msg_type]) + self._seq.to_bytes(2, "little") + payload
            frame = wire.cobs_encode(body + crc32(body).to_bytes(4, "little")) + wire.DELIMITER
        self._transport.write(wire.DELIMITER + frame)
        return self._seq

    async def answer(self, msg_type: int, seq: int, timeout_s: float = 2.0) -> tuple:
        """The ACK or ERROR that answers message (`msg_type`, `seq`)."""
        async with asyncio.timeout(timeout_s):
            while True:
                for _t, kind, fields in self.frames:
                    if kind in (wire.ACK, wire.ERROR) and fields[:2] == (msg_type, seq):
                        return kind, fields
                await asyncio.sleep(0.005)

    def streamed_since(self, since_s: float) -> int:
        return sum(1 for t, kind, _ in self.frames if t >= since_s and kind in (wire.FLUTE, wire.BELT, wire.STATUS))


async def test_without_a_session_the_board_streams_nothing_and_refuses_commands(board):
    async with RawHost(board.port) as host:
        started = time.monotonic()
        for msg_type, fields in ((wire.ARM, (1,)), (wire.CLUTCH, (1,)), (wire.TARE, ())):
            kind, (_, _, code, reason) = await host.answer(msg_type, host.send(msg_type, fields))
            assert kind == wire.ERROR and code == wire.E_NO_SESSION and "HELLO" in reason
        await asyncio.sleep(0.3)
        assert host.streamed_since(started) == 0


async def test_a_hello_of_another_version_opens_no_session(board):
    async with RawHost(board.port) as host:
        hello = host.send(wire.HELLO, (wire.VERSION + 1,))
        kind, (_, _, code, reason) = await host.answer(wire.HELLO, hello)
        assert kind == wire.ERROR and code == wire.E_VERSION and f"v{wire.VERSION + 1}" in reason
        kind, (_, _, code, _) = await host.answer(wire.ARM, host.send(wire.ARM, (1,)))
        assert code == wire.E_NO_SESSION
        assert any(kind == wire.BOARD_INFO for _, kind, _ in host.frames), "BOARD_INFO says who refused"


@pytest.mark.parametrize(("msg_type", "value"), [(wire.ARM, 7), (wire.ESTOP, 200), (wire.CLUTCH, 2)])
async def test_a_yes_no_command_with_any_other_byte_is_refused(board, msg_type, value):
    async with RawHost(board.port) as host:
        host.send(wire.HELLO, (wire.VERSION,))
        kind, (_, _, code, _) = await host.answer(msg_type, host.send(msg_type, payload=bytes([value])))
        assert kind == wire.ERROR and code == wire.E_BAD_MESSAGE


async def test_the_session_of_a_host_gone_silent_ends_and_the_streams_stop(board):
    async with RawHost(board.port) as host:
        host.send(wire.HELLO, (wire.VERSION,))
        await asyncio.sleep(0.5)
        assert host.streamed_since(0) > 50
        await asyncio.sleep(2.5)  # the host says nothing at all: the board gives its session up after 2 s
        quiet_from = time.monotonic()
        await asyncio.sleep(0.5)
        assert host.streamed_since(quiet_from) == 0
        _kind, (_, _, code, _) = await host.answer(wire.ARM, host.send(wire.ARM, (1,)))
        assert code == wire.E_NO_SESSION


async def test_arguments_the_protocol_cannot_carry_are_refused_by_the_client_in_words(client):
    for call in (
        lambda: client.set_servos([40000] * 6),
        lambda: client.set_servos([1.5] * 6),
        lambda: client.guide([0] * 6, duration_ms=70000),
        lambda: client.guide([0] * 6, duration_ms=100, force_permille=-1),
    ):
        with pytest.raises(UsageError, match="whole number"):
            call()
    assert (await client.arm()).accepted, "nothing reached the board, and the link is fine"


def test_every_hello_disarms_so_a_new_host_must_arm_again():
    """Checked on the firmware's own command handler (stand-in silicon), where the second HELLO can follow the ARM
    within the watchdog's 100 ms, so only the HELLO rule can be what disarms."""
    chip = Chip()
    firmware = load_firmware(chip)

    def receive(msg_type: int, fields: tuple = ()) -> None:
        firmware.link.receive(wire.encode(msg_type, 1, fields), firmware.handle)

    receive(wire.HELLO, (wire.VERSION,))
    receive(wire.ARM, (1,))
    receive(wire.CLUTCH, (1,))
    assert firmware.envelope.armed and firmware.envelope.clutch_engaged
    receive(wire.HELLO, (wire.VERSION,))
    assert not firmware.envelope.armed and not firmware.envelope.clutch_engaged
