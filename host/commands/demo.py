"""`flutex demo`: a whole session end to end: board (simulated by default), link, device client, reactions.

The reaction is a simple "teacher echo": when the fingering changes, the servos press the fingers the player
closed; when the player starts or stops blowing, the clutch engages or releases. Loop latency is measured on the
board's own clock, from the sample where the firmware saw the change to the moment it applied the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.commands.arguments import add_device_arguments, positive_seconds
from flutex.host.errors import FlutexError
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import BeltSample, BoardAlert, CommandResult, FluteSample, LinkLost, LinkRestored
from flutex.host.link.opener import open_device
from flutex.host.link.timing import percentile

PRESSED = 1000
NEUTRAL = 0
PROGRESS_PERIOD_S = 0.5


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Start the simulator (the real firmware in the real MicroPython interpreter), connect over a "
        "pseudo-terminal, stream sensors, answer them with servo and clutch commands, and print a summary."
    )
    parser.add_argument("--seconds", type=positive_seconds, default=20.0, help="how long to stream (default 20)")
    add_device_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    summary = asyncio.run(run_session(args.device, args.seconds, progress=not args.json))
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_summary(summary))
    if summary["board_lost"]:
        # the summary above is kept; the error says what ended the session early
        raise FlutexError(f"lost the board: {summary['link_events'][-1]}")
    return 0


@dataclass
class SessionStats:
    """What the session saw, on the board's clock."""

    frames: Counter[str] = field(default_factory=Counter)
    first_t_s: dict[str, float] = field(default_factory=dict)
    last_t_s: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    link_events: list[str] = field(default_factory=list)
    board_lost: bool = False

    def saw(self, stream: str, t_s: float) -> None:
        self.frames[stream] += 1
        self.first_t_s.setdefault(stream, t_s)
        self.last_t_s[stream] = t_s

    def rate_hz(self, stream: str) -> float:
        """Frames per second of board time over the session."""
        frames = self.frames[stream]
        span = self.last_t_s.get(stream, 0.0) - self.first_t_s.get(stream, 0.0)
        return (frames - 1) / span if frames > 1 and span > 0 else 0.0


class EchoGuide:
    """The demo's reaction to sensor events; each command remembers the sample time of the change behind it."""

    def __init__(self, client: DeviceClient, profile: InstrumentProfile, stats: SessionStats) -> None:
        self._client = client
        self._fingers = len(profile.fingers)
        self._sounding_pa = profile.sounding_pa
        self._stats = stats
        self._mask: int | None = None
        self._blowing: bool | None = None

    def forget(self) -> None:
        """After a link interruption the board was disarmed: react to the next sample afresh."""
        self._mask = None
        self._blowing = None

    def on_flute(self, sample: FluteSample) -> None:
        if sample.closed_mask != self._mask:
            self._mask = sample.closed_mask
            targets = [PRESSED if sample.closed_mask >> finger & 1 else NEUTRAL for finger in range(self._fingers)]
            self._track(self._client.set_servos(targets), sample.t_s)
        blowing = sample.mouth_pa > self._sounding_pa
        if blowing != self._blowing:
            self._blowing = blowing
            self._track(self._client.set_clutch(blowing), sample.t_s)

    def _track(self, future: asyncio.Future[CommandResult], cause_t_s: float) -> None:
        def done(answer: asyncio.Future[CommandResult]) -> None:
            if answer.cancelled() or answer.exception() is not None:
                return  # the link went down before the answer: LinkLost tells the story
            result = answer.result()
            if result.accepted and result.t_s is not None:
                self._stats.latencies_ms.append((result.t_s - cause_t_s) * 1000)
            elif not result.accepted:
                self._stats.refused.append(f"{result.command}: {result.reason}")

        future.add_done_callback(done)


async def run_session(url: str, seconds: float, progress: bool = True) -> dict:
    """Run one session and return its summary (see docs/protocol.md for what each figure means). A link that drops
    and comes back is part of the session (the board is armed again); a board lost for good ends it early, and the
    summary says so (`board_lost`) rather than being lost with it."""
    stats = SessionStats()
    async with open_device(url) as client:
        profile = InstrumentProfile.load(client.info.details.get("profile", "six_hole") if client.info else "six_hole")
        events = client.subscribe()
        armed = await client.arm()
        if not armed.accepted:
            raise FlutexError(f"the board refused to arm: {armed.reason}")
        guide = EchoGuide(client, profile, stats)
        reporter = Progress(seconds, enabled=progress)
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0 and not stats.board_lost:
            try:
                # (asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a Ctrl-C's cancellation when
                # an event arrives in the same instant)
                async with asyncio.timeout(min(remaining, PROGRESS_PERIOD_S)):
                    event = await events.get()
            except TimeoutError:
                event = None
            if isinstance(event, FluteSample):
                stats.saw("flute", event.t_s)
                if client.link_up:
                    guide.on_flute(event)
            elif isinstance(event, BeltSample):
                stats.saw("belt", event.t_s)
            elif isinstance(event, BoardAlert):
                stats.alerts.append(event.reason)
            elif isinstance(event, LinkLost):
                stats.link_events.append(f"link lost: {event.reason}")
                stats.board_lost = event.final
                guide.forget()
            elif isinstance(event, LinkRestored):
                stats.link_events.append("board restarted, link restored" if event.rebooted else "link restored")
                await _rearm(client, stats)
            reporter.update(seconds - remaining, client, stats)
        reporter.finish()
        if client.link_up:
            with contextlib.suppress(FlutexError):  # the board disarms itself within 100 ms anyway
                await client.arm(False)
        return summarize(client, stats, seconds)


async def _rearm(client: DeviceClient, stats: SessionStats) -> None:
    try:
        answer = await client.arm()
    except FlutexError as error:  # the link dropped again: its LinkLost follows
        stats.link_events.append(f"could not arm again: {error}")
        return
    if not answer.accepted:
        stats.refused.append(f"ARM: {answer.reason}")


def summarize(client: DeviceClient, stats: SessionStats, seconds: float) -> dict:
    frames = {stream: stats.frames[stream] for stream in ("flute", "belt")}
    latencies = sorted(stats.latencies_ms)
    return {
        "firmware_runtime": client.info.details.get("runtime", "unknown") if client.info else "unknown",
        "seconds": seconds,
        "frames": frames,
        "rates_hz": {stream: round(stats.rate_hz(stream), 2) for stream in frames},
        "frames_lost": sum(client.stats.lost.values()),
        "crc_errors": client.stats.crc_errors,
        "framing_errors": client.stats.framing_errors,
        "commands": {"acked": len(latencies), "refused": len(stats.refused)},
        "loop_latency_ms": {
            "p50": round(percentile(latencies, 50), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(latencies[-1], 3) if latencies else None,
            "samples": len(latencies),
        },
        "alerts": stats.alerts,
        "reconnects": client.stats.reconnects,
        "board_restarts": client.stats.reboots,
        "link_events": stats.link_events,
        "board_lost": stats.board_lost,
    }


def format_summary(summary: dict) -> str:
    latency = summary["loop_latency_ms"]
    rates = summary["rates_hz"]
    lines = [
        f"Session of {summary['seconds']:g} s on {summary['firmware_runtime']}",
        f"  frames      flute {summary['frames']['flute']} ({rates['flute']} Hz), "
        f"belt {summary['frames']['belt']} ({rates['belt']} Hz)",
        f"  lost        {summary['frames_lost']} frames, {summary['crc_errors']} CRC errors",
        f"  commands    {summary['commands']['acked']} applied, {summary['commands']['refused']} refused",
        f"  loop        sensor change -> command applied (board clock): p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms over {latency['samples']} commands",
    ]
    lines += [f"  alert       {alert}" for alert in summary["alerts"]]
    lines += [f"  link        {event}" for event in summary["link_events"]]
    return "\n".join(lines)


class Progress:
    """A live status line on stderr: rewritten in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, seconds: float, enabled: bool) -> None:
        self._seconds = seconds
        self._enabled = enabled
        self._tty = sys.stderr.isatty()
        self._next_s = 0.0

    def update(self, elapsed_s: float, client: DeviceClient, stats: SessionStats) -> None:
        if not self._enabled or elapsed_s < self._next_s:
            return
        self._next_s = elapsed_s + (PROGRESS_PERIOD_S if self._tty else 5.0)
        frames = stats.frames
        line = (
            f"{elapsed_s:5.1f}/{self._seconds:g} s  flute {frames['flute']}  belt {frames['belt']}  "
            f"lost {sum(client.stats.lost.values())}  commands {len(stats.latencies_ms)}"
        )
        print(f"\r{line}" if self._tty else line, end="" if self._tty else "\n", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self._enabled and self._tty:
            print(file=sys.stderr)
