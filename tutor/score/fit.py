"""Fit a score to an instrument: every note gets the profile's fingering, or is reported as unplayable.

`transpose="auto"` finds the smallest shift (in absolute semitones) that makes every note playable; between an
equal shift up and down it takes the one up, because the lowest notes of both flutes (the six-hole flute's bottom
C, the Boehm flute's low D) are the hardest to sound cleanly for a beginner.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from flutex.hardware.instrument import InstrumentProfile
from flutex.tutor.score.load import ScoreError
from flutex.tutor.score.model import Score, ScoreNote

Transpose = int | Literal["auto"]


class Unplayable(ScoreError):
    """Notes the instrument cannot play, each named by bar and beat."""

    exit_code = 1

    def __init__(self, message: str, notes: tuple[ScoreNote, ...]) -> None:
        super().__init__(message)
        self.notes = notes


@dataclass(frozen=True)
class FittedScore:
    score: Score  # transposed
    profile: InstrumentProfile
    transpose: int  # semitones added to every note
    fingerings: tuple[tuple[int, bool] | None, ...]  # per note of `score.notes`: (closed mask, overblown); None: rest
    unplayable: tuple[ScoreNote, ...] = ()  # (transposed) notes without a fingering


def note_name(midi: int) -> str:
    """Scientific pitch name, sharps for black keys: 60 is "C4"."""
    return f"{('C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'G#', 'A', 'Bb', 'B')[midi % 12]}{midi // 12 - 1}"


def fit(score: Score, profile: InstrumentProfile, transpose: Transpose = 0, strict: bool = True) -> FittedScore:
    """The score moved by `transpose` semitones ("auto": the smallest shift that makes it playable) with every
    note's fingering. With `strict`, raises Unplayable listing the notes without a fingering (and, for "auto",
    when no shift fits); otherwise they are listed in `unplayable`."""
    shift = _auto_shift(score, profile) if transpose == "auto" else transpose
    moved = _transposed(score, shift)
    playable = set(profile.playable)
    unplayable = tuple(note for note in moved.sounding if note.midi not in playable)
    if unplayable and strict:
        raise Unplayable(describe_unplayable(moved, profile, shift, unplayable), unplayable)
    fingerings = tuple(
        profile.fingering_for(note.midi) if note.midi is not None and note.midi in playable else None
        for note in moved.notes
    )
    return FittedScore(moved, profile, shift, fingerings, unplayable)


def _auto_shift(score: Score, profile: InstrumentProfile) -> int:
    pitches = {note.midi for note in score.sounding if note.midi is not None}
    playable = set(profile.playable)
    low, high = min(profile.playable), max(profile.playable)
    candidates = range(low - min(pitches), high - max(pitches) + 1)  # the shifts that keep the range inside
    fitting = [shift for shift in candidates if {midi + shift for midi in pitches} <= playable]
    if not fitting:
        span = max(pitches) - min(pitches)
        why = (
            f"it spans {span} semitones, the instrument {high - low}"
            if span > high - low
            else "no shift puts every note on a fingering the instrument has"
        )
        raise Unplayable(f"{score.source or score.title}: no transposition fits the {profile.name} profile: {why}", ())
    return min(fitting, key=lambda shift: (abs(shift), -shift))


def _transposed(score: Score, shift: int) -> Score:
    if shift == 0:
        return score
    notes = tuple(
        note if note.midi is None else dataclasses.replace(note, midi=note.midi + shift) for note in score.notes
    )
    return dataclasses.replace(score, notes=notes)


def describe_unplayable(score: Score, profile: InstrumentProfile, shift: int, notes: tuple[ScoreNote, ...]) -> str:
    """One line naming the notes without a fingering (the first dozen) by bar and beat, and what to try."""
    shown = "; ".join(f"{note.where}: {note_name(note.midi or 0)}" for note in notes[:12])
    more = f" (and {len(notes) - 12} more)" if len(notes) > 12 else ""
    moved = f" transposed by {shift:+d}" if shift else ""
    low, high = note_name(min(profile.playable)), note_name(max(profile.playable))
    return (
        f"{score.source or score.title}{moved}: {len(notes)} note(s) the {profile.name} profile ({low} to {high}) "
        f"cannot play: {shown}{more}; try --transpose auto"
    )
