"""The device client: frames from a transport become typed events; commands become frames, answered or refused.

It handshakes (protocol version), keeps the board's watchdog fed with heartbeats, counts frames and losses per
stream, unwraps the board clock, and reconnects when the transport goes away. Every event passes through
`_publish`, the one place a session's streams can be recorded: each subscriber gets every event, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from flutex.errors import FlutexError
from flutex.events import (
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
from flutex.firmware import wire
from flutex.transport import Transport, TransportClosed

HEARTBEAT_PERIOD_S = 0.02  # five heartbeats inside the board's 100 ms watchdog
REPLY_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 3.0
RECONNECT_TIMEOUT_S = 10.0


class NoBoardAnswer(FlutexError):
    """Nothing that speaks the Flute X protocol answered."""


class ProtocolMismatch(FlutexError):
    """The board speaks another protocol version."""


class CommandTimeout(FlutexError):
    """The board did not answer a command in time."""


class BoardClock:
    """Unwraps the board's microsecond clock (modulo 2**30) into one monotonic time base for all streams.

    Each stamp is placed nearest to the previous one, so frames of different streams that arrive slightly out of
    order unwrap correctly."""

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._last_us = 0

    def unwrap_us(self, raw_us: int) -> int:
        if self._last_raw is not None:
            step = (raw_us - self._last_raw) % wire.TICKS_PERIOD
            if step >= wire.TICKS_PERIOD // 2:
                step -= wire.TICKS_PERIOD
            self._last_us += step
        else:
            self._last_us = raw_us
        self._last_raw = raw_us
        return self._last_us


@dataclass
class LinkStats:
    """Frames received and lost per stream (by message name), and frames the decoder rejected."""

    frames: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    crc_errors: int = 0
    framing_errors: int = 0
    bad_messages: int = 0
    bytes_received: int = 0


class DeviceClient:
    def __init__(
        self,
        transport: Transport,
        *,
        heartbeat_period_s: float = HEARTBEAT_PERIOD_S,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        reconnect_timeout_s: float = RECONNECT_TIMEOUT_S,
    ) -> None:
        self.transport = transport
        self.heartbeat_period_s = heartbeat_period_s
        self.reply_timeout_s = reply_timeout_s
        self.reconnect_timeout_s = reconnect_timeout_s
        self.heartbeat_enabled = True
        self._heartbeat_sent = asyncio.Event()
        self.info: BoardInfo | None = None
        self.stats = LinkStats()
        self.clock = BoardClock()
        self._decoder = wire.StreamDecoder()
        self._tx_seq: Counter[int] = Counter()
        self._rx_seq: dict[int, int] = {}
        self._pending: dict[tuple[int, int], asyncio.Future[CommandResult]] = {}
        self._info_waiter: asyncio.Future[BoardInfo] | None = None
        self._subscribers: list[asyncio.Queue[Event]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._link_up = asyncio.Event()
        self._recovery: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def connect(self, timeout_s: float = CONNECT_TIMEOUT_S) -> BoardInfo:
        """Open the transport and handshake; raises NoBoardAnswer or ProtocolMismatch with what to do."""
        await self.transport.open()
        self._link_up.set()
        self._tasks = [asyncio.create_task(self._read_forever()), asyncio.create_task(self._heartbeat_forever())]
        try:
            self.info = await self._handshake(timeout_s)
        except BaseException:
            await self.close()
            raise
        return self.info

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
        self._fail_pending(TransportClosed("the client was closed"))
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

    # --- commands -----------------------------------------------------------------------------------------------

    def arm(self, armed: bool = True) -> asyncio.Future[CommandResult]:
        return self._command(wire.ARM, (1 if armed else 0,))

    def set_servos(self, targets_permille: Sequence[int]) -> asyncio.Future[CommandResult]:
        """Servo targets, one per finger: -1000 lifted, 0 neutral (released), 1000 pressed."""
        return self._command(wire.SERVO, (len(targets_permille),), tuple(targets_permille))

    def set_clutch(self, engaged: bool) -> asyncio.Future[CommandResult]:
        return self._command(wire.CLUTCH, (1 if engaged else 0,))

    def guide(
        self, targets_permille: Sequence[int], duration_ms: int, force_permille: int = 1000
    ) -> asyncio.Future[CommandResult]:
        """Press a fingering (clutch engaged) for `duration_ms`, presses scaled by `force_permille`."""
        fields = (duration_ms, force_permille, len(targets_permille))
        return self._command(wire.GUIDE, fields, tuple(targets_permille))

    def emergency_stop(self, active: bool = True) -> asyncio.Future[CommandResult]:
        """Stop releases everything and blocks arming until cleared with `emergency_stop(False)`."""
        return self._command(wire.ESTOP, (1 if active else 0,))

    def tare(self) -> asyncio.Future[CommandResult]:
        """Take the ambient reading of every pressure channel again (instrument at rest)."""
        return self._command(wire.TARE, ())

    def _command(
        self, msg_type: int, fields: tuple[int, ...], tail: tuple[int, ...] | None = None
    ) -> asyncio.Future[CommandResult]:
        """Send a command; the future resolves with the board's answer (also published as an event)."""
        seq = self._send(msg_type, fields, tail)
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
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
        self.transport.write(wire.encode(msg_type, seq, fields, tail))
        return seq

    # --- receiving ----------------------------------------------------------------------------------------------

    async def _handshake(self, timeout_s: float) -> BoardInfo:
        self._info_waiter = asyncio.get_running_loop().create_future()
        self._send(wire.HELLO, (wire.VERSION,))
        try:
            return await asyncio.wait_for(self._info_waiter, timeout_s)
        except TimeoutError:
            seen = self.stats.bytes_received
            hint = (
                f"it sent {seen} bytes that were not Flute X frames: is this the right device?"
                if seen
                else "is the board powered, flashed with Flute X firmware, and is this its port?"
            )
            raise NoBoardAnswer(f"no Flute X board answered on {self.transport.description}; {hint}") from None
        finally:
            self._info_waiter = None

    async def _read_forever(self) -> None:
        while True:
            try:
                data = await self.transport.read()
            except TransportClosed as error:
                self._link_lost(str(error))
                await self._link_up.wait()
                continue
            self.stats.bytes_received += len(data)
            for msg_type, seq, payload in self._decoder.feed(data):
                self._count(msg_type, seq)
                try:
                    self._dispatch(msg_type, seq, wire.parse(msg_type, payload))
                except wire.WireError:
                    self.stats.bad_messages += 1
            self.stats.crc_errors = self._decoder.crc_errors
            self.stats.framing_errors = self._decoder.framing_errors

    def _count(self, msg_type: int, seq: int) -> None:
        name = _name(msg_type)
        self.stats.frames[name] += 1
        previous = self._rx_seq.get(msg_type)
        if previous is not None:
            self.stats.lost[name] += (seq - previous - 1) & 0xFFFF
        self._rx_seq[msg_type] = seq

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
            ref_type, ref_seq, code, reason = fields
            if ref_type == 0:
                self._publish(BoardAlert(code, reason))
            elif ref_type == wire.HELLO and code == wire.E_VERSION:
                pass  # the BOARD_INFO that came with it carries the version; _board_info reports it
            else:
                self._answer(ref_type, CommandResult(_name(ref_type), ref_seq, False, code=code, reason=reason))
        elif msg_type == wire.BOARD_INFO:
            self._board_info(fields)

    def _board_info(self, fields: tuple) -> None:
        version, flute_hz, belt_hz, holes, fingers, belt_channels, watchdog_ms, text = fields
        details = dict(item.split("=", 1) for item in text.split(";") if "=" in item)
        rates = {"flute": flute_hz, "belt": belt_hz}
        info = BoardInfo(version, rates, holes, fingers, belt_channels, watchdog_ms, details)
        waiter = self._info_waiter
        if waiter is None or waiter.done():
            return
        if version != wire.VERSION:
            waiter.set_exception(
                ProtocolMismatch(
                    f"the board speaks protocol v{version} and this host v{wire.VERSION}: "
                    "flash the firmware that matches this flutex (`flutex flash`), or update flutex"
                )
            )
        else:
            waiter.set_result(info)

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

    async def _heartbeat_forever(self) -> None:
        while True:
            if self.heartbeat_enabled:
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

    def _link_lost(self, reason: str) -> None:
        self._link_up.clear()
        if self._recovery is None or self._recovery.done():
            self._publish(LinkLost(reason))
            self._fail_pending(TransportClosed(reason))
            self._recovery = asyncio.create_task(self._recover(reason))

    async def _recover(self, reason: str) -> None:
        """Reopen the transport with backoff until the board answers again, or give up after the timeout."""
        deadline = time.monotonic() + self.reconnect_timeout_s
        delay_s = 0.05
        while True:
            await self.transport.close()
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 1.0)
            try:
                await self.transport.open()
                self._decoder = wire.StreamDecoder()
                self._rx_seq.clear()
                self.clock = BoardClock()
                self._link_up.set()
                self.info = await self._handshake(min(1.0, max(0.1, deadline - time.monotonic())))
            except FlutexError as error:
                self._link_up.clear()
                if time.monotonic() >= deadline:
                    self._publish(LinkLost(f"{reason}; gave up reconnecting: {error}", final=True))
                    return
                continue
            self._publish(LinkRestored(self.info))
            return


def _name(msg_type: int) -> str:
    return wire.NAMES.get(msg_type, hex(msg_type))
