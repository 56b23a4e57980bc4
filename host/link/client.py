"""The device client: keeps the link to a board and hands what it says to listeners; commands become frames,
answered or refused.

It handshakes (protocol version), keeps the board's watchdog fed with heartbeats, counts frames and losses per
stream, and keeps the link: when the port goes away, the board falls silent or the board says it has no session (it
restarted), the client publishes `LinkLost`, handshakes again (reopening the port if need be) and publishes
`LinkRestored`, which says whether the board rebooted; a different board (another id or profile) is refused. What a
payload means is the codec's job (`flutex.host.link.codec`). Every event goes out through `events`, a `Notifier`:
the one place a session's streams can be recorded, each listener getting every event in order; timing samples of
the link (frames and ACKs against host time) go to timing listeners, for the session clock.
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
from flutex.host.fanout import DEFAULT_QUEUE, Notifier, Subscription
from flutex.host.link.codec import Codec, ProtocolMismatch, board_info, message_name
from flutex.host.link.events import BoardInfo, CommandResult, Event, LinkLost, LinkRestored, LinkTiming
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
HELLO = wire.NAMES[wire.HELLO]
HEARTBEAT = wire.NAMES[wire.HEARTBEAT]


class NoBoardAnswer(FlutexError):
    """Nothing that speaks the Flute X protocol answered."""


class BoardRefused(FlutexError):
    """The board answered HELLO but will not open a session with this host (over BLE: the link is not paired)."""


class DifferentBoard(FlutexError):
    """After a reconnect, another board (another id or profile) answered than the one this session began with."""


class CommandTimeout(FlutexError):
    """The board did not answer a command in time."""


class LinkInterrupted(FlutexError):
    """A command could not be answered because the link to the board was interrupted."""


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
        self.codec = Codec()
        self.events: Notifier[Event] = Notifier()
        self._timing: Notifier[LinkTiming] = Notifier()
        self._decoder = wire.StreamDecoder()
        self._tx_seq: Counter[int] = Counter()
        self._sequences: dict[int, SequenceTracker] = {}
        # (command name, seq) -> (the future its answer resolves, time.monotonic() when its frame was written)
        self._pending: dict[tuple[str, int], tuple[asyncio.Future[CommandResult], float]] = {}
        self._info_waiter: asyncio.Future[BoardInfo] | None = None
        self._frame_taps: list[Callable[[int, int, bytes], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._generation = 0  # counts transport openings, so a reader tells a stale close from the current one
        self._reopened = asyncio.Condition()
        self._transport_open = False
        self._link_ok = True  # False from a LinkLost until the board answers a HELLO again
        self._recovery: asyncio.Task[None] | None = None
        self._given_up = False  # after a final LinkLost: nothing more is sent or published
        self._last_frame_s = time.monotonic()
        self._last_stamp_s = self._last_frame_s  # when the last frame with a board time arrived

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

    def subscribe(self, maxsize: int = DEFAULT_QUEUE) -> Subscription[Event]:
        """A bounded queue of every event from now on (the oldest dropped and counted if its reader falls more
        than `maxsize` behind); `close()` it to unsubscribe."""
        return self.events.subscribe(maxsize)

    def add_timing_listener(self, callback: Callable[[LinkTiming], None]) -> Callable[[], None]:
        """Call `callback(timing)` for every accepted stream frame (FLUTE, BELT, STATUS) and every ACK, before the
        event is published; returns the function that removes it. Called on the event loop: keep it quick."""
        return self._timing.add_listener(callback)

    def tap_frames(self, tap: Callable[[int, int, bytes], None]) -> None:
        """Call `tap(type, seq, payload)` for every frame that passed the CRC, before it is interpreted (for fault
        accounting and raw recording)."""
        self._frame_taps.append(tap)

    @property
    def last_frame_s(self) -> float:
        """`time.monotonic()` when the newest frame was read: a reaction to it is measured from here."""
        return self._last_frame_s

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
        key = (name, seq)
        self._pending[key] = (future, time.monotonic())
        timer = asyncio.get_running_loop().call_later(self.reply_timeout_s, self._expire, key)
        future.add_done_callback(lambda _: timer.cancel())
        return future

    def _expire(self, key: tuple[str, int]) -> None:
        entry = self._pending.pop(key, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(CommandTimeout(f"the board did not answer {key[0]} #{key[1]} in time"))

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
        received_s = time.monotonic()  # once per read, before decoding: the timing samples' host time
        self.stats.bytes_received += len(data)
        for msg_type, seq, payload in self._decoder.feed(data):
            self._last_frame_s = received_s
            for tap in self._frame_taps:
                tap(msg_type, seq, payload)
            if self._given_up or not self._count(msg_type, seq):
                continue
            if msg_type == wire.BOARD_INFO:
                self._board_info(payload, received_s)
                continue
            try:
                event = self.codec.decode(msg_type, seq, payload)
            except wire.WireError:
                self.stats.bad_messages += 1
                continue
            if event is None:
                continue
            self._last_stamp_s = received_s
            if isinstance(event, CommandResult):
                self._result(event, received_s)
                continue
            if msg_type in STREAMS and self._timing.listeners:
                self._timing.publish(LinkTiming(event.t_s, received_s, None))
            self.events.publish(event)
        self.stats.crc_errors = self._decoder.crc_errors
        self.stats.framing_errors = self._decoder.framing_errors

    def _count(self, msg_type: int, seq: int) -> bool:
        """Account for a frame's seq; False for a repeat (or one too late to place), which is not delivered. Only
        the streams are accounted: answers and BOARD_INFO must get through even when a restarted board numbers
        them from 0 again before the host knows of the restart."""
        name = message_name(msg_type)
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

    def _result(self, result: CommandResult, received_s: float) -> None:
        """An ACK or ERROR: resolve the command it answers. A refused HELLO ends the handshake's wait (unless the
        refusal is the version's: the BOARD_INFO that follows names it); heartbeats are never answered, only
        refused without a session, which says the board forgot this session."""
        if result.command == HELLO:
            waiter = self._info_waiter
            if result.code != wire.E_VERSION and waiter is not None and not waiter.done():
                waiter.set_exception(
                    BoardRefused(f"the board on {self.transport.description} refused: {result.reason}")
                )
            return
        if result.command != HEARTBEAT:
            self._answer(result, received_s)
        if not result.accepted and result.code == wire.E_NO_SESSION and self.info is not None:
            self._link_lost("the board no longer knows this session (it restarted, or heard nothing for too long)")

    def _board_info(self, payload: bytes, received_s: float) -> None:
        waiter = self._info_waiter
        if waiter is None or waiter.done():
            return  # not asked for: an echo of a HELLO sent twice
        try:
            info = board_info(payload)
        except ProtocolMismatch as error:
            waiter.set_exception(error)
            return
        except wire.WireError:
            self.stats.bad_messages += 1
            return
        if self.info is not None and _identity(info) != _identity(self.info):
            waiter.set_exception(
                DifferentBoard(
                    f"a different board answered ({_identity(info)}, where this session's board is "
                    f"{_identity(self.info)}): not mixed into this session; connect to it in a new session"
                )
            )
            return
        self._adopt(info, received_s)
        waiter.set_result(info)

    def _adopt(self, info: BoardInfo, received_s: float) -> None:
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
            self.codec.clock.restart(round((received_s - self._last_stamp_s) * 1e6))
        if not self._link_ok:
            self._link_ok = True
            self.stats.reconnects += 1
            self.events.publish(LinkRestored(received_s, info, rebooted))

    def _answer(self, result: CommandResult, received_s: float) -> None:
        entry = self._pending.pop((result.command, result.seq), None)
        if entry is not None:
            future, sent_s = entry
            if result.t_s is not None and self._timing.listeners:
                self._timing.publish(LinkTiming(result.t_s, received_s, sent_s))
            if not future.done():
                future.set_result(result)
        self.events.publish(result)

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future, _sent_s in pending.values():
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
            if self.heartbeat_enabled and self._transport_open and not self._given_up:
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
        self.events.publish(LinkLost(time.monotonic(), reason))
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
            except DifferentBoard as error:
                self._give_up(str(error))
                return
            except FlutexError as error:
                if time.monotonic() >= deadline:
                    self._give_up(f"{reason}; gave up reconnecting: {error}")
                    return
                self._transport_open = False  # the port as it is did not bring the board back: reopen it

    def _give_up(self, reason: str) -> None:
        """The final LinkLost: from now on the client sends and publishes nothing (whatever answers the port)."""
        self._given_up = True
        self.events.publish(LinkLost(time.monotonic(), reason, final=True))


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


def _identity(info: BoardInfo) -> str:
    """What tells one board from another: its chip's unique id and the instrument profile it drives."""
    return f"id {info.details.get('id', '?')}, profile {info.details.get('profile', '?')}"
