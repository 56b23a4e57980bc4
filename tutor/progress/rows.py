"""Plain data going into the store: which plan a lesson followed, and one attempt with its decision and grades."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LessonPlanRef:
    """A lesson plan as the store knows it: `digest` (of the plan's text) tells edited plans apart, so mastery and
    review cards follow the plan's content, not its file name. `path` is matched against assignments as written."""

    title: str
    path: str
    digest: str


@dataclass(frozen=True)
class AttemptRow:
    """One attempt of a lesson: the schedule's decision (span, mode, force, tempo, probe, explanation) and what
    came of it (note counts, points, errors by name, notes the servos guided, the "help me" input), with every
    graded note's JSON in `grades`."""

    number: int  # 1-based in the lesson
    first_bar: int
    last_bar: int
    segments: tuple[int, int]  # plan segment indices, inclusive
    mode: str
    force_permille: int
    tempo_bpm: float
    probe: bool
    notes: int
    clean_notes: int
    points: int
    possible: int
    errors: dict[str, int]
    guided_notes: int
    help_requested: bool
    explanation: str | None
    grades: tuple[dict[str, Any], ...]

    @property
    def unguided(self) -> bool:
        """No note was pressed by the servos: the attempt shows what the student can do alone."""
        return self.guided_notes == 0
