"""`flutex pitch PATH`: the pitch track (or the notes) of an audio file, as CSV on stdout."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from flutex.audio.sources import FileSource
from flutex.errors import UsageError
from flutex.pitch.config import INSTRUMENTS
from flutex.pitch.notes import segment_notes
from flutex.pitch.prior import FingeringPrior
from flutex.pitch.tracker import track
from flutex.profile import InstrumentProfile

EPILOG = """\
output (default): one row per hop, header time_s,f0_hz,confidence; time_s is the centre of the analysis
window, f0_hz is 0 where the frame is unvoiced, confidence is the periodicity behind the voicing decision (0..1).
output (--notes): header onset_s,offset_s,midi,note,cents,stability_cents; cents is the median deviation
from equal temperament (A4 = 440 Hz), stability_cents the interquartile spread inside the note.

examples:
  flutex pitch take1.wav > take1.csv
  flutex pitch song.flac --instrument voice --notes
  flutex pitch take1.wav --fingering take1-fingering.csv   # octave prior from the haptic flute
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pitch",
        help="track the pitch of an audio file (CSV on stdout)",
        description="Track the pitch of an audio file (WAV, FLAC, OGG, ...) and print it as CSV.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="audio file; stereo is mixed to mono")
    parser.add_argument(
        "--instrument",
        choices=sorted(INSTRUMENTS),
        default="flute",
        help="sets pitch range and window: flute C4-C7 (23 ms latency), voice E2-C6 (35 ms); default flute",
    )
    parser.add_argument("--notes", action="store_true", help="print the note segmentation instead of frames")
    parser.add_argument(
        "--fingering",
        type=Path,
        metavar="FILE",
        help="CSV time_s,closed_mask,mouth_pa from the haptic flute, used as an octave prior",
    )
    parser.add_argument(
        "--profile",
        default="six_hole",
        metavar="NAME",
        help="instrument profile (fingering chart, overblow thresholds) for --fingering; default six_hole",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = FileSource(args.path)
    if args.fingering and args.instrument != "flute":
        raise UsageError("--fingering only makes sense with --instrument flute")
    prior = FingeringPrior.from_csv(args.fingering, load_profile(args.profile)) if args.fingering else None
    frames = track(source.read_all(), source.sample_rate_hz, INSTRUMENTS[args.instrument], prior)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if args.notes:
        writer.writerow(["onset_s", "offset_s", "midi", "note", "cents", "stability_cents"])
        for note in segment_notes(frames):
            writer.writerow(
                [
                    f"{note.onset_s:.4f}",
                    f"{note.offset_s:.4f}",
                    note.midi,
                    note.name,
                    f"{note.cents:.1f}",
                    f"{note.stability_cents:.1f}",
                ]
            )
        return 0
    writer.writerow(["time_s", "f0_hz", "confidence"])
    writer.writerows(
        (f"{t:.4f}", f"{f:.2f}", f"{c:.3f}")
        for t, f, c in zip(frames.time_s.tolist(), frames.f0_hz.tolist(), frames.confidence.tolist(), strict=True)
    )
    return 0


def load_profile(name: str) -> InstrumentProfile:
    try:
        return InstrumentProfile.load(name)
    except ValueError as error:
        raise UsageError(f"{error}; pick one with --profile") from None
