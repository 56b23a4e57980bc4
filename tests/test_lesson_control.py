"""The student steering a lesson through `LessonControl`: overrides from the next attempt, pause and stop at once,
repeats beside the schedule, demos between attempts. `apply` is tested alone; the rest on the simulated stack
(sim://?student=SEED), with one- and two-bar plans at 120 bpm so each attempt lasts about five seconds."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from test_lesson import simulated_lesson

from flutex.host.commands.listen import load_fitted
from flutex.host.errors import UsageError
from flutex.host.session.events import HapticPress, HapticRelease, Stamped
from flutex.tutor.lesson.control import LessonControl
from flutex.tutor.lesson.events import AttemptEnded, AttemptStarted, Click
from flutex.tutor.lesson.modes import CORRECTIVE, FREE, FULL_FORCE, GUIDED, HINT
from flutex.tutor.lesson.plan import LessonPlan, PlanSegment, load_plan, resolve_plan
from flutex.tutor.lesson.policy import AttemptResult, NoteOutcome, Span, Step, schedule_for
from flutex.tutor.lesson.report import LessonReport
from flutex.tutor.lesson.runner import LessonRunner
from flutex.tutor.progress.store import open_store

HINT_FORCE = 450
URL = "sim://?student=3&learner=quick"


def _step(mode: str = GUIDED, force: int = FULL_FORCE, tempo: int = 80) -> Step:
    return Step(Span(0, 0, 1, 2), mode, force, tempo, 1, explanation="bars 1-2: full guidance, 96 bpm")


# -- apply, alone ---------------------------------------------------------------------------------------------------


def test_without_overrides_the_schedule_step_goes_through_unchanged() -> None:
    assert LessonControl().apply(_step(), HINT_FORCE) == _step()


@pytest.mark.parametrize(
    ("mode", "planned", "expected"),
    [
        (HINT, _step(), (HINT, HINT_FORCE)),  # the plan's hint force
        (HINT, _step(HINT, 300), (HINT, 300)),  # a hint keeps the schedule's (faded) force
        (CORRECTIVE, _step(HINT, 300), (CORRECTIVE, FULL_FORCE)),
        (GUIDED, _step(FREE, 0), (GUIDED, FULL_FORCE)),
        (FREE, _step(), (FREE, 0)),
    ],
)
def test_a_mode_override_takes_the_policy_force(mode: str, planned: Step, expected: tuple[str, int]) -> None:
    control = LessonControl()
    control.set_mode(mode)
    applied = control.apply(planned, HINT_FORCE)
    assert (applied.mode, applied.force_permille) == expected
    assert (applied.span, applied.attempt, applied.tempo_percent) == (planned.span, planned.attempt, 80)


def test_strength_sets_the_force_and_haptics_off_means_free() -> None:
    control = LessonControl()
    control.set_mode(HINT)
    control.set_haptics(True, 300)
    applied = control.apply(_step(), HINT_FORCE)
    assert (applied.mode, applied.force_permille) == (HINT, 300)
    assert applied.explanation == "bars 1-2: you chose hint at 300"
    control.set_haptics(False, None)
    off = control.apply(_step(), HINT_FORCE)
    assert (off.mode, off.force_permille, off.explanation) == (FREE, 0, "bars 1-2: you chose haptics off")
    control.set_haptics(True, 0)  # no force at all is no guidance
    assert control.apply(_step(), HINT_FORCE).mode == FREE


def test_a_tempo_override_replaces_the_ramp_and_is_said_once() -> None:
    control = LessonControl()
    control.set_tempo_percent(60)
    first = control.apply(_step(), HINT_FORCE)
    assert (first.tempo_percent, first.explanation) == (60, "bars 1-2: you chose 60% tempo")
    assert control.apply(_step(), HINT_FORCE).explanation is None  # nothing new to say
    assert control.overrides() == {"tempo_percent": 60}
    control.set_tempo_percent(None)
    assert control.apply(_step(), HINT_FORCE).tempo_percent == 80


def test_bad_requests_say_what_is_allowed() -> None:
    control = LessonControl()
    with pytest.raises(UsageError, match="use one of"):
        control.set_mode("loud")
    with pytest.raises(UsageError, match=r"outside 1\.\.150%"):
        control.set_tempo_percent(400)
    with pytest.raises(UsageError, match=r"0\.\.1000"):
        control.set_haptics(True, 1200)
    with pytest.raises(UsageError, match="first bar <= last bar"):
        control.repeat(3, 2, 1)


def test_the_schedule_judges_the_step_as_the_student_applied_it() -> None:
    plan = _plan((1, 1), (2, 2))
    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    schedule = schedule_for(plan, fitted.score)
    planned = schedule.next()
    assert planned is not None and planned.mode == GUIDED
    control = LessonControl()
    control.set_mode(FREE)
    applied = control.apply(planned, plan.guidance.hint_force_permille)
    notes = tuple(NoteOutcome(note.index, (), False) for note in fitted.score.notes if note.bar == 1 and note.midi)
    with pytest.raises(ValueError, match="the step next"):
        schedule.record(AttemptResult(dataclasses.replace(applied, attempt=2), notes))
    schedule.record(AttemptResult(applied, notes))
    assert schedule.mastery()[0] == 1 / plan.passing.mastery_passes  # a clean unguided pass counts (a guided one not)


async def test_pause_waits_until_resume_and_stop_wakes_it() -> None:
    control = LessonControl()
    control.pause()
    waiting = asyncio.ensure_future(control.wait_if_paused())
    await asyncio.sleep(0)
    assert control.paused and control.interrupted and not waiting.done()
    control.resume()
    await waiting
    assert not control.interrupted
    control.pause()
    control.stop()
    await control.wait_if_paused()  # returns: a stopped lesson ends rather than waiting
    assert control.stopped and control.interrupted


# -- on the simulator -----------------------------------------------------------------------------------------------


def _plan(*bars: tuple[int, int]) -> LessonPlan:
    """first_lesson cut to `bars` segments, at its target tempo (120 bpm) from the first attempt."""
    plan = load_plan(resolve_plan("first_lesson"))
    return dataclasses.replace(
        plan,
        segments=tuple(PlanSegment(f"bars {a}-{b}", a, b) for a, b in bars),
        tempo=dataclasses.replace(plan.tempo, start_percent=100),
        minutes=None,
    )


@dataclasses.dataclass
class _Lesson:
    report: LessonReport
    events: list[Stamped]
    said: list[str]
    released: bool  # the haptics hold nothing at the end

    def started(self) -> list[AttemptStarted]:
        return [s.event for s in self.events if isinstance(s.event, AttemptStarted)]

    def ended(self) -> list[AttemptEnded]:
        return [s.event for s in self.events if isinstance(s.event, AttemptEnded)]


async def _run(
    plan: LessonPlan,
    control: LessonControl,
    on_event: Callable[[Stamped], None] = lambda _s: None,
    store_url: str | None = None,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> _Lesson:
    """Run `plan` on the simulator with `control`; `on_event` hears the timeline; `meanwhile` (a coroutine
    function) runs beside the lesson."""
    events: list[Stamped] = []
    said: list[str] = []

    def hear(stamped: Stamped) -> None:
        events.append(stamped)
        on_event(stamped)

    with open_store(store_url) if store_url else contextlib.nullcontext() as store:
        lesson = simulated_lesson(plan, URL, hear, store=store, control=control, say=said.append)
        async with lesson as (setup, _board), setup.session:
            running = asyncio.ensure_future(LessonRunner(setup).run())
            if meanwhile is not None:
                await meanwhile()
            report = await running
            released = not setup.session.haptics.pressing
    return _Lesson(report, events, said, released)


def _on(kind: type, when: Callable[[object], bool], then: Callable[[], None]) -> Callable[[Stamped], None]:
    """A timeline listener that calls `then` once, at the first event of `kind` for which `when` holds."""
    done = False

    def listen(stamped: Stamped) -> None:
        nonlocal done
        if not done and isinstance(stamped.event, kind) and when(stamped.event):
            done = True
            then()

    return listen


def _notes(plan: LessonPlan, first_bar: int, last_bar: int) -> int:
    """How many notes (rests aside) bars `first_bar`..`last_bar` of the plan's piece hold."""
    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    return sum(note.midi is not None and first_bar <= note.bar <= last_bar for note in fitted.score.notes)


async def _until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait for `condition` while the lesson runs (checked every 10 ms, at most `timeout_s`)."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.slow
async def test_overrides_change_the_next_attempt_not_the_running_one() -> None:
    control = LessonControl()
    plan = _plan((1, 1))

    def steer(stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, Click) and event.beat == 1 and not control.overrides():  # during attempt 1's count-in
            control.set_mode(FREE)
            control.set_tempo_percent(80)
        if isinstance(event, AttemptEnded) and event.attempt == 2:
            control.stop()

    lesson = await _run(plan, control, steer)
    first, second = lesson.report.attempts
    assert (first.step.mode, first.bpm) == (GUIDED, 120.0)  # the running attempt kept the schedule's settings
    assert (second.step.mode, second.step.force_permille, second.bpm) == (FREE, 0, 96.0)
    assert second.step.explanation == "bar 1: you chose guidance off, 80% tempo"
    assert [e.mode for e in lesson.started()] == [GUIDED, FREE]
    assert "stopped at the student's request: the lesson ends here" in lesson.said
    assert control.report is lesson.report and [line.row.number for line in control.recent()] == [1, 2]


@pytest.mark.slow
async def test_stop_during_an_attempt_ends_the_lesson_at_once_and_keeps_nothing_of_it(tmp_path: Path) -> None:
    control = LessonControl()
    plan = _plan((1, 2))
    store_url = f"sqlite:///{tmp_path / 'progress.db'}"
    stop = _on(HapticPress, lambda _press: True, control.stop)  # the servos hold a fingering now
    lesson = await _run(plan, control, stop, store_url)
    assert lesson.report.attempts == () and lesson.ended() == []
    assert len(lesson.started()) == 1 and "attempt 1 cut short: not counted" in lesson.said
    pressed_at = next(s.t_s for s in lesson.events if isinstance(s.event, HapticPress))
    releases = [s for s in lesson.events if isinstance(s.event, HapticRelease)]
    assert [s.event.reason for s in releases] == ["cut short by the student"]
    assert releases[0].t_s - pressed_at < 0.1 and lesson.released  # at once, not at the note's end
    with open_store(store_url) as store:
        (row,) = store.progress("ana")
    assert row["attempts"] == 0


@pytest.mark.slow
async def test_pause_discards_the_running_attempt_and_resume_plays_it_again() -> None:
    control = LessonControl()
    plan = _plan((1, 1))
    pause = _on(Click, lambda click: click.beat == plan.count_in_beats + 1, control.pause)
    stop = _on(AttemptEnded, lambda _ended: True, control.stop)

    def steer(stamped: Stamped) -> None:
        pause(stamped)
        stop(stamped)

    async def resume() -> None:
        await _until(lambda: control.paused and not control.attempt_running)
        assert control.recent() == ()  # nothing kept of the cut attempt
        control.resume()

    lesson = await _run(plan, control, steer, meanwhile=resume)
    assert [e.attempt for e in lesson.started()] == [1, 1] and [e.attempt for e in lesson.ended()] == [1]
    (line,) = lesson.report.attempts
    assert (line.row.number, line.step.mode, line.row.notes) == (1, GUIDED, _notes(plan, 1, 1))


@pytest.mark.slow
async def test_a_repeat_plays_the_asked_bars_first_and_leaves_the_schedule_where_it_was() -> None:
    control = LessonControl()
    plan = _plan((1, 1), (2, 2))
    control.repeat(1, 2, 1)  # across both segments: bars need not match one
    stop = _on(AttemptEnded, lambda ended: ended.attempt == 2, control.stop)
    lesson = await _run(plan, control, stop)
    repeat, scheduled = lesson.report.attempts
    assert repeat.user_directed and (repeat.row.first_bar, repeat.row.last_bar) == (1, 2)
    assert repeat.row.notes == _notes(plan, 1, 2)
    assert repeat.row.segments == (0, 1) and "(yours)" in repeat.text()
    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    first = schedule_for(plan, fitted.score).next()
    assert first is not None and not scheduled.user_directed
    assert scheduled.step == dataclasses.replace(first, attempt=2)  # the schedule's first step, untouched by it
    assert lesson.report.fading() == {0: [GUIDED]}  # the repeat is not the schedule's fading


@pytest.mark.slow
async def test_a_demo_between_attempts_presses_each_note_on_time() -> None:
    control = LessonControl()
    plan = _plan((1, 1))
    control.add_demo(1, 1)
    stop = _on(AttemptStarted, lambda _started: True, control.stop)  # stop once the demo is over
    lesson = await _run(plan, control, stop)
    assert any(line == "demo: bar 1 at 120 bpm, fingers guided, no sound: needs the live extra" for line in lesson.said)
    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    notes = [note for note in fitted.score.notes if note.bar == 1 and note.midi is not None]
    presses = [s for s in lesson.events if isinstance(s.event, HapticPress)]
    assert [p.event.note_index for p in presses] == [note.index for note in notes]
    assert all(p.event.force_permille == FULL_FORCE for p in presses)
    assert [p.event.holes_mask for p in presses] == [fitted.fingerings[note.index][0] for note in notes]
    beat_s = 60.0 / 120.0
    for press, note in zip(presses, notes, strict=True):  # each at its onset, from the first
        assert press.t_s - presses[0].t_s == pytest.approx((note.onset_beats - notes[0].onset_beats) * beat_s, abs=0.05)
    assert lesson.released
