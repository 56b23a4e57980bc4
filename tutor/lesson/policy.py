"""The schedule inside one lesson: which bars to play next, with how much guidance, at what tempo.

Two policies share one interface (`Schedule`): the dynamic one fades guidance as the student succeeds and brings it
back when errors return (the guidance hypothesis: help that is never withdrawn breeds dependence; the challenge point:
keep each attempt just hard enough), and the static one is the NIME 2019 paper's baseline (always fully guided, a
fixed number of attempts, then one unguided probe). Both are pure and deterministic: no clock, no randomness, so the
live lesson and the fast-path study run the very same decisions. docs/teaching.md explains every rule.

Mastery counts unguided attempts only: a guided pass shows what the machine can do, not what the student can.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE, CORRECTIVE, FREE, FULL_FORCE, GUIDED, HINT, MODES
from flutex.tutor.score.model import Score

if TYPE_CHECKING:
    from flutex.tutor.lesson.plan import LessonPlan

MASTERED = 1.0  # a segment's mastery when it is mastered: every one of its last `mastery_passes` unguided passes clean
PRIOR_MASTERED = 0.8  # prior mastery from earlier days at or above which a segment starts without guidance
FAILS_TO_RESTART = 2  # unguided failed attempts in a row that send a segment back to the plan's start mode
# A guided attempt with at most this many slipped notes (and no extra note) still takes guidance one step away: the
# servos place the fingers but cannot fix timing or tone, so under guidance a slip or so says the task is easy
# enough, and the challenge point (Guadagnoli & Lee 2004) is to take help away then, not to wait for perfection.
GUIDED_SLIPS = 1


@dataclass(frozen=True)
class Span:
    """What one attempt practises: consecutive plan segments chained (indices inclusive) and their bars."""

    first: int
    last: int
    first_bar: int
    last_bar: int

    @property
    def label(self) -> str:
        return f"bar {self.first_bar}" if self.first_bar == self.last_bar else f"bars {self.first_bar}-{self.last_bar}"

    @property
    def segments(self) -> range:
        return range(self.first, self.last + 1)


@dataclass(frozen=True)
class Step:
    """The schedule's decision for the next attempt (attempt: 1-based in the lesson)."""

    span: Span
    mode: str
    force_permille: int
    tempo_percent: int
    attempt: int
    probe: bool = False  # an unguided test pass (study probes; review openers; the lesson's closing whole)
    explanation: str | None = None  # one line for the student, set only when the span, mode, force or tempo changes


@dataclass(frozen=True)
class NoteOutcome:
    """One graded note of an attempt: its index in the whole piece's `Score.notes`, its errors, whether guided."""

    index: int
    errors: tuple[str, ...]
    guided: bool


@dataclass(frozen=True)
class AttemptResult:
    step: Step
    notes: tuple[NoteOutcome, ...]
    extra_notes: int = 0
    help_requested: bool = False

    @property
    def clean(self) -> bool:
        """No note error and no extra note."""
        return self.extra_notes == 0 and not any(note.errors for note in self.notes)

    @property
    def unguided(self) -> bool:
        """No note was guided: mode FREE, a CORRECTIVE that never engaged, or a HINT too weak to close a hole (unless
        the student asked for help: the rest of the attempt was then fully guided)."""
        return unguided(self.step, self.notes, self.help_requested)

    @property
    def placed_notes(self) -> int:
        """Notes whose fingering the servos placed (pressed hard enough to close a hole): what the store and the
        report count as guided; 0 exactly when the attempt was `unguided`."""
        return 0 if self.unguided else sum(note.guided for note in self.notes)


def unguided(step: Step, notes: Sequence[NoteOutcome], help_requested: bool = False) -> bool:
    """Whether these notes of an attempt were the student's own work: none was pressed by a force that closes a
    hole. A help request turns the rest of an attempt into full guidance, whatever the step's mode."""
    force = FULL_FORCE if help_requested else step.force_permille
    return force < CLOSES_HOLE_PERMILLE or not any(note.guided for note in notes)


class Schedule(Protocol):
    def next(self) -> Step | None:
        """The next attempt (the same one until it is recorded); None: the lesson is over."""

    def record(self, result: AttemptResult) -> None:
        """The outcome of the step `next()` gave, or of that step as applied with the student's mode, force or
        tempo (same attempt and span): the schedule judges what really happened."""

    def mastery(self) -> dict[int, float]:
        """Per plan segment, 0..1, from unguided attempts only (see `MasteryWindows`)."""


def schedule_for(
    plan: LessonPlan, score: Score, prior: dict[int, float] | None = None, due: Sequence[int] = ()
) -> Schedule:
    """The plan's policy ("dynamic" or "static") for this score; `prior`: mastery carried from earlier days;
    `due`: segments the review scheduler wants probed first (the static baseline ignores both, as in the paper)."""
    if plan.guidance.policy == "dynamic":
        return DynamicSchedule(plan, score, prior, due)
    if plan.guidance.policy == "static":
        return StaticSchedule(plan, score, prior)
    raise ValueError(f"unknown guidance policy {plan.guidance.policy!r}: use 'dynamic' or 'static'")


@dataclass(frozen=True)
class _Judged:
    """One attempt seen from one plan segment: its notes there, and what they say."""

    clean: bool
    unguided: bool
    wrong: int  # notes with an error
    extra: int  # extra notes of the attempt (not attributable to a segment, so counted against each)


def segment_of(plan: LessonPlan, score: Score) -> dict[int, int]:
    """Note index in `score.notes` -> the plan segment whose bars hold it (notes outside every segment are absent)."""
    bars = [(segment.first_bar, segment.last_bar) for segment in plan.segments]
    return {note.index: k for note in score.notes for k, (first, last) in enumerate(bars) if first <= note.bar <= last}


class _Piece:
    """The plan's segments on the score: spans by segment indices, and each attempt judged per segment."""

    def __init__(self, plan: LessonPlan, score: Score) -> None:
        self.bars = tuple((segment.first_bar, segment.last_bar) for segment in plan.segments)
        if not self.bars:
            raise ValueError(f"the plan {plan.title!r} has no segments to practise")
        self.segment_of = segment_of(plan, score)
        self.tempo, self.score_bpm = plan.tempo, score.tempos[0].bpm

    def span(self, first: int, last: int) -> Span:
        return Span(first, last, self.bars[first][0], self.bars[last][1])

    @property
    def whole(self) -> Span:
        return self.span(0, len(self.bars) - 1)

    def judged(self, result: AttemptResult) -> dict[int, _Judged]:
        by_segment: dict[int, list[NoteOutcome]] = {k: [] for k in result.step.span.segments}
        for note in result.notes:
            k = self.segment_of.get(note.index)
            if k in by_segment:
                by_segment[k].append(note)
        judged = {}
        for k, notes in by_segment.items():
            wrong = sum(1 for note in notes if note.errors)
            judged[k] = _Judged(
                wrong == 0 and result.extra_notes == 0,
                unguided(result.step, notes, result.help_requested),
                wrong,
                result.extra_notes,
            )
        return judged

    def bpm(self, tempo_percent: int) -> int:
        return round(self.tempo.bpm(tempo_percent, self.score_bpm))


class MasteryWindows:
    """Mastery per segment: the share of clean passes among its last `passes` unguided attempts (a missing attempt
    counts as not clean), so a segment is mastered when its last `passes` unguided attempts were all clean.

    A window rather than an all-time rate because the recent attempts are what predict tomorrow: old mistakes stop
    counting once the student has played the bars right `passes` times, and a student cannot bank early luck. Guided
    attempts never enter (they measure the machine). A segment not played unguided today keeps its prior."""

    def __init__(self, segments: int, passes: int, prior: dict[int, float] | None) -> None:
        self.passes = max(1, passes)
        self.windows: dict[int, deque[bool]] = {k: deque(maxlen=self.passes) for k in range(segments)}
        self.prior = dict(prior or {})

    def add(self, judged: dict[int, _Judged]) -> None:
        for k, seen in judged.items():
            if seen.unguided:
                self.windows[k].append(seen.clean)

    def mastered(self, k: int) -> bool:
        """Mastered today (the prior does not count: a segment is shown again before it is trusted)."""
        return self.windows[k].count(True) == self.passes

    def values(self) -> dict[int, float]:
        return {
            k: window.count(True) / self.passes if window else self.prior.get(k, 0.0)
            for k, window in self.windows.items()
        }


def force_for(mode: str, hint_force: int) -> int:
    """A mode's press force: full for guided and corrective, `hint_force` for a hint, none for free play."""
    return {GUIDED: FULL_FORCE, CORRECTIVE: FULL_FORCE, HINT: hint_force}.get(mode, 0)


def _same_attempt(applied: Step, planned: Step) -> bool:
    """Whether `applied` is the attempt `planned`, maybe with the student's mode, force or tempo instead of the
    schedule's (`LessonControl.apply`): the schedules then judge what really happened, the applied step."""
    return (applied.attempt, applied.span, applied.probe) == (planned.attempt, planned.span, planned.probe)


def _mode_words(mode: str, force_permille: int) -> str:
    if mode == HINT:
        return f"a hint at {force_permille / 10:g}% force"
    return {GUIDED: "full guidance", CORRECTIVE: "corrections only", FREE: "guidance off"}[mode]


def _helps_more(before: Step, after: Step) -> bool:
    """Whether `after` gives more help than `before` (a lower rung, or a stronger hint)."""
    rung = MODES.index
    if after.mode == before.mode:
        return after.force_permille > before.force_permille
    return rung(after.mode) < rung(before.mode)


def explain(piece: _Piece, before: Step | None, after: Step, reason: str | None) -> str | None:
    """The student's line for `after`, or None when nothing they would notice changed since `before`."""
    setting = (after.mode, after.force_permille, after.tempo_percent)
    if (
        before is not None
        and before.span == after.span
        and (before.mode, before.force_permille, before.tempo_percent) == setting
    ):
        return None
    bpm = f"{piece.bpm(after.tempo_percent)} bpm"
    if before is None or before.span != after.span:
        together = "now together, " if after.span.first != after.span.last else ""
        parts = [together + _mode_words(after.mode, after.force_permille), bpm]
    else:
        parts = []
        if (before.mode, before.force_permille) != (after.mode, after.force_permille):
            words = _mode_words(after.mode, after.force_permille)
            if _helps_more(before, after):
                words = f"guidance back on ({words})" if before.mode == FREE else f"more help ({words})"
            parts.append(words)
        if before.tempo_percent != after.tempo_percent:
            parts.append(("faster, " if after.tempo_percent > before.tempo_percent else "slower, ") + bpm)
    line = f"{after.span.label}: {', '.join(parts)}"
    return f"{line}: {reason}" if reason else line


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _mistakes(seen: _Judged) -> str:
    """What went wrong, in words: "2 notes wrong", "1 extra note", or both."""
    said = [f"{_plural(seen.wrong, 'note')} wrong"] if seen.wrong else []
    return ", ".join(said + ([_plural(seen.extra, "extra note")] if seen.extra else []))


@dataclass
class _Ladder:
    """One segment's place on the guidance ladder, its tempo and its counts in this lesson."""

    rung: int  # index into the plan's allowed modes, most help first
    hint_force: int
    tempo: int  # percent of the target tempo
    attempts: int = 0  # practice attempts on it alone (probes and chains do not use up its budget)
    fails_in_row: int = 0  # unguided failed attempts in a row
    clean_in_row: int = 0


@dataclass
class _Planned:
    step: Step
    kind: str  # "probe" (due review opener), "practice", "chain", "whole" (the closing pass)


class DynamicSchedule:
    """Adaptive and fading: each segment climbs the plan's ladder of modes (most help first) as the student plays
    it right, slips back a rung when unguided errors return, and is mastered by clean unguided passes; mastered
    segments chain into longer spans; the tempo ramps with success. See docs/teaching.md."""

    def __init__(
        self, plan: LessonPlan, score: Score, prior: dict[int, float] | None = None, due: Sequence[int] = ()
    ) -> None:
        self.plan = plan
        self.piece = _Piece(plan, score)
        count = len(self.piece.bars)
        self.modes = tuple(mode for mode in MODES if mode in plan.guidance.modes)
        if plan.guidance.start not in self.modes:
            raise ValueError(f"the start mode {plan.guidance.start!r} is not among the plan's modes {self.modes}")
        if plan.guidance.advance not in ("never", "always", "perfect"):
            raise ValueError(f"unknown advance rule {plan.guidance.advance!r}: use never, always or perfect")
        self.start_rung = self.modes.index(plan.guidance.start)
        ramp = plan.tempo
        start_tempo = min(100, max(ramp.floor_percent, ramp.start_percent))
        prior = dict(prior or {})
        self.ladders = [
            _Ladder(
                len(self.modes) - 1 if prior.get(k, 0.0) >= PRIOR_MASTERED else self.start_rung,
                plan.guidance.hint_force_permille,
                start_tempo,
            )
            for k in range(count)
        ]
        self.windows = MasteryWindows(count, plan.passing.mastery_passes, prior)
        for k in due:
            if not 0 <= k < count:
                raise ValueError(f"due segment {k} is not one of the plan's {count} segments (0..{count - 1})")
        self.queue: list[tuple[str, Span]] = [("probe", self.piece.span(k, k)) for k in dict.fromkeys(due)]
        self.focus = 0  # the segment practised next under the "always" rule (round robin)
        self.recorded = 0
        self.last: Step | None = None
        self.reasons: dict[int, str] = {}  # per segment: why its setting last changed, said with the next step
        self.whole_played = False
        self.planned: _Planned | None = None

    # -- the decision -------------------------------------------------------------------------------------------

    def next(self) -> Step | None:
        if self.planned is None:
            self.planned = self._plan_next()
        return self.planned.step if self.planned else None

    def _plan_next(self) -> _Planned | None:
        if self.queue:
            kind, span = self.queue[0]
            return self._planned(kind, span, self.modes[-1], probe=kind == "probe")
        k = self._practised_next()
        if k is not None:
            ladder = self.ladders[k]
            return self._planned("practice", self.piece.span(k, k), self.modes[ladder.rung])
        if not self.whole_played:
            return self._planned("whole", self.piece.whole, self.modes[-1], probe=True)
        return None

    def _planned(self, kind: str, span: Span, mode: str, probe: bool = False) -> _Planned:
        ladders = [self.ladders[k] for k in span.segments]
        hint_force = ladders[0].hint_force if kind == "practice" else self.plan.guidance.hint_force_permille
        step = Step(
            span, mode, force_for(mode, hint_force), min(ladder.tempo for ladder in ladders), self.recorded + 1, probe
        )
        reason = self._reason(kind, span)
        return _Planned(replace(step, explanation=explain(self.piece, self.last, step, reason)), kind)

    def _reason(self, kind: str, span: Span) -> str | None:
        if kind == "probe":
            return "due for review, from memory"
        if kind == "chain":
            return "you know each part, now play them in one go"
        if kind == "whole":
            return "the whole lesson once more, from memory"
        return self.reasons.get(span.first)

    def _done(self, k: int) -> bool:
        """Finished for this lesson: its attempt budget is spent, or (unless the rule is "never") it is mastered."""
        spent = self.ladders[k].attempts >= self.plan.guidance.max_attempts
        return spent or (self.plan.guidance.advance != "never" and self.windows.mastered(k))

    def _practised_next(self) -> int | None:
        """The segment to practise: the first unfinished one in order ("never", "perfect"), or, under "always", the
        next unfinished one after the last practised, round robin."""
        open_segments = [k for k in range(len(self.ladders)) if not self._done(k)]
        if not open_segments:
            return None
        if self.plan.guidance.advance == "always":
            return next((k for k in open_segments if k >= self.focus), open_segments[0])
        return open_segments[0]

    # -- the outcome --------------------------------------------------------------------------------------------

    def record(self, result: AttemptResult) -> None:
        planned = self.planned
        if planned is None or not _same_attempt(result.step, planned.step):
            raise ValueError("record() takes the result of the step next() returned, once")
        done_before = {k for k in range(len(self.ladders)) if self._done(k)}
        judged = self.piece.judged(result)
        self.windows.add(judged)
        help_live = result.help_requested and self.plan.guidance.help
        for k, seen in judged.items():
            self._climb(k, seen, help_live)
        if planned.kind == "practice":
            k = result.step.span.first
            self.ladders[k].attempts += 1
            self.focus = k + 1
        elif planned.kind == "whole":
            self.whole_played = True
        else:
            self.queue.pop(0)
        for k in range(len(self.ladders)):
            if k not in done_before and self._done(k) and self.windows.mastered(k):
                self._chain_to(k)
        self.recorded += 1
        self.last = result.step
        self.planned = None

    def _climb(self, k: int, seen: _Judged, help_live: bool) -> None:
        """Move segment k on its ladder and its tempo after an attempt, and note why for the next explanation."""
        ladder, guidance, ramp = self.ladders[k], self.plan.guidance, self.plan.tempo
        if help_live:
            ladder.rung, ladder.hint_force = 0, guidance.hint_force_permille
            ladder.fails_in_row = ladder.clean_in_row = 0
            self.reasons[k] = "you asked for help"
        elif seen.clean:
            ladder.clean_in_row += 1
            ladder.fails_in_row = 0
            ladder.tempo = min(100, ladder.tempo + ramp.step_percent)
            self._lighter(ladder)
            times = "" if ladder.clean_in_row == 1 else f" {ladder.clean_in_row} times"
            self.reasons[k] = f"you played them right{times}"
        elif not seen.unguided and seen.wrong <= GUIDED_SLIPS and not seen.extra:
            ladder.clean_in_row = ladder.fails_in_row = 0
            self._lighter(ladder)
            self.reasons[k] = "with help you played them nearly right"
        elif seen.unguided:
            ladder.clean_in_row = 0
            ladder.fails_in_row += 1
            ladder.tempo = max(ramp.floor_percent, ladder.tempo - ramp.step_percent)
            wrong = _mistakes(seen)
            if ladder.fails_in_row >= FAILS_TO_RESTART:
                ladder.rung, ladder.hint_force, ladder.fails_in_row = self.start_rung, guidance.hint_force_permille, 0
                self.reasons[k] = f"{wrong}, wrong twice in a row without help"
            else:
                self._heavier(ladder)
                self.reasons[k] = wrong
        else:  # a guided attempt with several errors: the guidance was on and still not enough; try the same again
            ladder.clean_in_row = ladder.fails_in_row = 0
            self.reasons.pop(k, None)

    def _lighter(self, ladder: _Ladder) -> None:
        """One rung toward FREE; a hint first weakens step by step until it no longer closes a hole."""
        guidance = self.plan.guidance
        weaker = ladder.hint_force - guidance.hint_step_permille
        mode = self.modes[ladder.rung]
        if mode == HINT and ladder.hint_force >= CLOSES_HOLE_PERMILLE and 0 < weaker < ladder.hint_force:
            ladder.hint_force = weaker
        elif ladder.rung < len(self.modes) - 1:
            ladder.rung += 1
            ladder.hint_force = guidance.hint_force_permille

    def _heavier(self, ladder: _Ladder) -> None:
        """One rung back toward GUIDED; a weakened hint first gets one step stronger."""
        guidance = self.plan.guidance
        stronger = ladder.hint_force + guidance.hint_step_permille
        if (
            self.modes[ladder.rung] == HINT
            and stronger <= guidance.hint_force_permille
            and guidance.hint_step_permille > 0
        ):
            ladder.hint_force = stronger
        elif ladder.rung > 0:
            ladder.rung -= 1
            ladder.hint_force = guidance.hint_force_permille

    def _chain_to(self, k: int) -> None:
        """Queue the run of mastered segments ending at k as one span, unless it is a single segment or the closing
        whole is about to play the same bars anyway."""
        first = k
        while first > 0 and self.windows.mastered(first - 1):
            first -= 1
        span = self.piece.span(first, k)
        closing = all(self._done(j) for j in range(len(self.ladders)))
        if first < k and not (closing and span == self.piece.whole):
            self.queue.append(("chain", span))

    def mastery(self) -> dict[int, float]:
        return self.windows.values()


class StaticSchedule:
    """The paper's static condition: each segment in order, `max_attempts` attempts fully guided at the target tempo,
    then one unguided probe; then the whole once unguided. Nothing adapts (help changes nothing: the guidance is
    already full). A plan that does not allow GUIDED gets its most helpful allowed mode instead."""

    def __init__(self, plan: LessonPlan, score: Score, prior: dict[int, float] | None = None) -> None:
        self.piece = _Piece(plan, score)
        modes = tuple(mode for mode in MODES if mode in plan.guidance.modes)
        helped, alone = modes[0], modes[-1]
        guided_force = force_for(helped, FULL_FORCE)
        alone_force = force_for(alone, plan.guidance.hint_force_permille)
        reps = max(1, plan.guidance.max_attempts)
        planned: list[tuple[Span, str, int, bool, str]] = []
        for k in range(len(self.piece.bars)):
            span = self.piece.span(k, k)
            planned += [(span, helped, guided_force, False, f"practise them {reps} times")] * reps
            planned.append((span, alone, alone_force, True, "now from memory"))
        whole = self.piece.whole
        planned.append((whole, alone, alone_force, True, "the whole, from memory"))
        self.steps: list[Step] = []
        for number, (span, mode, force, probe, reason) in enumerate(planned, start=1):
            step = Step(span, mode, force, 100, number, probe)
            before = self.steps[-1] if self.steps else None
            self.steps.append(replace(step, explanation=explain(self.piece, before, step, reason)))
        self.windows = MasteryWindows(len(self.piece.bars), plan.passing.mastery_passes, prior)
        self.recorded = 0

    def next(self) -> Step | None:
        return self.steps[self.recorded] if self.recorded < len(self.steps) else None

    def record(self, result: AttemptResult) -> None:
        planned = self.next()
        if planned is None or not _same_attempt(result.step, planned):
            raise ValueError("record() takes the result of the step next() returned, once")
        self.windows.add(self.piece.judged(result))
        self.recorded += 1

    def mastery(self) -> dict[int, float]:
        return self.windows.values()


__all__ = [
    "AttemptResult",
    "DynamicSchedule",
    "MasteryWindows",
    "NoteOutcome",
    "Schedule",
    "Span",
    "StaticSchedule",
    "Step",
    "force_for",
    "schedule_for",
    "segment_of",
    "unguided",
]
