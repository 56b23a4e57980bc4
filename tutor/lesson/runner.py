"""One lesson, attempt by attempt: the schedule decides, the student plays, the grader judges, guidance helps.

For each `Step` the schedule gives, the runner cuts the span out of the piece at the step's tempo, counts in (clicks
on the timeline), has the performer start (a person is told; the simulated student plays), grades every note as it
is played (`GradedTimeline`), guides through the session's haptics (`GuidanceController`; singing has none),
coaches breathing when the student sings, and hands the attempt's result back to the schedule and the store. At the
end the review scheduler rates each practised segment and says when it comes back. Nothing here talks to a
transport: the session and the performer are all it touches.

With a `LessonControl` the student steers (docs: the control's module): between attempts the runner waits out a
pause, plays the demos asked for, runs the repeats asked for (graded, reported and stored, never given to the
schedule: they are the student's choice, not the schedule's evidence), and applies the student's mode, force and
tempo to the schedule's step, which then judges the step as applied. A pause or stop during an attempt ends it at
once: the haptics are released and the attempt is discarded (neither given to the schedule nor stored).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flutex.host.breath.calibration import Calibration
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.events import HapticStatus, LinkLost
from flutex.host.session.events import Stamped
from flutex.host.session.session import Session
from flutex.tutor.assess.grader import Grader
from flutex.tutor.assess.live import GradedTimeline
from flutex.tutor.assess.report import PieceReport
from flutex.tutor.assess.rules import GradingRules
from flutex.tutor.lesson.breathing import BreathCoach, BreathFeedback
from flutex.tutor.lesson.control import LessonControl
from flutex.tutor.lesson.demo import Speaker, demonstrate
from flutex.tutor.lesson.events import (
    AttemptEnded,
    AttemptScore,
    AttemptStarted,
    LessonBegan,
    MasteryChanged,
    TargetNote,
)
from flutex.tutor.lesson.guidance import GuidanceController, HelpRequested
from flutex.tutor.lesson.metronome import clicks
from flutex.tutor.lesson.plan import LessonPlan
from flutex.tutor.lesson.policy import (
    AttemptResult,
    NoteOutcome,
    Schedule,
    Span,
    Step,
    force_for,
    schedule_for,
    segment_of,
)
from flutex.tutor.lesson.report import AttemptLine, LessonReport
from flutex.tutor.lesson.review import Reviews, rating_for
from flutex.tutor.lesson.span import SpanScore, cut
from flutex.tutor.progress.store import LessonPlanRef, Store
from flutex.tutor.score.fit import FittedScore

SETUP_S = 0.5  # from deciding an attempt to its first count-in click: time to say what comes
TAIL_S = 1.5  # listened to after the span's last written beat: a late last note still ends
POLL_S = 0.02  # the runner's loop: clicks fall on time to this much


class Performer(Protocol):
    """Who plays an attempt: a person at a real board is told what to play; the simulated student plays it."""

    def start(self, span: SpanScore, beat0_s: float, step: Step) -> None: ...

    def finished(self) -> dict[str, Any] | None:
        """After the attempt: what the simulator knows it played (its truth), None for a person."""
        ...


@dataclass
class LessonSetup:
    plan: LessonPlan
    plan_ref: LessonPlanRef
    fitted: FittedScore  # the whole piece, fitted to the board's instrument
    session: Session
    performer: Performer
    student: str
    device: str
    store: Store | None = None
    voice: bool = False
    breath_calibration: Calibration | None = None
    control: LessonControl | None = None  # the student's requests during the lesson (the action surface's)
    speaker: Speaker | None = None  # plays the demos' sound (None: demos press the fingers only)
    say: Callable[[str], None] = lambda _line: None  # a line for the student (explanations, results)
    on_event: Callable[[Stamped], None] = lambda _stamped: None  # graded notes, clicks, attempt ends, as they happen
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())  # wall time: reviews, store


class LessonRunner:
    def __init__(self, setup: LessonSetup) -> None:
        self.setup = setup
        passing = setup.plan.passing
        self.rules = dataclasses.replace(
            GradingRules.for_tolerance(passing.tolerance), timing_s=passing.timing_ms / 1e3
        )
        self._segment_of = segment_of(setup.plan, setup.fitted.score)
        self._help = False
        self._pedal_held = False
        self._lost: list[LinkLost] = []

    def request_help(self) -> None:
        """The "help me" input (a key, the board's pedal): guidance comes back for the rest of the attempt and the
        next."""
        self._help = True

    async def run(self) -> LessonReport:
        setup, plan = self.setup, self.setup.plan
        started = setup.now()
        store = setup.store
        prior = store.mastery(setup.student, setup.plan_ref.digest) if store else {}
        reviews = Reviews(
            store.cards(setup.student, setup.plan_ref.digest) if store else None, plan.review.desired_retention
        )
        due = reviews.due(started)
        schedule = schedule_for(plan, setup.fitted.score, prior, due)
        lesson_id = store.begin_lesson(setup.student, setup.plan_ref, setup.device, started) if store else None
        setup.session.timeline.add_listener(self._hear_board)
        self._publish(
            LessonBegan(
                plan.title,
                setup.fitted.score.title,
                setup.student,
                plan.guidance.policy,
                tuple((segment.first_bar, segment.last_bar) for segment in plan.segments),
                setup.voice,
            )
        )
        control = setup.control
        results: list[AttemptResult] = []  # the schedule's attempts only: the student's repeats rate no review
        lines: list[AttemptLine] = []
        breath: list[BreathFeedback] = []
        deadline = None if plan.minutes is None else setup.session.clock.now() + plan.minutes * 60.0
        while True:
            if control is not None:
                between_s = setup.session.clock.now()
                if not await self._between_attempts(control, schedule):
                    setup.say("stopped at the student's request: the lesson ends here")
                    break
                if deadline is not None:  # the plan's minutes are playing time: pauses and demos do not count
                    deadline += setup.session.clock.now() - between_s
            if deadline is not None and setup.session.clock.now() >= deadline:
                setup.say(f"time is up ({plan.minutes:g} min): the lesson ends here")
                break
            step = self._repeat_step(control, schedule) if control is not None else None
            user_directed = step is not None
            if step is None:
                planned = schedule.next()
                if planned is None:
                    break
                step = planned if control is None else control.apply(planned, plan.guidance.hint_force_permille)
            # numbered in the lesson (repeats included); the schedule gets its own number back
            played = await self._attempt(dataclasses.replace(step, attempt=len(lines) + 1), user_directed)
            if played is None:  # paused or stopped during it: discarded
                continue
            result, line, coached = played
            if not user_directed:
                schedule.record(dataclasses.replace(result, step=step))
                results.append(result)
                known = schedule.mastery()
                segments = range(len(plan.segments))
                self._publish(MasteryChanged(line.row.number, tuple(known.get(k, 0.0) for k in segments)))
            lines.append(line)
            setup.say(line.text())
            if coached is not None:
                breath.append(coached)
                for said in coached.lines():
                    setup.say(f"  {said}")
            if control is not None:
                control.attempt_finished(line)
                control.breath = coached
            if store is not None and lesson_id is not None:
                store.record_attempt(lesson_id, line.row)
        mastery = schedule.mastery()
        practised = sorted({s for r in results for s in range(r.step.span.first, r.step.span.last + 1)})
        review_lines = [
            reviews.review(segment, rating_for(results, segment, self._segment_of), setup.now(), _bars(plan, segment))
            for segment in practised
        ]
        report = LessonReport.build(plan, setup.student, lines, mastery, review_lines, breath, started, setup.now())
        if store is not None and lesson_id is not None:
            store.save_cards(setup.student, setup.plan_ref.digest, reviews.cards())
            store.finish_lesson(lesson_id, report.summary())
        if control is not None:
            control.report = report
        return report

    async def _between_attempts(self, control: LessonControl, schedule: Schedule) -> bool:
        """Between two attempts: wait out a pause, play the demos asked for; False when the student stopped."""
        while not control.stopped:
            await control.wait_if_paused()
            demo = control.next_demo()
            if control.stopped or demo is None:
                break
            bpm = self._bpm(self._tempo_now(control, schedule))
            shown = asyncio.ensure_future(
                demonstrate(
                    self.setup.session,
                    self.setup.fitted,
                    self._segment_of,
                    *demo,
                    bpm,
                    self.setup.speaker,
                    fingers=not self.setup.voice,
                )
            )
            interrupted = asyncio.ensure_future(control.wait_interrupted())
            await asyncio.wait((shown, interrupted), return_when=asyncio.FIRST_COMPLETED)
            interrupted.cancel()
            if not shown.done():
                shown.cancel()
                await asyncio.gather(shown, return_exceptions=True)
                self.setup.say("demo cut short")
                continue
            try:
                self.setup.say(shown.result())
            except UsageError as error:
                self.setup.say(str(error))
        return not control.stopped

    def _repeat_step(self, control: LessonControl, schedule: Schedule) -> Step | None:
        """The student's next repeat as a step (None when none is asked for, or its bars hold no note: said). The
        plan's start mode at the tempo the schedule would play next, then the student's overrides: a repeat is
        the student's own practice, so it starts from the plan's settings rather than any one segment's ladder."""
        while (bars := control.next_repeat()) is not None:
            first_bar, last_bar = bars
            notes = self.setup.fitted.score.notes
            segments = {k for i, k in self._segment_of.items() if first_bar <= notes[i].bar <= last_bar}
            if not segments:
                self.setup.say(f"bars {first_bar}-{last_bar} hold no note of the lesson's segments: not repeated")
                continue
            guidance = self.setup.plan.guidance
            span = Span(min(segments), max(segments), first_bar, last_bar)
            base = Step(
                span,
                guidance.start,
                force_for(guidance.start, guidance.hint_force_permille),
                self._tempo_now(None, schedule),
                0,
                explanation=f"{span.label}: again, as you asked",
            )
            applied = control.apply(base, guidance.hint_force_permille)
            return dataclasses.replace(applied, explanation=applied.explanation or base.explanation)
        return None

    def _tempo_now(self, control: LessonControl | None, schedule: Schedule) -> int:
        """The tempo (percent of the target) the lesson plays at now: the student's, else the schedule's next step's,
        else the target's."""
        chosen = control.overrides().get("tempo_percent") if control is not None else None
        upcoming = schedule.next()
        return chosen or (upcoming.tempo_percent if upcoming is not None else 100)

    def _bpm(self, tempo_percent: int) -> float:
        return self.setup.plan.tempo.bpm(tempo_percent, self.setup.fitted.score.tempos[0].bpm)

    async def _attempt(
        self, step: Step, user_directed: bool = False
    ) -> tuple[AttemptResult, AttemptLine, BreathFeedback | None] | None:
        """Run one attempt; None when the student paused or stopped during it (it is then discarded)."""
        setup, plan, session, control = self.setup, self.setup.plan, self.setup.session, self.setup.control
        timeline = session.timeline
        bpm = self._bpm(step.tempo_percent)
        span = cut(setup.fitted, self._segment_of, step.span.first_bar, step.span.last_bar, bpm)
        beat_s = 60.0 / bpm
        beat0_s = session.clock.now() + SETUP_S + plan.count_in_beats * beat_s
        timeline.publish(
            Stamped(
                session.clock.now(),
                AttemptStarted(
                    step.attempt,
                    step.span.first_bar,
                    step.span.last_bar,
                    step.mode,
                    step.force_permille,
                    bpm,
                    beat0_s,
                    step.probe,
                    step.explanation or "",
                ),
            )
        )
        timeline.publish(Stamped(session.clock.now(), AttemptScore(step.attempt, _targets(span, beat0_s))))
        setup.performer.start(span, beat0_s, step)
        passing = plan.passing  # a plan may leave fingerings (the sound alone) or breath marks unjudged
        judge_breath = passing.breath and setup.breath_calibration is not None
        fingerless = setup.voice or not passing.fingering
        grader = Grader(span.fitted, beat0_s, voice=fingerless, rules=self.rules, breath=judge_breath)
        graded = GradedTimeline(grader, timeline, setup.on_event)
        listeners = [timeline.add_listener(graded)]
        controller = None
        if not setup.voice:
            controller = GuidanceController(
                span.fitted,
                beat0_s,
                range(len(span.fitted.score.notes)),
                step.mode,
                step.force_permille,
                plan.guidance.lead_ms / 1e3,
                session.haptics,
                tolerance_s=self.rules.timing_s,
            )
            listeners.append(timeline.add_listener(controller))
        coach = BreathCoach(setup.breath_calibration, span.fitted.score, beat0_s) if setup.voice else None
        if coach is not None:
            listeners.append(timeline.add_listener(coach))
        score = span.fitted.score
        due = clicks(beat0_s, bpm, plan.count_in_beats, score.length_beats, score.beats_per_bar, plan.click)
        end_s = beat0_s + span.seconds + TAIL_S
        helped = interrupted = False
        if control is not None:
            control.current, control.current_bpm = step, bpm
        try:
            while session.clock.now() < end_s and not any(loss.final for loss in self._lost):
                if control is not None and control.interrupted:
                    interrupted = True
                    break
                now = session.clock.now()
                while due and due[0].t_s <= now:
                    click = due.pop(0)
                    stamped = Stamped(click.t_s, click.click)
                    timeline.publish(stamped)
                    setup.on_event(stamped)
                if self._help and setup.plan.guidance.help:
                    self._help, helped = False, True
                    timeline.publish(Stamped(now, HelpRequested()))  # the controller hears it there
                await asyncio.sleep(POLL_S)
        finally:
            for remove in listeners:
                remove()
            if controller is not None:
                session.haptics.release("cut short by the student" if interrupted else "attempt over")
            if control is not None:
                control.current = control.current_bpm = None
        if interrupted:
            setup.say(f"attempt {step.attempt} cut short: not counted")
            return None
        if any(loss.final for loss in self._lost):
            raise FlutexError(f"lost the board: {self._lost[-1].reason}")
        report = grader.finish()
        guided = controller.guided_notes() if controller is not None else frozenset()
        truth = setup.performer.finished()
        result = _result(step, span, report, guided, helped)
        clean = sum(not note.errors for note in result.notes)
        ended = Stamped(
            session.clock.now(),
            AttemptEnded(step.attempt, clean, len(result.notes), result.extra_notes, result.placed_notes, helped),
        )
        timeline.publish(ended)
        setup.on_event(ended)
        line = AttemptLine.build(step, bpm, span, report, result, truth, user_directed)
        return result, line, None if coach is None else coach.summary()

    def _publish(self, event: object) -> None:
        """Put one of the lesson's own events on the timeline (recorded with the rest), stamped now."""
        session = self.setup.session
        session.timeline.publish(Stamped(session.clock.now(), event))

    def _hear_board(self, stamped: Stamped) -> None:
        """A lost link ends the lesson; a press of the board's help-me pedal (its flag going up) asks for help."""
        event = stamped.event
        if isinstance(event, LinkLost):
            self._lost.append(event)
        elif isinstance(event, HapticStatus):
            if event.help_held and not self._pedal_held:
                self.request_help()
            self._pedal_held = event.help_held


def _result(step: Step, span: SpanScore, report: PieceReport, guided: frozenset[int], helped: bool) -> AttemptResult:
    """The attempt as the schedule reads it: every graded note by its index in the whole piece."""
    notes = tuple(
        NoteOutcome(span.original[grade.index], grade.errors, grade.index in guided) for grade in report.notes
    )
    return AttemptResult(step, notes, len(report.extra_notes), helped)


def _targets(span: SpanScore, beat0_s: float) -> tuple[TargetNote, ...]:
    """The span's sounding notes on the timeline, with their fingerings (-1 where the profile gives none)."""
    score = span.fitted.score
    return tuple(
        TargetNote(
            note.index,
            note.midi,
            beat0_s + score.seconds(note.onset_beats),
            beat0_s + score.seconds(note.end_beats),
            note.bar,
            note.beat,
            note.segment,
            -1 if (fingering := span.fitted.fingerings[note.index]) is None else fingering[0],
            note.breath_before,
        )
        for note in score.notes
        if note.midi is not None
    )


def _bars(plan: LessonPlan, segment: int) -> str:
    """The segment's bars as a student reads them ("bars 1-2")."""
    return Span(segment, segment, plan.segments[segment].first_bar, plan.segments[segment].last_bar).label


def attempt_seconds(count_in_beats: int, span: SpanScore) -> float:
    """How long an attempt at `span` takes a lesson, from deciding it to its last listened moment."""
    return SETUP_S + count_in_beats * 60.0 / span.bpm + span.seconds + TAIL_S
