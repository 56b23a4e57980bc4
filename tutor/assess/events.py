"""The assessment's live events on the session timeline: where the student is, each rule's verdict on a note, each
note's grade, extra notes and finished segments.

Plain frozen data like the session's own events, so a recording stores them and a replay compares them bit for bit.
Each is published as a `Stamped` whose time is the moment its verdict became decidable (the 50 ms hold passed, the
note's steady part sounded), not the moment it was computed: the difference is the feedback latency.
"""

from __future__ import annotations

from dataclasses import dataclass

# The error names of the JSON, one per rule that can fail.
FINGERING, PITCH, OCTAVE, EARLY, LATE, MISSED, SHORT, NO_BREATH = (
    "fingering",
    "pitch",
    "octave",
    "early",
    "late",
    "missed",
    "short",
    "no_breath",
)
ERRORS = (FINGERING, PITCH, OCTAVE, EARLY, LATE, MISSED, SHORT, NO_BREATH)


@dataclass(frozen=True, slots=True)
class Position:
    """Where the student is: the score note (`index` into `Score.notes`, rests included) at `bar`, `beat`."""

    index: int
    bar: int
    beat: float


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """One rule decided for one note: `rule` is "fingering", "pitch", "timing", "duration", "breath" or
    "presence"; `error` is the error name when it failed (None: passed), `reason` what a student reads."""

    index: int
    rule: str
    error: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class NoteGraded:
    """Every rule of a note decided. `cents`: the steady pitch against the written note; `onset_error_s`: the onset
    against the follower's expectation (positive: late); None where the note was not played or not judged."""

    index: int
    bar: int
    beat: float
    midi: int
    errors: tuple[str, ...]
    reasons: tuple[str, ...]
    cents: float | None
    onset_error_s: float | None
    points: int  # rules passed ...
    possible: int  # ... of the rules judged


@dataclass(frozen=True, slots=True)
class ExtraNote:
    """A played note that stands for no score note, heard after score note `after_index` (-1: before the first)."""

    after_index: int
    midi: int
    reason: str


@dataclass(frozen=True, slots=True)
class SegmentFinished:
    """Every note of a segment graded: how many were clean (no error), and points won of those possible."""

    segment: int
    notes: int
    clean: int
    points: int
    possible: int

    @property
    def score(self) -> float:
        return self.points / self.possible if self.possible else 1.0
