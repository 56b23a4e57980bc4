"""Music as the virtual player reads it: notes in beats, a tempo, breath marks and rests.

Kept plain on purpose: a score model (or a test) builds a `Tune` from a list of `Note`s and hands it to the
player. Beats become seconds through the tempo, which may change at given beats.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Note:
    """One note of a tune; `midi` None is a rest. `breath_before` is a breath mark: breathe in before this note."""

    midi: int | None
    onset_beats: float
    duration_beats: float
    breath_before: bool = False

    @property
    def end_beats(self) -> float:
        return self.onset_beats + self.duration_beats


@dataclass(frozen=True, slots=True)
class Tune:
    """Notes in time order at `tempo_bpm`; `tempo_changes` are (beat, new bpm) pairs, in beat order."""

    notes: tuple[Note, ...]
    tempo_bpm: float
    tempo_changes: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not any(note.midi is not None for note in self.notes):
            raise ValueError("a tune needs at least one note that is not a rest")
        if any(note.duration_beats <= 0 or note.onset_beats < 0 for note in self.notes):
            raise ValueError("every note needs an onset >= 0 beats and a duration > 0 beats")
        if any(b.onset_beats < a.end_beats - 1e-9 for a, b in itertools.pairwise(self.notes)):
            raise ValueError("notes must come in time order without overlapping (the flute plays one at a time)")
        beats = [beat for beat, _ in self.tempo_changes]
        if beats != sorted(beats) or any(bpm <= 0 for _, bpm in ((0.0, self.tempo_bpm), *self.tempo_changes)):
            raise ValueError("tempi must be > 0 bpm and tempo changes come in beat order")

    @classmethod
    def from_seconds(cls, notes: Sequence[tuple[int | None, float]]) -> Tune:
        """Consecutive (MIDI note or None for a rest, seconds) pairs, at 60 bpm so that a beat is a second."""
        onsets = [0.0]
        for _, seconds in notes:
            onsets.append(onsets[-1] + seconds)
        return cls(tuple(Note(midi, onset, s) for (midi, s), onset in zip(notes, onsets, strict=False)), 60.0)

    @property
    def length_beats(self) -> float:
        return max(note.end_beats for note in self.notes)

    @property
    def duration_s(self) -> float:
        return self.seconds(self.length_beats)

    def seconds(self, beats: float) -> float:
        """Seconds from the tune's start to `beats`, through every tempo change before it."""
        marks = [(0.0, self.tempo_bpm), *self.tempo_changes]
        last = bisect.bisect_right([beat for beat, _ in marks], beats) - 1
        elapsed = sum((b1 - b0) * 60.0 / bpm for (b0, bpm), (b1, _) in itertools.pairwise(marks[: last + 1]))
        start, bpm = marks[last]
        return elapsed + (beats - start) * 60.0 / bpm


def default_tune() -> Tune:
    """A C major scale up over both registers of the six-hole flute, a breath mark at the top, down again, then a
    rest: every note a beat at 120 bpm."""
    up = (72, 74, 76, 77, 79, 81, 83, 84, 86, 88)
    down = (86, 84, 83, 81, 79, 77, 76, 74, 72)
    notes = [Note(midi, beat, 1.0) for beat, midi in enumerate(up)]
    notes += [Note(midi, len(up) + beat, 1.0, breath_before=beat == 0) for beat, midi in enumerate(down)]
    notes.append(Note(None, len(up) + len(down), 2.0))
    return Tune(tuple(notes), 120.0)
