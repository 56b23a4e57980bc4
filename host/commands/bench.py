"""`flutex bench`: the board's real-time promises, measured on its own clock and printed as numbers.

- `watchdog`: on the simulator, a host that goes silent with the clutch engaged and the fingers pressed, over and
  over: how long after its last heartbeat the board releases the clutch (the promise: between 90 and 100 ms, every
  time) and starts, then finishes, parking the servos.
- `rates`: FLUTE and BELT rates and sampling jitter while the demo's echo session loads the board (servos slewing,
  clutch switching, commands answered), on the simulator or a real board.
- `soak`: the simulator at full rate for minutes, with faults injected on a schedule; every lost frame explained.

The simulator's own instruments (its output log, its faulty line) are loaded only by the benchmarks that use them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from flutex.hardware import load_pinmap
from flutex.host.commands import bench_clock
from flutex.host.commands.arguments import add_device_arguments, positive_int, positive_seconds
from flutex.host.commands.demo import run_session
from flutex.host.errors import FlutexError
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import BeltSample, CommandResult, FluteSample
from flutex.host.link.timing import interval_jitter, spread
from flutex.host.link.transport import SerialTransport
from flutex.host.session.events import Stamped

RELEASE_MIN_MS = 90.0  # earlier means the watchdog fired while the host was still within its 100 ms
RELEASE_MAX_MS = 100.0
STREAMS = ("flute", "belt")
STREAM_OF: dict[type, str] = {FluteSample: "flute", BeltSample: "belt"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = "Measure the board's real-time promises on its own clock; each benchmark prints numbers."
    benches = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    watchdog = benches.add_parser(
        "watchdog",
        help="clutch release and servo park after the host goes silent, over many trials (simulator)",
        description=(
            "On the simulator: arm, engage the clutch, press every finger, stop the heartbeats, and time on the "
            "board's clock, from the last heartbeat it heard, the clutch release, the first servo step toward "
            f"neutral and the last servo reaching it. A trial fails if the release comes before {RELEASE_MIN_MS:g} "
            f"ms or after {RELEASE_MAX_MS:g} ms (or not at all), or the first servo step home comes later than the "
            "next servo frame after the release (the servos are driven at 50 Hz: a release between two frames moves "
            "them at the next)."
        ),
    )
    watchdog.add_argument("--trials", type=positive_int, default=20, help="how many host losses (default 20)")
    watchdog.add_argument("--json", action="store_true", help="print the result as one JSON object, last line")
    watchdog.set_defaults(run=run_watchdog)
    soak = benches.add_parser(
        "soak",
        help="minutes at full rate with faults injected on a schedule; every lost frame explained (simulator)",
        description=(
            "Run a session on the simulator for MINUTES while a faulty line and the board misbehave every few "
            "seconds (frames corrupted, dropped, repeated, swapped, garbled; the board silent, unplugged, reset; the "
            "host silent with the clutch engaged). Prints what the board sent, what the host took in, frames lost "
            "without an injected fault to explain them (must be 0), damaged frames taken as good (must be 0), "
            "reconnects and watchdog releases."
        ),
    )
    soak.add_argument("--minutes", type=positive_seconds, default=10.0, help="how long (default 10)")
    soak.add_argument("--seed", type=int, default=0, help="seed of the faults' randomness (default 0)")
    soak.add_argument("--json", action="store_true", help="print the result as one JSON object, last line")
    soak.set_defaults(run=run_soak)
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
    bench_clock.configure(
        benches.add_parser(
            "clock", help="the session timeline's error against the simulator's truth, board and audio (simulator)"
        )
    )


def run_watchdog(args: argparse.Namespace) -> int:
    result = asyncio.run(bench_watchdog(args.trials))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"watchdog: {result['failures']} of {result['trials']} host losses failed")
    for name, label in (("release_ms", "clutch released"), ("park_start_ms", "park begins"), ("parked_ms", "parked")):
        spread = result[name]
        print(
            f"  {label:15} after the last heartbeat: min {spread['min']} ms, p50 {spread['p50']} ms, "
            f"p99 {spread['p99']} ms, max {spread['max']} ms"
        )
    return 0


def run_soak(args: argparse.Namespace) -> int:
    from flutex.sim.soak import soak  # the simulator's faulty line: only this benchmark loads it

    result = asyncio.run(soak(args.minutes, args.seed, report=lambda line: print(line, file=sys.stderr)))
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"soak of {args.minutes:g} min: {result['frames_sent']} frames sent, {result['frames_received']} received, "
        f"{result['frames_lost_unexplained']} lost without an injected fault to explain them, "
        f"{result['corrupt_frames_accepted']} corrupt frames accepted; {result['reconnects']} reconnects, "
        f"{result['watchdog_releases']} watchdog releases (max {result['max_release_ms']} ms after the last "
        f"heartbeat, {result['watchdog_missed']} missed)"
    )
    print("faults injected: " + ", ".join(f"{kind} {count}" for kind, count in sorted(result["faults"].items())))
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
    """`trials` host losses on one simulated board; progress goes to stderr."""
    from flutex.sim.host_loss import OutputWatch, host_loss  # the simulator's output log: only here
    from flutex.sim.world import simulation

    release_ms: list[float] = []
    park_start_ms: list[float] = []
    parked_ms: list[float] = []
    failures = 0
    pinmap = load_pinmap()
    frame_ms = 1000 / pinmap["rates_hz"]["servo"] + 2  # one servo frame, and 2 ms for the simulator's scheduling
    async with simulation() as board:
        watch = OutputWatch(board, pinmap)
        client = DeviceClient(SerialTransport(board.port))
        await client.connect()
        try:
            for trial in range(1, trials + 1):
                loss = await host_loss(client, board, watch, press=True)
                if loss is None:
                    raise FlutexError("the simulated board refused to arm or engage")
                ok = (
                    loss.release_ms is not None
                    and RELEASE_MIN_MS <= loss.release_ms <= RELEASE_MAX_MS
                    and loss.park_start_ms is not None
                    and loss.park_start_ms <= loss.release_ms + frame_ms
                )
                failures += 0 if ok else 1
                for values, value in ((release_ms, loss.release_ms), (park_start_ms, loss.park_start_ms)):
                    if value is not None:
                        values.append(value)
                if loss.parked_ms is not None:
                    parked_ms.append(loss.parked_ms)
                print(
                    f"trial {trial}/{trials}: released {loss.release_ms} ms, park from {loss.park_start_ms} ms to "
                    f"{loss.parked_ms} ms after the last heartbeat, {'ok' if ok else 'FAIL'}",
                    file=sys.stderr,
                )
        finally:
            await client.close()
    return {
        "trials": trials,
        "failures": failures,
        "release_ms": spread(sorted(release_ms)),
        "park_start_ms": spread(sorted(park_start_ms)),
        "parked_ms": spread(sorted(parked_ms)),
    }


def _require(answer: CommandResult) -> None:
    """A benchmark cannot go on if the board refuses its setup."""
    if not answer.accepted:
        raise FlutexError(f"the board refused {answer.command}: {answer.reason}")


async def bench_rates(url: str, seconds: float) -> dict:
    """The demo's session for `seconds` (its echo loads the board); rates and interval jitter per stream."""
    times_s: dict[str, list[float]] = {stream: [] for stream in STREAMS}

    def collect(stamped: Stamped) -> None:
        stream = STREAM_OF.get(type(stamped.event))
        if stream is not None:
            times_s[stream].append(stamped.event.t_s)

    # the board's own sampling is measured: no microphone, whose analysis would only load the host
    summary = await run_session(url, seconds, progress=True, listeners=(collect,), hear=False)
    if summary["board_lost"]:
        raise FlutexError(f"lost the board: {summary['link_events'][-1]}")
    nominal_hz = summary["nominal_hz"]
    jitter = {stream: interval_jitter(times_s[stream], nominal_hz[stream]) for stream in STREAMS}
    return {
        "seconds": seconds,
        "nominal_hz": {stream: nominal_hz[stream] for stream in STREAMS},
        "rates_hz": summary["rates_hz"],
        "frames": summary["frames"],
        "frames_lost": summary["frames_lost"],
        "jitter_ms": {
            stream: {"std": round(j.std_ms, 3), "p99": round(j.p99_ms, 3), "max": round(j.max_ms, 3)}
            for stream, j in jitter.items()
        },
        "commands": summary["commands"],
    }
