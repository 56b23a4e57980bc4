"""The lesson's own events on the session timeline: what each attempt was asked to be, the clicks the student
hears, and how it went. Plain frozen data like the session's events, so a recording keeps the lesson's story beside
the sensors' (which attempt, which guidance, at which tempo) and a replay can grade each attempt again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AttemptStarted:
    """Attempt `attempt` of the lesson: bars `first_bar`..`last_bar` at `bpm`, guidance `mode` at `force_permille`;
    its beat 0 (the span's first downbeat) is due at `beat0_s` on the timeline."""

    attempt: int
    first_bar: int
    last_bar: int
    mode: str
    force_permille: int
    bpm: float
    beat0_s: float
    probe: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class Click:
    """A metronome click due now: `beat` counts from 1 at the first count-in beat; `accent` on each bar's first."""

    beat: int
    accent: bool
    count_in: bool


@dataclass(frozen=True, slots=True)
class AttemptEnded:
    """How attempt `attempt` went: notes without an error of those graded, extra notes, the notes whose fingering
    the servos placed (`AttemptResult.placed_notes`), and whether the student asked for help during it."""

    attempt: int
    clean_notes: int
    notes: int
    extra_notes: int
    guided_notes: int
    help_requested: bool
