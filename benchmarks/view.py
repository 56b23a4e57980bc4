"""The live window, measured: its frame rate and CPU, and what it costs the real-time loop.

1. Loop beside the window. `flutex demo`'s loop (the real firmware on the simulator, the session, the echo
   reaction whose latency the demo reports) runs for `--seconds`: alone; with the live window in its own process
   (as `flutex lesson --view` runs it, fed through a pipe at 60 Hz); and with the window in the loop's own process
   (the loop in a worker thread, the window in the main thread, fed from the session's thread tap: the design the
   window process replaced, kept here to show why). The window draws offscreen: Qt paints every frame in memory
   as it would on a screen, with no display to wait for. Each `--rounds` times, interleaved. Prints per condition
   the loop's latency (medians of the rounds' p50 and p99, and the p99s' range: the loop's own spread), the rates,
   frames lost and the loop process's CPU, and for the window its frame rate, its draw time per frame (p50, p99)
   and its GUI thread's CPU seconds over wall seconds (share of one core).
2. Every panel full. A recorded lesson (`--recording`, else one made now on the simulator) replayed at 1x in the
   same window: score, grades, presses, mastery and chat all drawn. Prints the frame rate and draw times.

Usage: python benchmarks/view.py [--seconds 15] [--rounds 3] [--recording PATH] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for benchmarks.loop_rounds, shared with agent.py

from benchmarks.loop_rounds import against_alone, loop_figures, summarize_rounds
from flutex.host.commands.demo import run_session
from flutex.host.commands.recorded import read_recorded
from flutex.host.commands.viewing import LiveWindow
from flutex.host.link.timing import percentile
from flutex.host.session.session import Session
from flutex.view.picture import Picture
from flutex.view.qt.app import run_live, run_replay


def loop_alone(seconds: float) -> tuple[dict, None]:
    """The demo loop on the main thread's event loop, as `flutex lesson` runs it without a window."""
    return asyncio.run(run_session("sim://", seconds, False)), None


def loop_with_window_process(seconds: float) -> tuple[dict, dict]:
    """The same, with the live window in its own process (`flutex lesson --view`, `flutex view --device`)."""
    window = LiveWindow("bench", seconds=seconds)

    async def run() -> dict:
        try:
            return await run_session("sim://", seconds, False, on_session=window.open)
        finally:
            window.close()

    summary = asyncio.run(run())
    assert window.stats is not None, window.error
    return summary, window.stats


def loop_with_window_thread(seconds: float) -> tuple[dict, dict]:
    """The design the window process replaced: the loop in a worker thread, the window in this process's main
    thread, fed from the session's tap (measured to show why)."""
    sessions: list[Session] = []
    made = threading.Event()
    result: dict[str, Any] = {}

    def on_session(session: Session) -> None:
        sessions.append(session)
        made.set()

    def loop() -> None:
        result.update(asyncio.run(run_session("sim://", seconds, False, on_session=on_session)))

    worker = threading.Thread(target=loop)
    worker.start()
    made.wait()
    session = sessions[0]
    tap = session.timeline.tap(65536)
    stats = run_live(Picture(session.profile), tap.drain, session.clock.now, title="bench", running=worker.is_alive,
                     close_when_done=True, seconds=seconds)  # fmt: skip
    worker.join()
    return result, asdict(stats)


def window_figures(stats: dict, process_cpu_s: float | None) -> dict[str, float]:
    draws = sorted(stats["draw_ms"])
    figures = {
        "fps": round(stats["frames"] / stats["wall_s"], 1),
        "draw_p50_ms": round(percentile(draws, 50), 2),
        "draw_p99_ms": round(percentile(draws, 99), 2),
        "gui_cpu_share_of_core": round(stats["gui_cpu_s"] / stats["wall_s"], 3),
    }
    if process_cpu_s is not None:  # the window shares this process
        figures["gui_share_of_process_cpu"] = round(stats["gui_cpu_s"] / process_cpu_s, 3)
    return figures


def loop_timing(seconds: float, rounds: int) -> dict[str, Any]:
    conditions = {
        "alone": loop_alone,
        "window process": loop_with_window_process,
        "window thread": loop_with_window_thread,
    }
    seen: dict[str, list[dict]] = {name: [] for name in conditions}
    for _ in range(rounds):
        for name, run in conditions.items():
            cpu0 = time.process_time()
            summary, stats = run(seconds)
            row = {**loop_figures(summary), "process_cpu_s": time.process_time() - cpu0}
            if stats is not None:
                shared = name == "window thread"
                row["window"] = window_figures(stats, row["process_cpu_s"] if shared else None)
            seen[name].append(row)
    result = {}
    for name, runs in seen.items():
        cpu_s = statistics.median(run["process_cpu_s"] for run in runs)
        result[name] = {**summarize_rounds(runs), "process_cpu_share": round(cpu_s / seconds, 3)}
        if "window" in runs[0]:
            result[name]["window"] = {
                key: statistics.median(run["window"][key] for run in runs) for key in runs[0]["window"]
            }
    against_alone(result)
    return result


def lesson_recording(folder: Path) -> Path:
    command = [
        sys.executable, "-m", "flutex.host.cli", "lesson", "first_lesson", "--device", "sim://?student=3&learner=quick",
        "--no-store", "--minutes", "0.4", "--sessions-dir", str(folder), "--quiet",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return next(folder.glob("*.mcap"))


def every_panel(path: Path, seconds: float) -> dict[str, Any]:
    picture = read_recorded(path).picture
    first = picture.attempts[0].t_s if picture.attempts else picture.start_s
    stats = run_replay(picture, title="bench", speed=1.0, start_s=first, seconds=seconds)
    figures = window_figures(asdict(stats), None)
    return {"recording": path.name, "seconds": seconds, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="each loop run's length (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each condition, interleaved (default 3)")
    parser.add_argument("--recording", type=Path, help="a lesson's recording to replay (default: made now)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        recording = args.recording or lesson_recording(Path(folder))
        results = {"every_panel": every_panel(recording, min(args.seconds, 20.0))}
    results["loop"] = loop_timing(args.seconds, args.rounds)
    if args.json:
        print(json.dumps(results))
        return
    panel = results["every_panel"]
    print(f"every panel ({panel['recording']} replayed at 1x for {panel['seconds']:g} s): {panel['fps']} fps, "
          f"draw p50 {panel['draw_p50_ms']} ms, p99 {panel['draw_p99_ms']} ms, "
          f"{panel['gui_cpu_share_of_core']:.0%} of a core")  # fmt: skip
    print(f"demo loop, {args.rounds} rounds of {args.seconds:g} s (medians; p99 range is the loop's own spread):")
    for name, row in results["loop"].items():
        print(f"  {name:14} loop p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms "
              f"(range {row['p99_range_ms'][0]:.1f}-{row['p99_range_ms'][1]:.1f}, x{row['p99_ratio']} of alone), "
              f"flute {row['flute_hz']} Hz, belt {row['belt_hz']} Hz, frames lost {row['frames_lost']}, "
              f"process CPU {row['process_cpu_share']:.0%} of a core")  # fmt: skip
        if "window" in row:
            window = row["window"]
            shared = window.get("gui_share_of_process_cpu")
            print(f"  {'':14} window {window['fps']} fps, draw p50 {window['draw_p50_ms']} ms, "
                  f"p99 {window['draw_p99_ms']} ms, GUI thread {window['gui_cpu_share_of_core']:.0%} of a core"
                  + ("" if shared is None else f" ({shared:.0%} of the loop process's CPU)"))  # fmt: skip


if __name__ == "__main__":
    main()
