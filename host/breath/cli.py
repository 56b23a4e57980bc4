"""`flutex breath FILE.csv`: breath phases, depths and abdominal shares of a recorded belt session."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path

from flutex.breath.analyser import BreathAnalyser, BreathReport, analyse
from flutex.breath.calibration import Calibration, CalibrationError, calibrate, calibrate_from_session
from flutex.breath.phases import PhaseChange
from flutex.breath.share import Inhale
from flutex.errors import UsageError
from flutex.events import BELT_CHANNELS, BeltSample, FluteSample

COLUMNS = ("t_s", *BELT_CHANNELS)
SEGMENT_FIELDS = ("t_start_s", "t_end_s", "phase", "depth", "abdominal_share")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "breath",
        help="analyse a recorded breath-belt CSV",
        description=(
            "Analyse a recorded belt session: one row per sample with columns "
            f"{','.join(COLUMNS)} (seconds, pascals) and optionally mouth_pa. Prints one CSV row per breath phase "
            "with the depth (1.0 = full breath) and abdominal share of each inhale, or everything as JSON."
        ),
    )
    parser.add_argument("file", type=Path, help="CSV file with a header row")
    parser.add_argument(
        "--rest-s",
        type=float,
        metavar="SECONDS",
        help="the recording starts with this many seconds of quiet breathing (guided calibration, with --full-s)",
    )
    parser.add_argument(
        "--full-s", type=float, metavar="SECONDS", help="followed by this many seconds of one full breath in and out"
    )
    parser.add_argument("--json", action="store_true", help="print calibration, phases, breaths and notes as JSON")
    parser.set_defaults(run=run)


def read_csv(path: Path) -> tuple[list[BeltSample], list[FluteSample]]:
    """Belt samples, and flute samples if the file has a mouth_pa column; UsageError on a bad file."""
    try:
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error
    missing = [c for c in COLUMNS if not rows or c not in rows[0]]
    if missing:
        raise UsageError(f"{path} needs a header with columns {','.join(COLUMNS)}; missing {','.join(missing)}")
    belt, flute = [], []
    try:
        for seq, row in enumerate(rows):
            t_s = float(row["t_s"])
            a, b, c, d = (float(row[name]) for name in BELT_CHANNELS)
            belt.append(BeltSample(t_s, seq, (a, b, c, d)))
            if row.get("mouth_pa"):
                flute.append(FluteSample(t_s, seq, 0, float(row["mouth_pa"])))
    except ValueError as error:
        raise UsageError(f"{path} row {seq + 2}: {error}") from error
    return belt, flute


def _calibration(belt: list[BeltSample], rest_s: float | None, full_s: float | None) -> Calibration:
    if (rest_s is None) != (full_s is None):
        raise UsageError("give both --rest-s and --full-s, or neither to calibrate from the whole recording")
    try:
        if rest_s is None or full_s is None:
            return calibrate_from_session(belt)
        t0 = belt[0].t_s if belt else 0.0
        rest = [s for s in belt if s.t_s < t0 + rest_s]
        full = [s for s in belt if t0 + rest_s <= s.t_s < t0 + rest_s + full_s]
        return calibrate(rest, full)
    except CalibrationError as error:
        raise UsageError(f"calibration failed: {error}") from error


def segments(report: BreathReport) -> list[dict[str, object]]:
    """One row per detected phase, from one change to the next; inhales carry their depth and share."""
    rows: list[dict[str, object]] = []
    for event in report.events:
        if isinstance(event, PhaseChange):
            if rows:
                rows[-1]["t_end_s"] = event.t_s
            rows.append(dict.fromkeys(SEGMENT_FIELDS, None) | {"t_start_s": event.t_s, "phase": str(event.phase)})
        elif isinstance(event, Inhale) and rows:
            rows[-1]["depth"] = round(event.depth, 3)
            share = event.abdominal_share
            rows[-1]["abdominal_share"] = None if share is None else round(share, 3)
    if rows and report.belt_t_s:
        rows[-1]["t_end_s"] = report.belt_t_s[-1]
    return rows


def run(args: argparse.Namespace) -> int:
    belt, flute = read_csv(args.file)
    report = analyse([*belt, *flute], BreathAnalyser(_calibration(belt, args.rest_s, args.full_s)))
    rows = segments(report)
    if args.json:
        events = [e for e in report.events if not isinstance(e, PhaseChange | Inhale)]
        out = {
            "calibration": asdict(report.calibration),
            "phases": rows,
            "breaths": [asdict(e) for e in report.of_type(Inhale)],
            "notes_and_phrases": [{"kind": type(e).__name__, **asdict(e)} for e in events],
        }
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0
    writer = csv.DictWriter(sys.stdout, SEGMENT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return 0
