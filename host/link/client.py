"""The device client: frames from a transport become typed events; commands become frames, answered or refused.

It handshakes (protocol version), keeps the board's watchdog fed with heartbeats, counts frames and losses per
stream, unwraps the board clock, and keeps the link: when the port goes away, the board falls silent or the board
says it has no session (it restarted), the client publishes `LinkLost`, handshakes again (reopening the port if
need be) and publishes `LinkRestored`, which says whether the board rebooted. Every event passes through
`_publish`, the one place a session's streams can be recorded: each subscriber gets every event, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flutex.firmware import wire
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.events import (
    BeltSample,
    BoardAlert,
    BoardInfo,
    CommandResult,
    Event,
    FluteSample,
    HapticStatus,
    LinkLost,
    LinkRestored,
)
from flutex.host.link.sequence import SequenceTracker
from flutex.host.link.transport import Transport, TransportClosed

HEARTBEAT_PERIOD_S = 0.02  # five heartbeats inside the board's 100 ms watchdog
REPLY_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 3.0
RECONNECT_TIMEOUT_S = 10.0
HELLO_RETRY_S = 0.2  # a HELLO lost to line noise is sent again this often until the board answers
# The board streams FLUTE at 200 Hz and STATUS at 10 Hz: this long without any frame means it has gone silent.
SILENCE_TIMEOUT_S = 0.5
STREAMS = (wire.FLUTE, wire.BELT, wire.STATUS)  # numbered frames whose loss, repeats and reordering are counted
I16 = (-32768, 32767)
U16 = (0, 0xFFFF)


class NoBoardAnswer(FlutexError):
    """Nothing that speaks the Flute X protocol answered."""


class ProtocolMismatch(FlutexError):
    """The board speaks another protocol version."""


class BoardRefused(FlutexError):
    """The board answered HELLO but will not open a session with this host (over BLE: the link is not paired)."""


class CommandTimeout(FlutexError):
    """The board did not answer a command in time."""


class LinkInterrupted(FlutexError):
    """A command could not be answered because the link to the board was interrupted."""


class BoardClock:
    """Unwraps the board's microsecond clock (modulo 2**30) into one monotonic time base for all streams.

    Each stamp is placed nearest to the previous one, so frames of different streams that arrive slightly out of
    order unwrap correctly. After a board restart its clock begins again near zero: `restart` makes the time base
    carry on from where it was instead of jumping back (or, across a wrap, minutes ahead)."""

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._last_us = 0
        self._restart_at_us: int | None = None

    def unwrap_us(self, raw_us: int) -> int:
        if self._last_raw is not None:
            step = (raw_us - self._last_raw) % wire.TICKS_PERIOD
            if step >= wire.TICKS_PERIOD // 2:
                step -= wire.TICKS_PERIOD
            self._last_us += step
        elif self._restart_at_us is not None:
            self._last_us = self._restart_at_us
        else:
            self._last_us = raw_us
        self._last_raw = raw_us
        return self._last_us

    def restart(self, elapsed_us: int) -> None:
        """The board's clock began again: its next stamp reads `elapsed_us` after the last one seen."""
        if self._last_raw is not None:
            self._restart_at_us = self._last_us + max(0, elapsed_us)
            self._last_raw = None


@dataclass
class LinkStats:
    """Frames received and lost per stream (by message name), repeats and late arrivals, and frames the decoder
    rejected. Totals over the whole session, across reconnects and board restarts."""

    frames: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    crc_errors: int = 0
    framing_errors: int = 0
    bad_messages: int = 0
    bytes_received: int = 0
    reconnects: int = 0
    reboots: int = 0


class DeviceClient:
    def __init__(
        self,
        transport: Transport,
        *,
        heartbeat_period_s: float = HEARTBEAT_PERIOD_S,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        reconnect_timeout_s: float = RECONNECT_TIMEOUT_S,
        silence_timeout_s: float = SILENCE_TIMEOUT_S,
    ) -> None:
        self.transport = transport
        self.heartbeat_period_s = heartbeat_period_s
        self.reply_timeout_s = reply_timeout_s
        self.reconnect_timeout_s = reconnect_timeout_s
        self.silence_timeout_s = silence_timeout_s
        self.heartbeat_enabled = True
        self._heartbeat_sent = asyncio.Event()
        self.info: BoardInfo | None = None
        self.stats = LinkStats()
        self.clock = BoardClock()
        self._decoder = wire.StreamDecoder()
        self._tx_seq: Counter[int] = Counter()
        self._sequences: dict[int, SequenceTracker] = {}
        self._pending: dict[tuple[int, int], asyncio.Future[CommandResult]] = {}
        self._info_waiter: asyncio.Future[BoardInfo] | None = None
        self._subscribers: list[asyncio.Queue[Event]] = []
        self._frame_taps: list[Callable[[int, int, bytes], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._generation = 0  # counts transport openings, so a reader tells a stale close from the current one
        self._reopened = asyncio.Condition()
        self._transport_open = False
        self._link_ok = True  # False from a LinkLost until the board answers a HELLO again
        self._recovery: asyncio.Task[None] | None = None
        self._last_frame_s = time.monotonic()

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def connect(self, timeout_s: float = CONNECT_TIMEOUT_S) -> BoardInfo:
        """Open the transport and handshake; raises NoBoardAnswer or ProtocolMismatch with what to do."""
        await self._open_transport()
        self._tasks = [
            asyncio.create_task(self._read_forever()),
            asyncio.create_task(self._heartbeat_forever()),
            asyncio.create_task(self._watch_silence()),
        ]
        try:
            return await self._handshake(timeout_s)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._recovery is not None:
            self._tasks.append(self._recovery)
            self._recovery = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._fail_pending(LinkInterrupted("the client was closed"))
        self._transport_open = False
        await self.transport.close()

    async def __aenter__(self) -> DeviceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def subscribe(self) -> asyncio.Queue[Event]:
        """A queue that receives every event from now on."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def tap_frames(self, tap: Callable[[int, int, bytes], None]) -> None:
        """Call `tap(type, seq, payload)` for every frame that passed the CRC, before it is interpreted (for fault
        accounting and raw recording)."""
        self._frame_taps.append(tap)

    @property
    def link_up(self) -> bool:
        """True while the board answers; False from a LinkLost until the LinkRestored."""
        return self._link_ok

    # --- commands -----------------------------------------------------------------------------------------------

    def arm(self, armed: bool = True) -> asyncio.Future[CommandResult]:
        return self._command(wire.ARM, (1 if armed else 0,))

    def set_servos(self, targets_permille: Sequence[int]) -> asyncio.Future[CommandResult]:
        """Servo targets, one per finger: -1000 lifted, 0 neutral (released), 1000 pressed. The board refuses
        values outside its envelope; values the protocol cannot carry raise UsageError here."""
        targets = _checked_targets(targets_permille)
        return self._command(wire.SERVO, (len(targets),), targets)

    def set_clutch(self, engaged: bool) -> asyncio.Future[CommandResult]:
        return self._command(wire.CLUTCH, (1 if engaged else 0,))

    def guide(
        self, targets_permille: Sequence[int], duration_ms: int, force_permille: int = 1000
    ) -> asyncio.Future[CommandResult]:
        """Press a fingering (clutch engaged) for `duration_ms`, presses scaled by `force_permille`."""
        targets = _checked_targets(targets_permille)
        fields = (_checked("duration_ms", duration_ms, U16), _checked("force_permille", force_permille, U16))
        return self._command(wire.GUIDE, (*fields, len(targets)), targets)

    def emergency_stop(self, active: bool = True) -> asyncio.Future[CommandResult]:
        """Stop releases everything and blocks arming until cleared with `emergency_stop(False)`."""
        return self._command(wire.ESTOP, (1 if active else 0,))

    def tare(self) -> asyncio.Future[CommandResult]:
        """Take the ambient reading of every pressure channel again (instrument at rest)."""
        return self._command(wire.TARE, ())

    def _command(
        self, msg_type: int, fields: tuple[int, ...], tail: tuple[int, ...] | None = None
    ) -> asyncio.Future[CommandResult]:
        """Send a command; the future resolves with the board's answer (also published as an event), or fails
        with LinkInterrupted when the link is down or goes down before the answer, or CommandTimeout."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        name = wire.NAMES[msg_type]
        if not self.link_up:
            future.set_exception(LinkInterrupted(f"{name} not sent: the link to the board is down"))
            return future
        try:
            seq = self._send(msg_type, fields, tail)
        except TransportClosed as error:
            future.set_exception(LinkInterrupted(f"{name} not sent: {error}"))
            return future
        key = (msg_type, seq)
        self._pending[key] = future
        timer = asyncio.get_running_loop().call_later(self.reply_timeout_s, self._expire, key)
        future.add_done_callback(lambda _: timer.cancel())
        return future

    def _expire(self, key: tuple[int, int]) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            name = wire.NAMES[key[0]]
            future.set_exception(CommandTimeout(f"the board did not answer {name} #{key[1]} in time"))

    def _send(self, msg_type: int, fields: tuple[int, ...] = (), tail: tuple[int, ...] | None = None) -> int:
        seq = self._tx_seq[msg_type] & 0xFFFF
        self._tx_seq[msg_type] += 1
        frame = wire.encode(msg_type, seq, fields, tail)
        # A HELLO starts with a delimiter: whatever sits in the board's receive buffer (a modem manager's probe, a
        # frame cut off when a host died) ends there instead of merging with the HELLO.
        self.transport.write(wire.DELIMITER + frame if msg_type == wire.HELLO else frame)
        return seq

    # --- receiving ----------------------------------------------------------------------------------------------

    async def _handshake(self, timeout_s: float) -> BoardInfo:
        """Send HELLO (again every HELLO_RETRY_S) until BOARD_INFO answers or `timeout_s` passes."""
        self._info_waiter = waiter = asyncio.get_running_loop().create_future()
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                with contextlib.suppress(TransportClosed):
                    self._send(wire.HELLO, (wire.VERSION,))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoBoardAnswer(self._silence_hint())
                try:
                    # (asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a Ctrl-C's cancellation)
                    async with asyncio.timeout(min(HELLO_RETRY_S, remaining)):
                        return await asyncio.shield(waiter)
                except TimeoutError:
                    continue
        finally:
            self._info_waiter = None
            if not waiter.done():
                waiter.cancel()

    def _silence_hint(self) -> str:
        frames = sum(self.stats.frames.values())
        seen = self.stats.bytes_received
        if frames:
            hint = f"it sent {frames} valid frames but never answered HELLO: reset the board and try again"
        elif seen:
            hint = f"it sent {seen} bytes that were not Flute X frames: is this the right device?"
        else:
            hint = "is the board powered, flashed with Flute X firmware, and is this its port?"
        return f"no Flute X board answered on {self.transport.description}; {hint}"

    async def _read_forever(self) -> None:
        while True:
            generation = self._generation
            try:
                data = await self.transport.read()
            except TransportClosed as error:
                if generation == self._generation:  # the connection in use ended (not one already replaced)
                    self._transport_open = False
                    self._link_lost(str(error))
                    async with self._reopened:
                        await self._reopened.wait_for(lambda seen=generation: self._generation != seen)
                continue
            self._receive(data)

    def _receive(self, data: bytes) -> None:
        self.stats.bytes_received += len(data)
        for msg_type, seq, payload in self._decoder.feed(data):
            self._last_frame_s = time.monotonic()
            for tap in self._frame_taps:
                tap(msg_type, seq, payload)
            if not self._count(msg_type, seq):
                continue
            if msg_type == wire.BOARD_INFO:
                self._board_info(payload)
                continue
            try:
                fields = wire.parse(msg_type, payload)
            except wire.WireError:
                self.stats.bad_messages += 1
                continue
            self._dispatch(msg_type, seq, fields)
        self.stats.crc_errors = self._decoder.crc_errors
        self.stats.framing_errors = self._decoder.framing_errors

    def _count(self, msg_type: int, seq: int) -> bool:
        """Account for a frame's seq; False for a repeat (or one too late to place), which is not delivered. Only
        the streams are accounted: answers and BOARD_INFO must get through even when a restarted board numbers
        them from 0 again before the host knows of the restart."""
        name = _name(msg_type)
        if msg_type not in STREAMS:
            self.stats.frames[name] += 1
            return True
        tracker = self._sequences.setdefault(msg_type, SequenceTracker())
        lost, late = tracker.lost, tracker.late
        deliver = tracker.accept(seq)
        self.stats.lost[name] += tracker.lost - lost
        self.stats.late[name] += tracker.late - late
        if deliver:
            self.stats.frames[name] += 1
        else:
            self.stats.duplicates[name] += 1
        return deliver

    def _dispatch(self, msg_type: int, seq: int, fields: tuple) -> None:
        if msg_type == wire.FLUTE:
            t_us, mask, mouth_pa = fields
            self._publish(FluteSample(self._seconds(t_us), seq, mask, float(mouth_pa)))
        elif msg_type == wire.BELT:
            t_us, *channels = fields
            self._publish(BeltSample(self._seconds(t_us), seq, tuple(float(c) for c in channels)))
        elif msg_type == wire.STATUS:
            t_us, flags, _count, positions = fields
            self._publish(
                HapticStatus(
                    self._seconds(t_us),
                    seq,
                    armed=bool(flags & wire.FLAG_ARMED),
                    clutch_engaged=bool(flags & wire.FLAG_CLUTCH),
                    watchdog_tripped=bool(flags & wire.FLAG_WATCHDOG),
                    emergency_stop=bool(flags & wire.FLAG_ESTOP),
                    guiding=bool(flags & wire.FLAG_GUIDING),
                    positions=positions,
                )
            )
        elif msg_type == wire.ACK:
            ref_type, ref_seq, t_us = fields
            self._answer(ref_type, CommandResult(_name(ref_type), ref_seq, True, self._seconds(t_us)))
        elif msg_type == wire.ERROR:
            self._error(*fields)

    def _error(self, ref_type: int, ref_seq: int, code: int, reason: str) -> None:
        if ref_type == 0:
            self._publish(BoardAlert(code, reason))
            return
        if ref_type == wire.HELLO:
            # E_VERSION: the BOARD_INFO that follows carries the version, and _board_info reports it
            waiter = self._info_waiter
            if code != wire.E_VERSION and waiter is not None and not waiter.done():
                waiter.set_exception(BoardRefused(f"the board on {self.transport.description} refused: {reason}"))
            return
        if ref_type != wire.HEARTBEAT:  # heartbeats are never answered, only refused without a session
            self._answer(ref_type, CommandResult(_name(ref_type), ref_seq, False, code=code, reason=reason))
        if code == wire.E_NO_SESSION and self.info is not None:
            self._link_lost("the board no longer knows this session (it restarted, or heard nothing for too long)")

    def _board_info(self, payload: bytes) -> None:
        """The answer to HELLO. Its first byte is the version whatever the layout, so a board of another version
        is named as such even when the rest of its BOARD_INFO means nothing to this host."""
        waiter = self._info_waiter
        if waiter is None or waiter.done():
            return  # not asked for: an echo of a HELLO sent twice
        version = payload[0] if payload else 0
        if version != wire.VERSION:
            waiter.set_exception(
                ProtocolMismatch(
                    f"the board speaks protocol v{version} and this host v{wire.VERSION}: "
                    "flash the firmware that matches this flutex (`flutex flash`), or update flutex"
                )
            )
            return
        try:
            _, flute_hz, belt_hz, holes, fingers, belt_channels, watchdog_ms, boot_id, text = wire.parse(
                wire.BOARD_INFO, payload
            )
        except wire.WireError:
            self.stats.bad_messages += 1
            return
        details = dict(item.split("=", 1) for item in text.split(";") if "=" in item)
        rates = {"flute": flute_hz, "belt": belt_hz}
        info = BoardInfo(version, rates, holes, fingers, belt_channels, watchdog_ms, boot_id, details)
        self._adopt(info)
        waiter.set_result(info)

    def _adopt(self, info: BoardInfo) -> None:
        """Take a board's answer to HELLO. After a restart its streams count from 0 and its clock from boot, so
        the sequence trackers start over and the time base carries on. Publishing LinkRestored here, before the
        frames that follow BOARD_INFO are dispatched, keeps it in order with them."""
        previous, self.info = self.info, info
        if previous is None:
            return
        rebooted = previous.boot_id != info.boot_id
        if rebooted:
            self.stats.reboots += 1
            self._sequences.clear()
            self.clock.restart(round((time.monotonic() - self._last_frame_s) * 1e6))
        if not self._link_ok:
            self._link_ok = True
            self.stats.reconnects += 1
            self._publish(LinkRestored(info, rebooted))

    def _answer(self, msg_type: int, result: CommandResult) -> None:
        future = self._pending.pop((msg_type, result.seq), None)
        if future is not None and not future.done():
            future.set_result(result)
        self._publish(result)

    def _seconds(self, raw_us: int) -> float:
        return self.clock.unwrap_us(raw_us) / 1e6

    def _publish(self, event: Event) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # --- keeping the link -------------------------------------------------------------------------------------

    async def _open_transport(self) -> None:
        await self.transport.open()
        self._decoder.restart()
        self._transport_open = True
        self._last_frame_s = time.monotonic()
        async with self._reopened:
            self._generation += 1
            self._reopened.notify_all()

    async def _heartbeat_forever(self) -> None:
        while True:
            if self.heartbeat_enabled and self._transport_open:
                with contextlib.suppress(TransportClosed):
                    self._send(wire.HEARTBEAT)
                    self._heartbeat_sent.set()
            await asyncio.sleep(self.heartbeat_period_s)

    async def pause_heartbeats(self) -> None:
        """Stop the heartbeats right after one more is sent, so the last bytes the board got are a heartbeat:
        what measuring its watchdog needs. `resume_heartbeats` starts them again."""
        if self.heartbeat_enabled:
            self._heartbeat_sent.clear()
            await self._heartbeat_sent.wait()
            self.heartbeat_enabled = False

    def resume_heartbeats(self) -> None:
        self.heartbeat_enabled = True

    async def _watch_silence(self) -> None:
        """A board that stops sending (hung, reset behind a USB-UART bridge that keeps the port open, out of range)
        raises no error on the port: notice the silence itself."""
        while True:
            await asyncio.sleep(self.silence_timeout_s / 5)
            silent_s = time.monotonic() - self._last_frame_s
            if self.info is not None and self._transport_open and silent_s > self.silence_timeout_s:
                self._link_lost(f"the board sent nothing for {silent_s:.1f} s")

    def _link_lost(self, reason: str) -> None:
        if not self._link_ok or self.info is None:  # already recovering, or still in the first handshake
            return
        self._link_ok = False
        self._publish(LinkLost(reason))
        self._fail_pending(LinkInterrupted(f"the link to the board was interrupted: {reason}"))
        self._recovery = asyncio.create_task(self._recover(reason))

    async def _recover(self, reason: str) -> None:
        """Handshake again, first on the port as it is (a board that fell silent or restarted behind it), then by
        reopening the port with backoff, until the board answers or the reconnect timeout passes."""
        deadline = time.monotonic() + self.reconnect_timeout_s
        delay_s = 0.05
        while True:
            try:
                if not self._transport_open:
                    await asyncio.sleep(delay_s)
                    delay_s = min(delay_s * 2, 1.0)
                    await self.transport.close()
                    await self._open_transport()
                await self._handshake(min(1.0, max(0.1, deadline - time.monotonic())))
                return  # _adopt published LinkRestored
            except FlutexError as error:
                if time.monotonic() >= deadline:
                    self._publish(LinkLost(f"{reason}; gave up reconnecting: {error}", final=True))
                    return
                self._transport_open = False  # the port as it is did not bring the board back: reopen it


def _checked(name: str, value: int, bounds: tuple[int, int]) -> int:
    """A command argument the protocol can carry, or UsageError saying which and why (not a struct.error)."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be a whole number in {low}..{high}, got {value!r}")
    return value


def _checked_targets(targets_permille: Sequence[int]) -> tuple[int, ...]:
    targets = tuple(_checked("servo target (permille)", value, I16) for value in targets_permille)
    if len(targets) > 0xFF:
        raise UsageError(f"{len(targets)} servo targets: the protocol carries at most 255")
    return targets


def _name(msg_type: int) -> str:
    return wire.NAMES.get(msg_type, hex(msg_type))
