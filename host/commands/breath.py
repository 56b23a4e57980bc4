"""`flutex breath FILE.csv`: breath phases, depths and abdominal shares of a recorded belt session."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path

from flutex.host.breath.analyser import BreathAnalyser, BreathReport, analyse
from flutex.host.breath.belt_csv import COLUMNS, read_csv
from flutex.host.breath.calibration import Calibration, CalibrationError, calibrate, calibrate_from_session
from flutex.host.breath.phases import BELT_RATE_HZ, PhaseChange
from flutex.host.breath.phrases import PhraseStart
from flutex.host.breath.quality import judge
from flutex.host.breath.share import Flicker, Inhale
from flutex.host.breath.support import HeldNote
from flutex.host.errors import UsageError
from flutex.host.link.events import BeltSample

SEGMENT_FIELDS = ("t_start_s", "t_end_s", "phase", "depth", "abdominal_share")


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Analyse a recorded belt session: one row per sample with columns "
        f"{','.join(COLUMNS)} (seconds, pascals) and optionally mouth_pa, in time order, at least 20 rows; "
        f"a belt at another steady rate than {BELT_RATE_HZ:g} Hz is resampled to it. Prints one CSV row per breath "
        "phase with the depth (1.0 = full breath) and abdominal share of each inhale, or everything as JSON "
        "(with a signal-quality verdict; without --json a poor recording is reported on stderr)."
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
    """One row per phase, from one change to the next; breaths carry their depth and share.

    A phase that turned out to be a `Flicker` (an inhale that was no breath, or its way back down) is folded into
    the row before it, or at the very start into the row after it; one that continued a breath after a dip takes
    the dip back into that breath's row. So the list shows the breaths a tutor counts.
    """
    rows: list[dict[str, object]] = []
    own_row = False  # whether the phase in progress opened the last row (else it went on in one a fold left open)
    for event in report.events:
        if isinstance(event, PhaseChange):
            if rows:
                rows[-1]["t_end_s"] = event.t_s
            own_row = not rows or rows[-1]["phase"] not in (None, str(event.phase))
            if own_row:
                rows.append(dict.fromkeys(SEGMENT_FIELDS, None) | {"t_start_s": event.t_s, "phase": str(event.phase)})
            else:
                rows[-1]["phase"] = str(event.phase)
        elif isinstance(event, Inhale) and rows:
            rows[-1]["depth"] = round(event.depth, 3)
            share = event.abdominal_share
            rows[-1]["abdominal_share"] = None if share is None else round(share, 3)
        elif isinstance(event, Flicker) and own_row:
            _fold(rows, event.continues)
    if rows and report.belt_t_s:
        rows[-1]["t_end_s"] = report.belt_t_s[-1]
    return rows


def _fold(rows: list[dict[str, object]], continues: bool) -> None:
    """Take back the last row, a flicker's; one that continues a breath also takes back the dip before it."""
    if len(rows) == 1:
        rows[-1]["phase"] = None  # the next change names it
        return
    rows.pop()
    if continues and any(row["phase"] == "inhale" for row in rows):
        while rows[-1]["phase"] != "inhale":
            rows.pop()


def run(args: argparse.Namespace) -> int:
    recording = read_csv(args.file)
    belt = recording.belt
    report = analyse([*belt, *recording.flute], BreathAnalyser(_calibration(belt, args.rest_s, args.full_s)))
    rows = segments(report)
    span_s = report.belt_t_s[-1] - report.belt_t_s[0] if report.belt_t_s else 0.0
    quality = judge(report.of_type(Inhale), span_s)
    if args.json:
        events = [e for e in report.events if isinstance(e, HeldNote | PhraseStart)]
        out = {
            "calibration": asdict(report.calibration),
            "rate_hz": round(recording.rate_hz, 3),
            "quality": asdict(quality),
            "phases": rows,
            "breaths": [asdict(e) for e in report.of_type(Inhale)],
            "notes_and_phrases": [{"kind": type(e).__name__, **asdict(e)} for e in events],
        }
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0
    if not quality.breathing:
        print(f"flutex: warning: {args.file}: {quality.reason}", file=sys.stderr)
    writer = csv.DictWriter(sys.stdout, SEGMENT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return 0
