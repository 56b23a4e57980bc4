"""`flutex demo`: a whole session end to end: board (simulated by default), link, session timeline, reactions.

The board's streams and the microphone (on the simulator: the simulated flute's own sound) go onto one session
timeline, which is recorded (see docs/recording.md) and analysed live: fingering changes, notes, breaths. The
reaction is a simple "teacher echo": when the fingering changes, the servos press lightly on the fingers the player
closed (a touch the player feels, too light to hold a finger down); when the player starts or stops blowing, the
clutch engages or releases. Loop latency is measured on the board's own clock, from the sample where the firmware
saw the change to the moment it applied the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.commands.arguments import add_device_arguments, positive_seconds
from flutex.host.errors import FlutexError
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import BeltSample, BoardAlert, CommandResult, FluteSample, LinkLost, LinkRestored
from flutex.host.link.opener import open_instrument
from flutex.host.link.timing import percentile, spread
from flutex.host.session.events import NoteStarted, Stamped
from flutex.host.session.recording import record_timeline, sessions_dir
from flutex.host.session.session import Session

ECHO_PRESS_PERMILLE = 400  # a press the player feels but that does not hold a finger down (the sim's yield: 500)
PROGRESS_PERIOD_S = 0.5


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Start the simulator (the real firmware in the real MicroPython interpreter), connect over a "
        "pseudo-terminal, put every stream and the sound on one session timeline, record it, answer the sensors "
        "with servo and clutch commands, and print a summary with the recording's path "
        "(replay it with `flutex sessions replay PATH`)."
    )
    parser.add_argument("--seconds", type=positive_seconds, default=20.0, help="how long to stream (default 20)")
    parser.add_argument(
        "--microphone",
        metavar="NAME",
        help="sound card to listen with on a real board (needs the `live` extra); sim:// always hears its flute",
    )
    parser.add_argument(
        "--no-record", dest="record", action="store_false", help="do not record the session (default: record)"
    )
    parser.add_argument(
        "--sessions-dir",
        type=Path,
        help="where recordings go (default $XDG_DATA_HOME/flutex/sessions, else ~/.local/share/flutex/sessions)",
    )
    add_device_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    recordings = (args.sessions_dir or sessions_dir()) if args.record else None
    session = run_session(args.device, args.seconds, not args.json, recordings, args.microphone)
    summary = asyncio.run(session)
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
    reactions_ms: list[float] = field(default_factory=list)  # host only: the sample's frame read -> command written
    refused: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    link_events: list[str] = field(default_factory=list)
    notes: int = 0
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
        self._profile = profile
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
            # by hole name through the profile: on the Boehm flute hole 0 is the left thumb's, finger 0 is L1
            targets = self._profile.servo_targets(sample.closed_mask, press_permille=ECHO_PRESS_PERMILLE).targets
            self._track(self._client.set_servos(targets), sample.t_s)
        blowing = sample.mouth_pa > self._profile.sounding_pa
        if blowing != self._blowing:
            self._blowing = blowing
            self._track(self._client.set_clutch(blowing), sample.t_s)

    def _track(self, future: asyncio.Future[CommandResult], cause_t_s: float) -> None:
        self._stats.reactions_ms.append((time.monotonic() - self._client.last_frame_s) * 1000)

        def done(answer: asyncio.Future[CommandResult]) -> None:
            if answer.cancelled() or answer.exception() is not None:
                return  # the link went down before the answer: LinkLost tells the story
            result = answer.result()
            if result.accepted and result.t_s is not None:
                self._stats.latencies_ms.append((result.t_s - cause_t_s) * 1000)
            elif not result.accepted:
                self._stats.refused.append(f"{result.command}: {result.reason}")

        future.add_done_callback(done)


class SessionLoop:
    """The reactions and the accounting, as a listener of the session timeline: called for every event as it is
    published, in the event loop, so the echo answers a sample without waiting for a queue to be read."""

    def __init__(self, client: DeviceClient, profile: InstrumentProfile, stats: SessionStats) -> None:
        self.client = client
        self.stats = stats
        self.guide = EchoGuide(client, profile, stats)

    def __call__(self, stamped: Stamped) -> None:
        event, stats = stamped.event, self.stats
        if isinstance(event, FluteSample):
            stats.saw("flute", event.t_s)
            if self.client.link_up:
                self.guide.on_flute(event)
        elif isinstance(event, BeltSample):
            stats.saw("belt", event.t_s)
        elif isinstance(event, NoteStarted):
            stats.notes += 1
        elif isinstance(event, BoardAlert):
            stats.alerts.append(event.reason)
        elif isinstance(event, LinkLost):
            stats.link_events.append(f"link lost: {event.reason}")
            stats.board_lost = event.final
            self.guide.forget()
        elif isinstance(event, LinkRestored):
            stats.link_events.append("board restarted, link restored" if event.rebooted else "link restored")
            asyncio.get_running_loop().create_task(_rearm(self.client, stats))


async def run_session(
    url: str,
    seconds: float,
    progress: bool = True,
    recordings: Path | None = None,
    microphone: str | None = None,
    hear: bool = True,
    listeners: tuple[Callable[[Stamped], None], ...] = (),
    on_session: Callable[[Session], None] | None = None,
) -> dict:
    """Run one session and return its summary (see docs/protocol.md for what each figure means). A link that drops
    and comes back is part of the session (the board is armed again); a board lost for good ends it early, and the
    summary says so (`board_lost`) rather than being lost with it. With `recordings`, the session is recorded in a
    new file there. `listeners` also hear every event of the timeline; `on_session` is handed the session before it
    starts (a live view taps it). Without `hear`, no microphone is opened (not even the simulated one)."""
    stats = SessionStats()
    simulated = url.startswith("sim:")
    heard = ("simulated" if simulated else microphone) if hear else None
    async with open_instrument(url, microphone=heard) as instrument:
        client = instrument.client
        assert client.info is not None  # connected
        profile = InstrumentProfile.load(client.info.details.get("profile", "six_hole"))
        # the simulated microphone's capture times are exact; a real card's latency comes from its calibration
        session = Session(
            client,
            profile=profile,
            audio=instrument.audio,
            sample_rate_hz=instrument.sample_rate_hz,
            input_latency_s=0.0 if simulated else None,
            audio_device=microphone or "default",
        )
        loop = SessionLoop(client, profile, stats)
        session.timeline.add_listener(loop)
        for listener in listeners:
            session.timeline.add_listener(listener)
        if on_session is not None:
            on_session(session)
        recorder = None
        if recordings is not None:
            recorder = record_timeline(recordings, session.timeline, session.clock.origin_s, client.info, profile.name)
        armed = await client.arm()
        if not armed.accepted:
            raise FlutexError(f"the board refused to arm: {armed.reason}")
        reporter = Progress(seconds, enabled=progress)
        try:
            async with session:
                deadline = time.monotonic() + seconds
                while (remaining := deadline - time.monotonic()) > 0 and not stats.board_lost:
                    await asyncio.sleep(min(remaining, PROGRESS_PERIOD_S))
                    reporter.update(seconds - max(0.0, remaining), client, stats)
            reporter.finish()
            if client.link_up:
                with contextlib.suppress(FlutexError):  # the board disarms itself within 100 ms anyway
                    await client.arm(False)
        finally:
            if recorder is not None:
                recorder.close()
        summary = summarize(client, stats, seconds)
        summary["recording"] = str(recorder.path) if recorder is not None else None
        summary["timeline"] = {
            "events": session.stats.published,
            "audio_blocks": session.stats.audio_blocks,
            "audio_dropped_blocks": session.stats.audio_dropped_blocks,
            "notes": stats.notes,
        }
        return summary


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
        "nominal_hz": client.info.rates_hz if client.info else {},
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
        "host_reaction_ms": spread(sorted(stats.reactions_ms)),
        "alerts": stats.alerts,
        "reconnects": client.stats.reconnects,
        "board_restarts": client.stats.reboots,
        "link_events": stats.link_events,
        "board_lost": stats.board_lost,
    }


def format_summary(summary: dict) -> str:
    latency, reaction = summary["loop_latency_ms"], summary["host_reaction_ms"]
    rates = summary["rates_hz"]
    lines = [
        f"Session of {summary['seconds']:g} s on {summary['firmware_runtime']}",
        f"  frames      flute {summary['frames']['flute']} ({rates['flute']} Hz), "
        f"belt {summary['frames']['belt']} ({rates['belt']} Hz)",
        f"  lost        {summary['frames_lost']} frames, {summary['crc_errors']} CRC errors",
        f"  commands    {summary['commands']['acked']} applied, {summary['commands']['refused']} refused",
        f"  loop        sensor change -> command applied (board clock): p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms over {latency['samples']} commands",
        f"              of which the host (frame read -> command written): p50 {reaction['p50']} ms, "
        f"p99 {reaction['p99']} ms",
    ]
    timeline = summary["timeline"]
    lines.append(
        f"  timeline    {timeline['events']} events, {timeline['notes']} notes heard, "
        f"{timeline['audio_blocks']} audio blocks ({timeline['audio_dropped_blocks']} dropped)"
    )
    if summary["recording"]:
        lines.append(f"  recording   {summary['recording']}  (replay: flutex sessions replay PATH)")
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
