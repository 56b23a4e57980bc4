"""One lesson for one simulated learner without audio or firmware: the study's fast path.

The tutor's own schedule (`schedule_for`) decides every attempt exactly as in `flutex lesson`; the span is cut from
the piece as the lesson runner cuts it; the learner's slips are played by the virtual player's `perform()`; the
grades are the performance's truth (what a correct grader reports, `performance_truth`); the guided notes follow the
guidance controller's own rule (`needs_press`) on the fingers the player holds at lead time and at onset + timing
tolerance. What is skipped is rendering sound, tracking pitch and running the board: the parts whose job is to
recover exactly this truth, which the full-stack faithfulness test checks they do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from flutex.sim.learner import Learner, items_of, places_finger, realised
from flutex.sim.music import Tune
from flutex.sim.performance import LEAD_IN_S, Performance, Tolerances
from flutex.sim.student import music_of
from flutex.sim.truth import performance_truth
from flutex.tutor.assess.rules import GradingRules
from flutex.tutor.lesson.guidance import needs_press
from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE, CORRECTIVE, FREE
from flutex.tutor.lesson.plan import LessonPlan
from flutex.tutor.lesson.policy import AttemptResult, NoteOutcome, Span, Step, schedule_for, segment_of
from flutex.tutor.lesson.runner import attempt_seconds
from flutex.tutor.lesson.span import SpanScore, cut
from flutex.tutor.score.fit import FittedScore

NO_GUIDANCE = "free"  # the study's third arm: the dynamic schedule with guidance never on


@dataclass(frozen=True)
class FastLesson:
    """One lesson's attempts as the schedule saw them, the unguided probes after it, and the schedule's mastery."""

    results: tuple[AttemptResult, ...]
    probes: tuple[AttemptResult, ...]
    mastery: dict[int, float]
    seconds: float  # lesson time the attempts would take at a real board


class _Lesson:
    """Plays steps for one learner on one day; every attempt's performance seed comes from one seeded generator."""

    def __init__(self, plan: LessonPlan, fitted: FittedScore, learner: Learner, day: float, seed: int) -> None:
        self.plan, self.fitted, self.learner, self.day = plan, fitted, learner, day
        rules = GradingRules.for_tolerance(plan.passing.tolerance)
        self.tolerances = Tolerances(plan.passing.timing_ms / 1e3, rules.pitch_cents)
        self.segment_of = segment_of(plan, fitted.score)
        self.seed = seed
        self.attempts = 0
        self.seconds = 0.0

    def play(self, step: Step) -> AttemptResult:
        bpm = self.plan.tempo.bpm(step.tempo_percent, self.fitted.score.tempos[0].bpm)
        span = cut(self.fitted, self.segment_of, step.span.first_bar, step.span.last_bar, bpm)
        tune = tune_of(span)
        items = items_of(tune)
        wanted = self.learner.mistakes_for(items, step.mode, step.force_permille, self.day)
        self.attempts += 1
        seed = self.seed + self.attempts  # as the full stack's simulated student seeds its attempts
        _, performance = realised(tune, self.fitted.profile, wanted, seed, self.tolerances)
        truth = performance_truth(tune, performance)
        pressed = self._pressed(step, span, tune, performance)
        placed = places_finger(step.mode, step.force_permille) or step.mode == CORRECTIVE
        self.learner.practised([(item, index in pressed and placed) for index, item in items], self.day)
        notes = tuple(
            NoteOutcome(span.original[note["index"]], tuple(note["errors"]), note["index"] in pressed)
            for note in truth["notes"]
        )
        self.seconds += attempt_seconds(self.plan.count_in_beats, span)
        return AttemptResult(step, notes, len(truth["extra_notes"]))

    def _pressed(self, step: Step, span: SpanScore, tune: Tune, performance: Performance) -> frozenset[int]:
        """The notes the guidance controller would press: its rule on the fingers held `lead_ms` before each
        written onset and at onset + the timing tolerance, a press lasting to its note's written end (in
        CORRECTIVE it lets go as the fingering matches, before the next note's check)."""
        lead_s = self.plan.guidance.lead_ms / 1e3
        pressed: set[int] = set()
        held_until = -1.0  # the written end of the note being pressed
        for index, note in enumerate(tune.notes):
            fingering = span.fitted.fingerings[index]
            if note.midi is None or fingering is None:
                continue
            onset = LEAD_IN_S + tune.seconds(note.onset_beats)
            before = held_mask(performance, onset - lead_s)
            at_check = held_mask(performance, onset + self.tolerances.timing_s)
            check_s = onset + self.tolerances.timing_s if step.mode == CORRECTIVE else onset - lead_s
            closes = step.force_permille >= CLOSES_HOLE_PERMILLE  # a felt hint hides nothing of the fingers
            pressing = step.mode != CORRECTIVE and closes and check_s < held_until
            if needs_press(step.mode, fingering[0], before, at_check, pressing):
                pressed.add(index)
                held_until = LEAD_IN_S + tune.seconds(note.end_beats)
        return frozenset(pressed)

    def probe(self, segment: int, attempt: int) -> AttemptResult:
        """One unguided pass of a plan segment at the target tempo: the study's measure."""
        bars = self.plan.segments[segment]
        span = Span(segment, segment, bars.first_bar, bars.last_bar)
        return self.play(Step(span, FREE, 0, 100, attempt, probe=True))


def tune_of(span: SpanScore) -> Tune:
    """The cut score as the virtual player reads it, at the span's tempo."""
    notes = [(note.midi, note.onset_beats, note.duration_beats, note.breath_before) for note in span.fitted.score.notes]
    return music_of(notes, ((0.0, span.bpm),))  # as the full stack's student reads the lesson's plain tune


def held_mask(performance: Performance, t_s: float) -> int:
    """The holes the player's fingers close at `t_s` (pass time), as the virtual player holds them: the fingering
    of the first note not yet ended (before a note and through a rest the fingers are already on the next), the
    last note's after the end."""
    for note in performance.notes:
        if note.end_s > t_s:
            return note.mask
    return performance.notes[-1].mask


def run_lesson_fast(
    plan: LessonPlan,
    fitted: FittedScore,
    learner: Learner,
    day: float,
    seed: int,
    prior: dict[int, float] | None = None,
    due: Sequence[int] = (),
) -> FastLesson:
    """One lesson of `plan` on the whole fitted piece for `learner` on `day`, as `flutex lesson` would run it
    (stopping at the plan's minutes), then one unguided probe of every plan segment."""
    lesson = _Lesson(plan, fitted, learner, day, seed)
    schedule = schedule_for(plan, fitted.score, prior, due)
    results = []
    budget = None if plan.minutes is None else plan.minutes * 60.0
    while (budget is None or lesson.seconds < budget) and (step := schedule.next()) is not None:
        result = lesson.play(step)
        schedule.record(result)
        results.append(result)
    attempts = len(results)
    probes = tuple(lesson.probe(segment, attempts + 1 + segment) for segment in range(len(plan.segments)))
    return FastLesson(tuple(results), probes, schedule.mastery(), lesson.seconds)


def probe_all(
    plan: LessonPlan, fitted: FittedScore, learner: Learner, day: float, seed: int
) -> tuple[AttemptResult, ...]:
    """Unguided probes of every plan segment on `day`, with no lesson before them (a baseline or a delayed test)."""
    lesson = _Lesson(plan, fitted, learner, day, seed)
    return tuple(lesson.probe(segment, segment + 1) for segment in range(len(plan.segments)))


def with_policy(plan: LessonPlan, policy: str) -> LessonPlan:
    """The plan taught by `policy` ("static" or "dynamic"), all else the same; "free": the dynamic schedule with no
    guidance at all (its only mode FREE), the study's no-guidance arm."""
    if policy == NO_GUIDANCE:
        guidance = dataclasses.replace(plan.guidance, policy="dynamic", modes=(FREE,), start=FREE)
    else:
        guidance = dataclasses.replace(plan.guidance, policy=policy)
    return dataclasses.replace(plan, guidance=guidance)
