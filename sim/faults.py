"""A serial line that misbehaves on purpose: between the host and a simulated board, it drops, corrupts, repeats,
reorders and garbles the board's frames, falls silent, and is unplugged and plugged in again, on request.

The host opens `line.port` (a stable path, like /dev/serial/by-id/...) exactly as it would a board's port; the line
talks to the board through the board's own pty. It cuts the board's byte stream at the frame delimiters, so every
fault lands on whole frames and the `Ledger` knows the fate of each one: what the board sent and what the line did
to it. A test or a soak compares that with what the host received, so that every frame the host lost is explained
by a fault that was injected, and no frame the line damaged was taken as good.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import random
import struct
import termios
import tty
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from flutex.firmware import wire
from flutex.sim.board import SimBoard

Key = tuple[int, int, int]  # (how many times the board had been reset when it sent it, message type, seq)
DELIVERED = ("forwarded", "duplicated", "reordered")  # fates after which the host must have the frame, intact
READ_SIZE = 4096
CABLE_SETTLE_S = 0.005


@dataclass
class Ledger:
    """Every frame the board sent through the line, and what the line did with it."""

    sent: dict[Key, bytes] = field(default_factory=dict)  # the payload as the board sent it
    fate: dict[Key, str] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)  # faults injected, by kind
    # Resets so far. A reset board numbers its frames from 0 again, and it says so only once it answers a HELLO (and
    # not in the errors it sends before), so both ends are told of a reset by the simulator instead of guessing.
    epoch: int = 0

    def record(self, msg_type: int, seq: int, payload: bytes, fate: str) -> Key:
        key = (self.epoch, msg_type, seq)
        self.sent[key] = payload
        self.fate[key] = fate
        return key


class Reception:
    """What the host took in, keyed as the ledger keys what the board sent: give it to
    `DeviceClient.tap_frames`, which calls it with every frame that passed the CRC."""

    def __init__(self) -> None:
        self.frames: dict[Key, bytes] = {}
        self.altered = 0  # a frame taken in twice with different contents: one of them was damaged
        self.epoch = 0  # resets so far, as the Ledger counts them

    def __call__(self, msg_type: int, seq: int, payload: bytes) -> None:
        key = (self.epoch, msg_type, seq)
        if self.frames.setdefault(key, payload) != payload:
            self.altered += 1


@dataclass(frozen=True, slots=True)
class Audit:
    """The line's ledger against the host's reception."""

    frames_sent: int
    frames_received: int
    frames_lost_unexplained: int  # the line passed them on intact, yet the host never took them in
    corrupt_frames_accepted: int  # the host took in a frame the board never sent as it was taken
    fates: dict[str, int]
    unexplained: list[Key]  # the first few of the frames lost unexplained, to look into


def audit(ledger: Ledger, reception: Reception) -> Audit:
    unexplained = [key for key, fate in ledger.fate.items() if fate in DELIVERED and key not in reception.frames]
    corrupt = reception.altered + sum(1 for key, payload in reception.frames.items() if ledger.sent.get(key) != payload)
    fates = dict(Counter(ledger.fate.values()))
    return Audit(len(ledger.sent), len(reception.frames), len(unexplained), corrupt, fates, unexplained[:10])


def count_resets(board: SimBoard, ledger: Ledger, reception: Reception) -> None:
    """Start a new epoch on both ends whenever the board resets, while it is off and nothing of it is on the way."""

    def reset() -> None:
        ledger.epoch += 1
        reception.epoch += 1

    board.on_restart(reset)


class FaultyLine:
    """The line between a host and the simulated board at `board_port`. Faults queue up and hit the next frames
    from the board; `silence` and `unplug` last for a time. Use as `async with FaultyLine(board.port, dir) as line`."""

    def __init__(self, board_port: str, directory: Path, seed: int = 0) -> None:
        self.port = str(directory / "flutex-line")
        self.ledger = Ledger()
        self._board_port = board_port
        self._rng = random.Random(seed)
        self._board_fd: int | None = None
        self._master_fd: int | None = None
        self._slave_fd: int | None = None
        self._pending = b""
        self._queued: list[str] = []  # one fault per coming frame
        self._held: tuple[bytes, Key] | None = None  # the first frame of a pair being swapped
        self._garbage_before_next: bytes = b""
        self._silent_until_s = 0.0
        self._unplugged = False
        self._host_absent = False  # replugged, but the host has not opened the new port yet
        self._corrupt_to_board = 0
        self._stopped = False
        self._recent: deque[tuple[int, Key | None]] = deque(maxlen=1024)  # (bytes, frame) last written to the host
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> FaultyLine:
        self._board_fd = os.open(self._board_port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._board_fd)
        asyncio.get_running_loop().add_reader(self._board_fd, self._from_board)
        self._plug()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        self._pull()
        if self._board_fd is not None:
            asyncio.get_running_loop().remove_reader(self._board_fd)
            os.close(self._board_fd)
            self._board_fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)

    # --- faults ---------------------------------------------------------------------------------------------

    def drop(self, frames: int = 1) -> None:
        self._queue("dropped", frames)

    def corrupt(self, frames: int = 1) -> None:
        """Flip one random byte in each of the next frames (the CRC must catch it)."""
        self._queue("corrupted", frames)

    def duplicate(self, frames: int = 1) -> None:
        self._queue("duplicated", frames)

    def reorder(self, pairs: int = 1) -> None:
        """Swap the next frames two by two."""
        self._queue("reordered", 2 * pairs)

    def garbage(self, size: int) -> None:
        """Random bytes before the next frame, as a noisy line or a half-written frame gives; unless they end in
        a delimiter, the next frame merges with them and is lost."""
        self._garbage_before_next = bytes(self._rng.randrange(256) for _ in range(size))
        self.ledger.faults["garbage"] += 1

    def corrupt_to_board(self, chunks: int = 1) -> None:
        """Flip one byte in each of the host's next writes to the board (a heartbeat or a command is lost)."""
        self._corrupt_to_board += chunks
        self.ledger.faults["corrupted to board"] += chunks

    def unread_from_host(self) -> int:
        """Bytes the host wrote that the line has not yet passed on (a test waits for 0 before aiming a fault at
        the next write)."""
        assert self._master_fd is not None
        return _unread(self._master_fd)

    def to_board(self, data: bytes) -> None:
        """Bytes straight into the board's receive buffer, as a modem manager's probe puts there."""
        assert self._board_fd is not None
        os.write(self._board_fd, data)

    def silence(self, seconds: float) -> None:
        """The board's frames stop reaching the host for `seconds` (the host's bytes still reach the board)."""
        self._silent_until_s = asyncio.get_running_loop().time() + seconds
        self.ledger.faults["silence"] += 1

    def stop(self) -> None:
        """Pass nothing more to the host, so what is on its way arrives and the ledger can be audited (not a fault:
        the frames from now on are kept back, fate "stopped")."""
        self._stopped = True

    def unplug(self, seconds: float) -> None:
        """Pull the cable: the host's port goes away, and comes back at the same path after `seconds`. What was
        written to the port and not yet read by the host is lost with it."""
        self._unplugged = True
        self.ledger.faults["unplug"] += 1
        self._tasks.append(asyncio.create_task(self._pull_and_replug(seconds)))

    def _queue(self, fate: str, frames: int) -> None:
        self._queued.extend([fate] * frames)
        self.ledger.faults[fate] += frames

    async def _pull_and_replug(self, seconds: float) -> None:
        # The kernel moves what was written to a pty's master into the host's queue a moment later: once nothing
        # more is written, wait that moment, so the count of unread bytes at the pull is the true one.
        await asyncio.sleep(CABLE_SETTLE_S)
        self._pull()
        await asyncio.sleep(seconds)
        self._unplugged = False
        self._host_absent = True
        self._plug()

    # --- the host's side: a pty behind a stable name ----------------------------------------------------------

    def _plug(self) -> None:
        self._master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)  # held open by the line, so the host can close and reopen its end
        os.set_blocking(self._master_fd, False)
        temporary = f"{self.port}.new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        os.symlink(os.ttyname(self._slave_fd), temporary)
        os.replace(temporary, self.port)
        asyncio.get_running_loop().add_reader(self._master_fd, self._from_host)

    def _pull(self) -> None:
        if self._held is not None:  # half of a swapped pair, never sent
            self.ledger.fate[self._held[1]] = "unplugged"
            self._held = None
        if self._master_fd is None:
            return
        self._lose_what_is_in_the_cable()
        asyncio.get_running_loop().remove_reader(self._master_fd)
        for fd in (self._master_fd, self._slave_fd):
            if fd is not None:
                os.close(fd)
        self._master_fd = self._slave_fd = None

    def _from_host(self) -> None:
        assert self._master_fd is not None and self._board_fd is not None
        try:
            data = bytearray(os.read(self._master_fd, READ_SIZE))
        except (BlockingIOError, OSError):
            return
        self._host_absent = False  # the host has its port open: what the board sends from now on reaches it
        if self._corrupt_to_board and data:
            self._corrupt_to_board -= 1
            data[self._rng.randrange(len(data))] ^= self._rng.randrange(1, 256)
        os.write(self._board_fd, data)

    def _to_host(self, *pieces: tuple[bytes, Key | None]) -> None:
        """Write frames (and garbage, keyed None) to the host's port; if the host has stopped reading and the port
        is full, the frames are lost and their fate says so (not a fault the line chose: the soak counts them as
        unexplained)."""
        assert self._master_fd is not None
        try:
            os.write(self._master_fd, b"".join(data for data, _key in pieces))
        except BlockingIOError:
            for _data, key in pieces:
                if key is not None:
                    self.ledger.fate[key] = "overflowed"
            return
        self._recent.extend((len(data), key) for data, key in pieces)

    def _lose_what_is_in_the_cable(self) -> None:
        """At a pull, the bytes written to the host's port that it has not read yet are lost with it: the frames
        they belong to are unplugged, not forwarded."""
        assert self._slave_fd is not None
        unread = _unread(self._slave_fd)
        while unread > 0 and self._recent:
            size, key = self._recent.pop()
            unread -= size
            if key is not None:
                self.ledger.fate[key] = "unplugged"
        self._recent.clear()

    # --- the board's side: frame by frame ----------------------------------------------------------------------

    def _from_board(self) -> None:
        assert self._board_fd is not None
        try:
            data = os.read(self._board_fd, READ_SIZE)
        except (BlockingIOError, OSError):
            return
        buffer = self._pending + data
        start = 0
        while (end := buffer.find(wire.DELIMITER, start)) >= 0:
            if end > start:
                self._carry(buffer[start : end + 1])
            start = end + 1
        self._pending = buffer[start:]

    def _carry(self, frame: bytes) -> None:
        """Decide one complete frame's fate (the board only sends valid frames) and pass it on, or not."""
        msg_type, seq, payload = wire.decode_frame(frame[:-1])
        if self._stopped:
            self.ledger.record(msg_type, seq, payload, "stopped")
            return
        if self._unplugged or self._host_absent or self._master_fd is None:
            self.ledger.record(msg_type, seq, payload, "unplugged")
            return
        if asyncio.get_running_loop().time() < self._silent_until_s:
            self.ledger.record(msg_type, seq, payload, "silenced")
            return
        fate = self._queued.pop(0) if self._queued else "forwarded"
        garbage, self._garbage_before_next = self._garbage_before_next, b""
        if garbage:
            self._to_host((garbage, None))
            if not garbage.endswith(wire.DELIMITER):
                fate = "garbled"
        key = self.ledger.record(msg_type, seq, payload, fate)
        if fate == "dropped":
            return
        if fate == "corrupted":
            damaged = bytearray(frame)
            damaged[self._rng.randrange(len(frame) - 1)] ^= self._rng.randrange(1, 256)
            frame = bytes(damaged)
        if fate == "reordered":
            if self._held is None:
                self._held = (frame, key)
                return
            (held, held_key), self._held = self._held, None
            self._to_host((frame, key), (held, held_key))
            return
        self._to_host((frame + frame if fate == "duplicated" else frame, key))


def _unread(fd: int) -> int:
    """Bytes waiting to be read on a pty end."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
