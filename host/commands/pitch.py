"""`flutex pitch PATH`: the pitch track (or the notes) of an audio file, as CSV on stdout."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.sources import DamagedAudioError, FileSource
from flutex.host.errors import UsageError
from flutex.host.pitch.config import INSTRUMENTS
from flutex.host.pitch.notes import Note, NoteSegmenter
from flutex.host.pitch.prior import FingeringPrior
from flutex.host.pitch.tracker import PitchFrames, PitchTracker

EPILOG = """\
output (default): one row per hop, header time_s,f0_hz,confidence; time_s is the centre of the analysis
window, f0_hz is 0 where the frame is unvoiced, confidence is the periodicity behind the voicing decision (0..1).
output (--notes): header onset_s,offset_s,midi,note,cents,stability_cents; cents is the median deviation
from equal temperament (A4 = 440 Hz), stability_cents the interquartile spread inside the note.

A damaged file (cut off, or corrupt part-way) prints everything decoded before the damage, then one error line
saying where decoding stopped, and exits with status 2. Long files are read piece by piece: memory stays flat.

examples:
  flutex pitch take1.wav > take1.csv
  flutex pitch song.flac --instrument voice --notes
  flutex pitch take1.wav --fingering take1-fingering.csv   # octave prior from the haptic flute
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = "Track the pitch of an audio file (WAV, FLAC, OGG, ...) and print it as CSV."
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("path", type=Path, metavar="PATH", help="audio file; stereo is mixed to mono")
    parser.add_argument(
        "--instrument",
        choices=sorted(INSTRUMENTS),
        default="flute",
        help=(
            "sets pitch range and window: "
            + ", ".join(INSTRUMENTS[name].describe() for name in sorted(INSTRUMENTS))
            + " at 44.1 kHz; default flute"
        ),
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
    if args.fingering and args.instrument != "flute":
        raise UsageError("--fingering only makes sense with --instrument flute")
    source = FileSource(args.path)
    prior = FingeringPrior.from_csv(args.fingering, load_profile(args.profile)) if args.fingering else None
    tracker = PitchTracker(INSTRUMENTS[args.instrument], source.sample_rate_hz, prior)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if args.notes:
        writer.writerow(["onset_s", "offset_s", "midi", "note", "cents", "stability_cents"])
        segmenter = NoteSegmenter(tracker.hop / source.sample_rate_hz)

        def emit(frames: PitchFrames) -> None:
            write_notes(writer, segmenter.push(frames))

        def finish() -> None:
            write_notes(writer, segmenter.finish())

    else:
        writer.writerow(["time_s", "f0_hz", "confidence"])

        def emit(frames: PitchFrames) -> None:
            write_frames(writer, frames)

        def finish() -> None:
            pass

    try:
        for frames in stream_frames(source, tracker):
            emit(frames)
    except DamagedAudioError:
        finish()  # everything decoded before the damage is out before the error line
        sys.stdout.flush()
        raise
    finish()
    return 0


def stream_frames(source: FileSource, tracker: PitchTracker) -> Iterator[PitchFrames]:
    """The frames of a file as it is decoded, piece by piece (memory stays flat whatever its length): exactly the
    frames `track` gives on the whole signal. If the file is damaged part-way, the frames of everything decoded
    before the damage come out first, then the `DamagedAudioError` (which says where decoding stopped)."""
    decoded = 0
    damage: DamagedAudioError | None = None
    try:
        for chunk in source.chunks():
            decoded += len(chunk)
            frames = tracker.process(chunk)
            yield PitchFrames(*(column[frames.time_s >= 0] for column in frames))
    except DamagedAudioError as error:
        damage = error
    frames = tracker.flush()
    keep = (frames.time_s >= 0) & (frames.time_s <= decoded / source.sample_rate_hz)
    yield PitchFrames(*(column[keep] for column in frames))
    if damage is not None:
        raise damage


def write_frames(writer: Any, frames: PitchFrames) -> None:
    writer.writerows(
        (f"{t:.4f}", f"{f:.2f}", f"{c:.3f}")
        for t, f, c in zip(frames.time_s.tolist(), frames.f0_hz.tolist(), frames.confidence.tolist(), strict=True)
    )


def write_notes(writer: Any, notes: list[Note]) -> None:
    writer.writerows(
        [
            f"{note.onset_s:.4f}",
            f"{note.offset_s:.4f}",
            note.midi,
            note.name,
            f"{note.cents:.1f}",
            f"{note.stability_cents:.1f}",
        ]
        for note in notes
    )


def load_profile(name: str) -> InstrumentProfile:
    try:
        return InstrumentProfile.load(name)
    except ValueError as error:
        raise UsageError(f"{error}; pick one with --profile") from None
