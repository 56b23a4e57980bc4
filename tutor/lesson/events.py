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


@dataclass(frozen=True, slots=True)
class LessonBegan:
    """A lesson began: its plan's `title`, the piece, whose it is, the schedule's `policy`, the plan's segments as
    (first bar, last bar), and whether it is sung. Published once, first, so a replay knows what it shows."""

    title: str
    piece: str
    student: str
    policy: str
    segments: tuple[tuple[int, int], ...]
    sung: bool


@dataclass(frozen=True, slots=True)
class TargetNote:
    """One written note of an attempt, placed on the timeline at the attempt's tempo: `index` is its place in the
    attempt's score (as `NoteGraded.index` and `Position.index` count), `closed_mask` the fingering the instrument's
    profile gives it (-1: none, when sung), `breath_before` a breath mark before it."""

    index: int
    midi: int
    onset_s: float
    end_s: float
    bar: int
    beat: float
    segment: int
    closed_mask: int
    breath_before: bool


@dataclass(frozen=True, slots=True)
class AttemptScore:
    """The notes attempt `attempt` asks for, on the timeline (rests left out): what a view draws the pitch over and
    the fingering against. Published right after its `AttemptStarted`."""

    attempt: int
    notes: tuple[TargetNote, ...]


@dataclass(frozen=True, slots=True)
class MasteryChanged:
    """After attempt `attempt` was given to the schedule: each plan segment's mastery, 0..1, in the plan's order."""

    attempt: int
    mastery: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One line of the conversation with Flute X GPT during the lesson: `speaker` is "student" or "tutor". On the
    timeline with the rest, so a replay shows what was said when, beside what was played."""

    speaker: str
    text: str
