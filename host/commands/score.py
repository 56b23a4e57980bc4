"""`flutex score FILE|NAME`: a score as the tutor reads it, fitted to an instrument: bars, beats, notes, fingerings,
and the notes the instrument cannot play (exit 1 when there are any)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from flutex.host.commands.arguments import positive_int, transpose

if TYPE_CHECKING:
    from flutex.tutor.score.fit import FittedScore


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Read a score (MusicXML .musicxml/.xml/.mxl, MIDI .mid/.midi, ABC .abc, or a library piece by name: see "
        "`flutex scores`) and fit it to an instrument: each note with its bar, beat and fingering. Exits 1 and lists "
        "the notes the instrument cannot play; --transpose auto finds the smallest shift that fits (docs/scores.md)."
    )
    parser.add_argument("score", metavar="FILE|NAME", help="a score file, or the name of a library piece")
    parser.add_argument("--part", type=positive_int, default=None, help="which part (1-based) of a multi-part file")
    parser.add_argument("--profile", default="six_hole", help="instrument profile: six_hole (default) or boehm")
    parser.add_argument(
        "--transpose",
        type=transpose,
        default=0,
        help="semitones to move every note (e.g. -2), or 'auto' for the smallest shift that fits (default 0)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, last line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from flutex.hardware.instrument import InstrumentProfile
    from flutex.host.errors import UsageError
    from flutex.tutor.score.fit import fit
    from flutex.tutor.score.library import resolve
    from flutex.tutor.score.load import load_score

    try:
        profile = InstrumentProfile.load(args.profile)
    except ValueError as error:
        raise UsageError(str(error)) from None
    fitted = fit(load_score(resolve(args.score), part=args.part), profile, args.transpose, strict=False)
    print(json.dumps(_as_json(args.score, fitted)) if args.json else _as_text(fitted))
    return 1 if fitted.unplayable else 0


def _holes(fitted: FittedScore, mask: int) -> list[str]:
    return [hole for bit, hole in enumerate(fitted.profile.holes) if mask >> bit & 1]


def _as_json(name: str, fitted: FittedScore) -> dict[str, Any]:
    from flutex.tutor.score.fit import note_name

    score = fitted.score
    notes = []
    for note, fingering in zip(score.notes, fitted.fingerings, strict=True):
        row: dict[str, Any] = {
            "index": note.index,
            "bar": note.bar,
            "beat": note.beat,
            "midi": note.midi,
            "name": None if note.midi is None else note_name(note.midi),
            "onset_beats": note.onset_beats,
            "duration_beats": note.duration_beats,
            "onset_s": round(score.onset_s(note), 6),
            "breath_before": note.breath_before,
            "segment": note.segment,
            "closed": None if fingering is None else _holes(fitted, fingering[0]),
            "overblown": None if fingering is None else fingering[1],
        }
        notes.append(row)
    return {
        "score": name,
        "title": score.title,
        "composer": score.composer,
        "key": score.key,
        "profile": fitted.profile.name,
        "transpose": fitted.transpose,
        "time_signature": f"{score.beats_per_bar:g}/{score.beat_unit}",
        "tempos": [{"beat": tempo.beat, "bpm": tempo.bpm} for tempo in score.tempos],
        "bars": score.bars,
        "segments": [{"index": s.index, "first_bar": s.first_bar, "last_bar": s.last_bar} for s in score.segments],
        "warnings": list(score.warnings),
        "notes": notes,
        "unplayable": [{"index": n.index, "bar": n.bar, "beat": n.beat, "midi": n.midi} for n in fitted.unplayable],
    }


def _as_text(fitted: FittedScore) -> str:
    from flutex.tutor.score.fit import describe_unplayable, note_name

    score = fitted.score
    tempo = ", ".join(f"{t.bpm:g} bpm from beat {t.beat:g}" for t in score.tempos)
    lines = [
        f"{score.title}" + (f" ({score.composer})" if score.composer else ""),
        f"{score.key or 'no key signature'}, {score.beats_per_bar:g}/{score.beat_unit}, {score.bars} bars, {tempo}",
        f"profile {fitted.profile.name}, transposed {fitted.transpose:+d} semitones",
        *(f"warning: {warning}" for warning in score.warnings),
    ]
    for note, fingering in zip(score.notes, fitted.fingerings, strict=True):
        if note.segment and note.index and score.notes[note.index - 1].segment != note.segment:
            lines.append(f"-- segment {note.segment + 1}")
        breath = "(breath) " if note.breath_before else ""
        if note.midi is None:
            what = "rest"
        elif fingering is None:
            what = f"{note_name(note.midi):4} UNPLAYABLE"
        else:
            closed = " ".join(_holes(fitted, fingering[0])) or "all open"
            what = f"{note_name(note.midi):4} {closed}" + (" (overblown)" if fingering[1] else "")
        lines.append(f"bar {note.bar:>3}, beat {note.beat:<5g} {note.duration_beats:>5g} beats  {breath}{what}")
    if fitted.unplayable:
        lines.append(describe_unplayable(score, fitted.profile, fitted.transpose, fitted.unplayable))
    return "\n".join(lines)
