"""`flutex bench`: the board's real-time promises, measured on its own clock and printed as numbers.

- `watchdog`: on the simulator, how long after the host's last byte the board releases the clutch when the
  heartbeats stop, over many trials (the promise: between 90 and 100 ms, every time).
- `rates`: FLUTE and BELT rates and sampling jitter while the demo's echo session loads the board (servos slewing,
  clutch switching, commands answered), on the simulator or a real board.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from flutex.arguments import add_device_arguments, positive_int, positive_seconds
from flutex.client import DeviceClient
from flutex.demo import EchoGuide, SessionStats
from flutex.device import open_device
from flutex.errors import FlutexError
from flutex.events import BeltSample, CommandResult, FluteSample, LinkLost
from flutex.hardware import load_pinmap
from flutex.profile import InstrumentProfile
from flutex.sim.board import OutputChange, SimBoard
from flutex.sim.world import simulation
from flutex.timing import interval_jitter, percentile, silence_before_us
from flutex.transport import SerialTransport

RELEASE_MIN_MS = 90.0  # earlier means the watchdog fired while the host was still within its 100 ms
RELEASE_MAX_MS = 100.0
RELEASE_TIMEOUT_S = 1.0  # no release by then counts as a failed trial
EVENT_TIMEOUT_S = 2.0  # a board that sends nothing for this long has stopped streaming
REPORT_PERIOD_S = 5.0  # progress lines on stderr while streaming
STREAMS = ("flute", "belt")
STREAM_OF: dict[type, str] = {FluteSample: "flute", BeltSample: "belt"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure the board's real-time promises (watchdog release, sampling rates and jitter)",
        description="Measure the board's real-time promises on its own clock; each benchmark prints numbers.",
    )
    benches = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    watchdog = benches.add_parser(
        "watchdog",
        help="clutch release time after the heartbeats stop, over many trials (simulator)",
        description=(
            "On the simulator: arm, engage the clutch, stop the heartbeats, and time the release from the last "
            f"byte the board received; a trial fails if the release comes before {RELEASE_MIN_MS:g} ms, after "
            f"{RELEASE_MAX_MS:g} ms, or not within {RELEASE_TIMEOUT_S:g} s."
        ),
    )
    watchdog.add_argument("--trials", type=positive_int, default=20, help="how many releases to time (default 20)")
    watchdog.add_argument("--json", action="store_true", help="print the result as one JSON object, last line")
    watchdog.set_defaults(run=run_watchdog)
    rates = benches.add_parser(
        "rates",
        help="FLUTE and BELT rates and sampling jitter under load",
        description=(
            "Stream for SECONDS of board time while answering the sensors as `flutex demo` does, then report each "
            "stream's rate and the deviation of its inter-frame intervals from the nominal period."
        ),
    )
    rates.add_argument("--seconds", type=positive_seconds, default=30.0, help="board time to stream (default 30)")
    add_device_arguments(rates)
    rates.set_defaults(run=run_rates)


def run_watchdog(args: argparse.Namespace) -> int:
    result = asyncio.run(bench_watchdog(args.trials))
    release = result["release_ms"]
    print(
        json.dumps(result)
        if args.json
        else f"watchdog: {result['failures']} of {result['trials']} trials failed; release after the last byte "
        f"min {release['min']} ms, p50 {release['p50']} ms, p99 {release['p99']} ms, max {release['max']} ms"
    )
    return 0


def run_rates(args: argparse.Namespace) -> int:
    result = asyncio.run(bench_rates(args.device, args.seconds))
    if args.json:
        print(json.dumps(result))
        return 0
    for stream in STREAMS:
        jitter = result["jitter_ms"][stream]
        print(
            f"{stream:5}  {result['rates_hz'][stream]} Hz (nominal {result['nominal_hz'][stream]}), interval "
            f"deviation std {jitter['std']} ms, p99 {jitter['p99']} ms, max {jitter['max']} ms"
        )
    print(f"lost {result['frames_lost']} frames; {result['commands']['acked']} commands applied under load")
    return 0


async def bench_watchdog(trials: int) -> dict:
    """Time `trials` watchdog releases on one simulated board; progress goes to stderr."""
    clutch = load_pinmap()["clutch"]
    released_level = 0 if clutch["active_high"] else 1
    releases: asyncio.Queue[OutputChange] = asyncio.Queue()

    def watch(change: OutputChange) -> None:
        if change.gpio == clutch["gpio"] and change.value == released_level:
            releases.put_nowait(change)

    release_ms: list[float] = []
    failures = 0
    async with simulation() as board:
        board.on_output(watch)
        client = DeviceClient(SerialTransport(board.port))
        await client.connect()
        try:
            for trial in range(1, trials + 1):
                silence_us = await _silence_before_release_us(client, board, releases)
                if silence_us is None:
                    failures += 1
                    print(f"trial {trial}/{trials}: no release within {RELEASE_TIMEOUT_S:g} s", file=sys.stderr)
                    continue
                release_ms.append(silence_us / 1000)
                in_time = RELEASE_MIN_MS <= release_ms[-1] <= RELEASE_MAX_MS
                failures += 0 if in_time else 1
                verdict = "ok" if in_time else "FAIL"
                print(f"trial {trial}/{trials}: released after {release_ms[-1]:.2f} ms, {verdict}", file=sys.stderr)
        finally:
            await client.close()
    return {"trials": trials, "failures": failures, "release_ms": _spread(sorted(release_ms))}


def _spread(sorted_values: list[float]) -> dict[str, float | None]:
    """Min, median, 99th percentile and max, rounded for printing; all None if no trial released."""
    if not sorted_values:
        return dict.fromkeys(("min", "p50", "p99", "max"))
    return {
        "min": round(sorted_values[0], 3),
        "p50": round(percentile(sorted_values, 50), 3),
        "p99": round(percentile(sorted_values, 99), 3),
        "max": round(sorted_values[-1], 3),
    }


async def _silence_before_release_us(
    client: DeviceClient, board: SimBoard, releases: asyncio.Queue[OutputChange]
) -> int | None:
    """Arm, engage the clutch and stop the heartbeats; microseconds on the board clock from the last byte it
    received to the clutch release, or None if no release came in time. Heartbeats resume either way."""
    _require(await client.arm())  # also clears the last trial's watchdog trip
    _require(await client.set_clutch(True))
    while not releases.empty():
        releases.get_nowait()
    await client.pause_heartbeats()
    try:
        change = await asyncio.wait_for(releases.get(), RELEASE_TIMEOUT_S)
    except TimeoutError:
        return None
    finally:
        client.resume_heartbeats()
    return silence_before_us(change.t_us, board.rx_times_us)


def _require(answer: CommandResult) -> None:
    """A benchmark cannot go on if the board refuses its setup."""
    if not answer.accepted:
        raise FlutexError(f"the board refused {answer.command}: {answer.reason}")


async def bench_rates(url: str, seconds: float) -> dict:
    """Stream for `seconds` of board time under the demo's echo load; rates and interval jitter per stream."""
    stats = SessionStats()
    times_s: dict[str, list[float]] = {stream: [] for stream in STREAMS}
    async with open_device(url) as client:
        assert client.info is not None  # connected
        profile = InstrumentProfile.load(client.info.details.get("profile", "six_hole"))
        events = client.subscribe()
        _require(await client.arm())
        guide = EchoGuide(client, profile, stats)
        next_report_s = time.monotonic()
        flute = times_s["flute"]
        while not flute or flute[-1] - flute[0] < seconds:
            try:
                event = await asyncio.wait_for(events.get(), EVENT_TIMEOUT_S)
            except TimeoutError:
                raise FlutexError(f"the board sent nothing for {EVENT_TIMEOUT_S:g} s") from None
            if isinstance(event, FluteSample | BeltSample):
                stream = STREAM_OF[type(event)]
                stats.saw(stream, event.t_s)
                times_s[stream].append(event.t_s)
            if isinstance(event, FluteSample):
                guide.on_flute(event)
            elif isinstance(event, LinkLost) and event.final:
                raise FlutexError(f"lost the board: {event.reason}")
            if time.monotonic() >= next_report_s and flute:
                next_report_s += REPORT_PERIOD_S
                print(f"{flute[-1] - flute[0]:5.1f}/{seconds:g} s of board time", file=sys.stderr)
        await client.arm(False)
        nominal_hz = client.info.rates_hz
        frames_lost = sum(client.stats.lost.values())
    jitter = {stream: interval_jitter(times_s[stream], nominal_hz[stream]) for stream in STREAMS}
    return {
        "seconds": seconds,
        "nominal_hz": {stream: nominal_hz[stream] for stream in STREAMS},
        "rates_hz": {stream: round(stats.rate_hz(stream), 3) for stream in STREAMS},
        "frames": {stream: stats.frames[stream] for stream in STREAMS},
        "frames_lost": frames_lost,
        "jitter_ms": {
            stream: {"std": round(j.std_ms, 3), "p99": round(j.p99_ms, 3), "max": round(j.max_ms, 3)}
            for stream, j in jitter.items()
        },
        "commands": {"acked": len(stats.latencies_ms), "refused": len(stats.refused)},
    }
