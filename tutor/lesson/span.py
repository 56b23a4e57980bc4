"""The stretch of a piece one attempt practises: bars cut out of the fitted score, at the attempt's tempo.

An attempt is graded, guided and played against this cut score alone, so its beat 0 is the first beat of its first
bar and its tempo is the step's (one tempo: the ramp's percent of the plan's target). Notes keep their bar and beat
labels ("bar 5, beat 2" stays true for the student) and are tagged with the plan segment they belong to, so the
grader's per-segment scores are the plan's segments; `original` maps each cut note back to the whole piece.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from flutex.tutor.score.fit import FittedScore
from flutex.tutor.score.model import TempoChange


@dataclass(frozen=True)
class SpanScore:
    fitted: FittedScore  # the cut score, fitted like the whole piece (same profile, same transposition)
    original: tuple[int, ...]  # per note of the cut score: its index in the whole piece's `Score.notes`
    bpm: float

    @property
    def seconds(self) -> float:
        """How long the span lasts from beat 0 to its last note's written end."""
        return self.fitted.score.seconds(self.fitted.score.length_beats)


def cut(fitted: FittedScore, segment_of: Mapping[int, int], first_bar: int, last_bar: int, bpm: float) -> SpanScore:
    """Bars `first_bar`..`last_bar` of `fitted` at `bpm` (quarter notes per minute); `segment_of` maps a note's index
    in the whole piece to its plan segment (`flutex.tutor.lesson.policy.segment_of`), so each note is tagged with it."""
    if not 0.0 < bpm <= 400.0:
        raise ValueError(f"a tempo of {bpm} bpm is outside (0, 400]")
    score = fitted.score
    chosen = [note for note in score.notes if first_bar <= note.bar <= last_bar]
    if not chosen:
        raise ValueError(f"bars {first_bar}-{last_bar} hold no note of {score.title}")
    # beat 0 is the downbeat of `first_bar`, even when the bar opens with a pickup's rest or a tie's tail
    origin = chosen[0].onset_beats - (chosen[0].beat - 1.0) * 4.0 / score.beat_unit
    notes = tuple(
        dataclasses.replace(note, index=k, onset_beats=note.onset_beats - origin, segment=segment_of.get(note.index, 0))
        for k, note in enumerate(chosen)
    )
    moved = dataclasses.replace(score, notes=notes, tempos=(TempoChange(0.0, bpm),), segments=())
    fingerings = tuple(fitted.fingerings[note.index] for note in chosen)
    span = dataclasses.replace(fitted, score=moved, fingerings=fingerings, unplayable=())
    return SpanScore(span, tuple(note.index for note in chosen), bpm)
