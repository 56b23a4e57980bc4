"""Grading on sim://, against the virtual player's truth: per error kind precision and recall, a clean play-through,
the follower's position, onset accuracy, feedback latency, and live == replayed.

    python benchmarks/grading.py                      # 2 seeds per profile, one piece each, 10% errors
    python benchmarks/grading.py --seeds 20 --rate 0.1 --pieces six_hole:twinkle_twinkle boehm:amazing_grace

Each run is one real-time `flutex listen` (the piece's length plus about 4 s), then `flutex assess` of its recording.
The pieces here are not the ones the tests play (frere_jacques), and nothing in the grader was tuned on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from flutex.host.commands.assess import assess, recorded_lesson
from flutex.host.commands.listen import listen
from flutex.host.link.timing import percentile
from flutex.host.session.events import RECORDED_TYPES, NoteStarted, Stamped
from flutex.host.session.playback import Recording
from flutex.tutor.assess.events import ERRORS, RuleVerdict

DEFAULT_PIECES = ("six_hole:twinkle_twinkle", "boehm:old_hundredth")
ONSET_MATCH_S = 0.1  # a detected onset this close to a true one is that note's


class Run:
    """One live play-through: its result, the wall time each rule verdict was published, and the recording."""

    def __init__(self, result: dict[str, Any], published: list[tuple[float, Stamped]]) -> None:
        self.result = result
        self.published = published


async def live(piece: str, profile: str, seed: int, rate: float, folder: Path) -> Run:
    published: list[tuple[float, Stamped]] = []
    url = f"sim://?profile={profile}&seed={seed}&errors={rate}"
    result = await listen(
        piece, url, transpose="auto", recordings=folder, feedback=lambda s: published.append((time.monotonic(), s))
    )
    return Run(result, published)


def detection(runs: list[Run]) -> dict[str, dict[str, float | None]]:
    """Precision and recall per error kind (and for extra notes), over every note of every run."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in (*ERRORS, "extra")}
    for run in runs:
        truth = {note["index"]: set(note["errors"]) for note in run.result["truth"]["notes"]}
        for note in run.result["notes"]:
            found, real = set(note["errors"]), truth[note["index"]]
            for kind in ERRORS:
                counts[kind][
                    "tp"
                    if kind in found and kind in real
                    else "fp"
                    if kind in found
                    else "fn"
                    if kind in real
                    else "tn"
                ] += 1
        played = Counter((extra["after_index"], extra["midi"]) for extra in run.result["truth"]["extra_notes"])
        heard = Counter((extra["after_index"], extra["midi"]) for extra in run.result["extra_notes"])
        counts["extra"]["tp"] += sum((played & heard).values())
        counts["extra"]["fp"] += sum((heard - played).values())
        counts["extra"]["fn"] += sum((played - heard).values())
    return {kind: _precision_recall(c) for kind, c in counts.items()}


def _precision_recall(c: Counter[str]) -> dict[str, float | None]:
    found, real = c["tp"] + c["fp"], c["tp"] + c["fn"]
    return {
        "precision": round(c["tp"] / found, 4) if found else None,
        "recall": round(c["tp"] / real, 4) if real else None,
        "true": real,
        "reported": found,
    }


def onsets_and_latency(run: Run) -> tuple[list[float], list[float], list[float]]:
    """Detected minus true onset per played note (s); fingering verdict latency after the rule could decide (ms);
    pitch verdict latency after the note's true onset (ms)."""
    path = Path(run.result["recording"])
    recording = Recording(path, event_types=RECORDED_TYPES)
    assert recording.info is not None
    origin_s = recording.info.origin_ns / 1e9
    start_s = recorded_lesson(path).start_s
    detected = sorted(stamped.t_s for stamped in recording if isinstance(stamped.event, NoteStarted))
    true_onsets = {n["index"]: start_s + n["onset_s"] for n in run.result["truth"]["notes"] if n["onset_s"] is not None}
    errors = []
    for true_s in true_onsets.values():
        nearest = min(detected, key=lambda t: abs(t - true_s), default=None)
        if nearest is not None and abs(nearest - true_s) <= ONSET_MATCH_S:
            errors.append(nearest - true_s)
    fingering, pitch = [], []
    for wall_s, stamped in run.published:
        event = stamped.event
        if isinstance(event, RuleVerdict) and event.rule == "fingering":
            fingering.append((wall_s - origin_s - stamped.t_s) * 1000)
        elif isinstance(event, RuleVerdict) and event.rule == "pitch" and event.index in true_onsets:
            pitch.append((wall_s - origin_s - true_onsets[event.index]) * 1000)
    return errors, fingering, pitch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.1, help="errors=R on the sim:// URL")
    parser.add_argument("--pieces", nargs="+", default=DEFAULT_PIECES, metavar="PROFILE:PIECE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flutex-grading-") as folder:
        for entry in args.pieces:
            profile, piece = entry.split(":")
            runs, clean_runs, same = [], [], 0
            for seed in range(args.seeds):
                runs.append(asyncio.run(live(piece, profile, seed, args.rate, Path(folder))))
                again = assess(Path(runs[-1].result["recording"]))
                same += json.dumps(again) == json.dumps(runs[-1].result)
                clean_runs.append(asyncio.run(live(piece, profile, seed, 0.0, Path(folder))))
            report(profile, piece, args, runs, clean_runs, same)


def report(profile: str, piece: str, args: argparse.Namespace, runs: list[Run], clean: list[Run], same: int) -> None:
    print(f"{profile} / {piece}: {args.seeds} seeds at errors={args.rate}, and {args.seeds} clean")
    for kind, figures in detection(runs).items():
        print(
            f"  {kind:10s} precision {figures['precision']}  recall {figures['recall']}  "
            f"({figures['true']} true, {figures['reported']} reported)"
        )
    notes = [note for run in clean for note in run.result["notes"]]
    without = sum(not note["errors"] for note in notes)
    print(f"  clean play-through: {without / len(notes):.2%} of {len(notes)} notes without errors")
    played = [
        (note, truth)
        for run in runs
        for note, truth in zip(run.result["notes"], run.result["truth"]["notes"], strict=True)
        if truth["onset_s"] is not None
    ]
    followed = sum("missed" not in note["errors"] for note, _ in played)
    print(f"  follower: {followed / len(played):.2%} of {len(played)} played notes found (not called missed)")
    onsets, fingering, pitch = [], [], []
    for run in runs + clean:
        o, f, p = onsets_and_latency(run)
        onsets += o
        fingering += f
        pitch += p
    absolute = sorted(abs(e) * 1000 for e in onsets)
    if absolute:
        print(
            f"  onset error |detected - true|: median {statistics.median(absolute):.1f} ms, "
            f"p95 {percentile(absolute, 95):.1f} ms over {len(absolute)} notes"
        )
    for name, values in (
        ("fingering verdict after it could decide", fingering),
        ("pitch verdict after the true onset", pitch),
    ):
        values = sorted(values)
        if values:
            print(
                f"  {name}: p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
                f"p99 {percentile(values, 99):.1f} ms ({len(values)})"
            )
    print(f"  live == replayed (JSON bytes): {same} of {len(runs)}")


if __name__ == "__main__":
    main()
