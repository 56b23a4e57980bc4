"""The protocol's edges on the real firmware, spoken raw (no device client to smooth them over): no session, no
commands; a refused HELLO opens none; yes/no fields take 0 or 1 only; a silent host's session ends."""

import asyncio
import struct
import time
from binascii import crc32

import pytest
from fuzz.firmware_in_cpython import Chip, load_firmware

from flutex.firmware import wire
from flutex.hardware import load_pinmap
from flutex.host.errors import UsageError
from flutex.host.link.client import DeviceClient
from flutex.host.link.codec import ProtocolMismatch
from flutex.host.link.transport import SerialTransport
from flutex.sim.player import TOUCH_CLOSED, TOUCH_OPEN


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


@pytest.mark.parametrize("version", [wire.VERSION - 1, wire.VERSION + 1], ids=["older host", "newer host"])
async def test_a_hello_of_another_version_opens_no_session(board, version):
    async with RawHost(board.port) as host:
        hello = host.send(wire.HELLO, (version,))
        kind, (_, _, code, reason) = await host.answer(wire.HELLO, hello)
        assert kind == wire.ERROR and code == wire.E_VERSION and f"v{version}" in reason
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


class StandInBoard:
    """The firmware's command handler on stand-in silicon (the shipped pin map unless given), with what it sent
    decoded by name."""

    def __init__(self, pinmap: dict | None = None) -> None:
        self.chip = Chip()
        self.firmware = load_firmware(self.chip, pinmap)
        self._frames = wire.StreamDecoder()
        self._seq = 0

    def receive(self, msg_type: int, fields: tuple = (), tail=None) -> None:
        self._seq += 1
        self.firmware.link.receive(wire.encode(msg_type, self._seq, fields, tail), self.firmware.handle)

    def sent(self) -> list[tuple[str, dict]]:
        """(message name, fields by name) of every frame sent since the last call."""
        frames = self._frames.feed(bytes(self.chip.sent))
        self.chip.sent.clear()
        return [(wire.NAMES[kind], wire.decode(kind, payload)) for kind, _seq, payload in frames]


def _statuses(sent: list[tuple[str, dict]]) -> list[dict]:
    return [fields for name, fields in sent if name == "STATUS"]


def test_status_goes_out_at_once_on_every_change_and_not_otherwise():
    board = StandInBoard()
    board.receive(wire.HELLO, (wire.VERSION,))
    assert [name for name, _ in board.sent()] == ["BOARD_INFO", "STATUS"]
    board.receive(wire.ARM, (1,))
    sent = board.sent()
    assert [name for name, _ in sent] == ["ACK", "STATUS"], "the answer first, then the state it led to"
    assert _statuses(sent)[0]["flags"] & wire.FLAG_ARMED
    fingers = len(board.firmware.envelope.targets)
    board.receive(wire.SERVO, (fingers,), (500,) * fingers)
    assert len(_statuses(board.sent())) == 1, "a new servo target is a change"
    board.receive(wire.SERVO, (fingers,), (500,) * fingers)
    board.receive(wire.HEARTBEAT)
    board.receive(wire.TARE)
    assert _statuses(board.sent()) == [], "the same targets, a heartbeat or a tare change nothing"
    board.receive(wire.GUIDE, (50, 1000, fingers), (1000,) * fingers)
    assert _statuses(board.sent())[0]["flags"] & wire.FLAG_GUIDING
    board.chip.now_us += 60_000
    board.firmware.envelope._supervise()  # the servo task's tick, which ends the guide
    ended = _statuses(board.sent())
    assert len(ended) == 1 and not ended[0]["flags"] & (wire.FLAG_GUIDING | wire.FLAG_CLUTCH)


def test_the_board_acting_on_its_own_sends_an_alert_not_an_error():
    board = StandInBoard()
    board.receive(wire.HELLO, (wire.VERSION,))
    board.receive(wire.ARM, (1,))
    board.sent()
    estop = board.firmware.pinmap["estop"]
    board.chip.pins[estop["gpio"]] = 0 if estop["active_low"] else 1  # the button goes down
    board.chip.now_us += 5_000
    board.firmware.envelope._supervise()
    sent = board.sent()
    assert [name for name, _ in sent] == ["ALERT", "STATUS"]
    alert = sent[0][1]
    assert alert["code"] == wire.E_ESTOP and "button" in alert["reason"]
    assert alert["t_us"] == board.chip.now_us % wire.TICKS_PERIOD, "stamped with the board's time"
    assert sent[1][1]["flags"] & wire.FLAG_ESTOP


def test_the_help_pedal_is_reported_once_two_reads_agree_and_moves_nothing():
    board = StandInBoard()
    pedal = board.firmware.pinmap["help"]
    held, released = (0, 1) if pedal["active_low"] else (1, 0)

    def read(level: int) -> list[dict]:
        board.chip.pins[pedal["gpio"]] = level
        board.firmware.poll_help()
        return _statuses(board.sent())

    read(released)
    board.receive(wire.HELLO, (wire.VERSION,))
    board.receive(wire.ARM, (1,))
    board.sent()
    targets = list(board.firmware.envelope.targets)
    assert read(held) == [] and read(released) == [], "one read is a bounce, not a press"
    assert read(held) == []
    (pressed,) = read(held)
    assert pressed["flags"] & wire.FLAG_HELP
    assert not pressed["flags"] & (wire.FLAG_CLUTCH | wire.FLAG_GUIDING), "the pedal asks; it moves nothing"
    assert board.firmware.envelope.targets == targets
    assert read(held) == [], "held is one report, not one per read"
    assert read(released) == []
    (let_go,) = read(released)
    assert not let_go["flags"] & wire.FLAG_HELP and let_go["flags"] & wire.FLAG_ARMED


def test_a_spare_touch_pad_asks_for_help_too_and_a_hole_cannot_be_one():
    pinmap = load_pinmap()
    pinmap["help"] = {**pinmap["help"], "touch_pad": "R4"}  # the Boehm E-flat key's pad: spare on a six-hole flute
    board = StandInBoard(pinmap)
    pedal, pad = pinmap["help"]["gpio"], {p["hole"]: p["gpio"] for p in pinmap["touch"]["pads"]}["R4"]
    board.chip.pins.update({pedal: 1, pad: TOUCH_OPEN})
    board.receive(wire.HELLO, (wire.VERSION,))
    board.sent()
    board.chip.pins[pad] = TOUCH_CLOSED  # the little finger on the spare pad
    board.firmware.poll_help()
    board.firmware.poll_help()
    assert _statuses(board.sent())[0]["flags"] & wire.FLAG_HELP
    pinmap["help"]["touch_pad"] = "L1"
    with pytest.raises(ValueError, match="the help pad L1 is a hole of the six_hole profile"):
        StandInBoard(pinmap)


def test_board_info_names_the_chip_and_the_profile():
    board = StandInBoard()
    board.receive(wire.HELLO, (wire.VERSION,))
    (name, info), _status = board.sent()
    details = dict(item.split("=", 1) for item in info["details"].split(";"))
    assert name == "BOARD_INFO" and info["version"] == wire.VERSION
    assert details["profile"] == board.firmware.peripherals.profile["name"]
    assert details["id"] == StandInBoard().firmware.unique_id, "the same board has the same id at every power-on"


class _OldBoard:
    """A transport to a board flashed with protocol v2: it answers every HELLO with a v2 BOARD_INFO (and the
    refusal that comes before it)."""

    description = "a v2 board"

    def __init__(self) -> None:
        self._answers: asyncio.Queue[bytes] = asyncio.Queue()
        self._decoder = wire.StreamDecoder()

    async def open(self) -> None: ...

    async def read(self) -> bytes:
        return await self._answers.get()

    def write(self, data: bytes) -> None:
        for msg_type, seq, payload in self._decoder.feed(data):
            if msg_type == wire.HELLO:
                reason = f"host speaks protocol v{payload[0]}, board v2".encode()
                error = struct.pack("<BHB", wire.HELLO, seq, wire.E_VERSION) + reason
                info = struct.pack("<BHHBBBHI", 2, 200, 100, 6, 6, 4, 100, 7) + b"board=esp32s3;profile=six_hole"
                self._answers.put_nowait(_frame(wire.ERROR, 0, error) + _frame(wire.BOARD_INFO, 0, info))

    async def close(self) -> None: ...


def _frame(msg_type: int, seq: int, payload: bytes) -> bytes:
    body = struct.pack(wire.HEADER, msg_type, seq) + payload
    return wire.cobs_encode(body + crc32(body).to_bytes(4, "little")) + wire.DELIMITER


async def test_a_board_on_the_old_protocol_gets_the_clear_mismatch_error():
    client = DeviceClient(_OldBoard())
    with pytest.raises(ProtocolMismatch, match=f"board speaks protocol v2 and this host v{wire.VERSION}.*flutex flash"):
        await client.connect(timeout_s=1.0)
