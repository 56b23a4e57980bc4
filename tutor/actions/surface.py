"""The tutor's one action surface: the command line, the live view and the agent all call `Tutor.call`, and reach
the lesson through nothing else. A call is validated before anything runs (`catalog.parse_call`); one that does not
fit comes back as a refused `Outcome`, never as an exception, so a model's malformed call is an answer it can read
and correct. Arguments that fit the schema but not this lesson (a tempo under the plan's floor, bars past the end
of the piece, a mode the plan does not allow) are clamped with the clamp said, or refused naming what is allowed.
Settings go to the running lesson's `LessonControl`, which applies them between attempts, never during one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from flutex.host.errors import FlutexError, UsageError
from flutex.tutor.actions.catalog import (
    Action,
    ActionRejected,
    Explain,
    PlayDemo,
    Remember,
    RepeatSegment,
    SetHaptics,
    SetMode,
    SetTempo,
    ShowView,
    StartLesson,
    parse_call,
)
from flutex.tutor.actions.explain import TOPICS, explain
from flutex.tutor.actions.state import LiveState, clean_text, lesson_running, live_state
from flutex.tutor.lesson.control import MAX_PERCENT, LessonControl
from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE
from flutex.tutor.lesson.plan import LessonPlan, load_plan, parse_plan, plan_ref, resolve_plan
from flutex.tutor.lesson.policy import MASTERED
from flutex.tutor.lesson.template import phrase_bars, template
from flutex.tutor.progress.store import NOTES_KEPT, Store
from flutex.tutor.score.library import library_files
from flutex.tutor.score.load import load_score
from flutex.tutor.score.model import Score

MEMORY_SHOWN = 20  # learner notes given to the agent
LESSONS_SHOWN = 5  # past lessons in a progress answer
NO_LESSON = "no lesson is running; start one first"
MAX_ERROR_CHARS = 400  # a plan with many problems: the first few are enough for a reply


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    message: str  # one line for the student and the model ("tempo 80% from the next attempt")
    data: dict[str, Any] = field(default_factory=dict)  # e.g. progress rows, the explanation text
    executed: bool = True  # False in a dry run or when refused


class TutorHost(Protocol):
    """What the surface needs from whoever runs lessons (the command line; a test's host)."""

    student: str

    async def start_lesson(self, plan: LessonPlan) -> None:
        """Start the lesson in the background and return at once."""
        ...

    def control(self) -> LessonControl | None:
        """The running (or last) lesson's control; None before any lesson."""
        ...

    async def demonstrate(self, first_bar: int, last_bar: int) -> str:
        """Play a demonstration of the bars; one line saying what was done."""
        ...

    def show(self, view: str) -> str: ...

    def store(self) -> Store | None: ...


@dataclass(frozen=True)
class _Lesson:
    """The lesson the surface started: its plan and piece (bars and tempo for the checks)."""

    plan: LessonPlan
    score: Score

    @property
    def target_bpm(self) -> float:
        return self.plan.tempo.target_bpm or self.score.tempos[0].bpm


class Tutor:
    """The one action surface: command line, view and agent call only this."""

    def __init__(self, host: TutorHost, dry_run: bool = False) -> None:
        self.host = host
        self.dry_run = dry_run
        self._lesson: _Lesson | None = None
        self._notes: deque[str] = deque(maxlen=NOTES_KEPT)  # the learner memory when there is no store

    async def call(self, name: str, arguments: str | dict[str, Any]) -> Outcome:
        """Validate and run one action. Never raises for a bad call or a refused one: the Outcome says why."""
        try:
            action = parse_call(name, arguments)
        except ActionRejected as error:
            return Outcome(clean_text(str(name), 40), False, str(error), executed=False)
        if self.dry_run:
            return Outcome(action.NAME, True, f"would {action.describe()}", executed=False)
        try:
            return await getattr(self, f"_{action.NAME}")(action)
        except FlutexError as error:  # a plan that does not load, a store that is locked: nothing was done
            lines = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            return Outcome(action.NAME, False, clean_text(lines, MAX_ERROR_CHARS), executed=False)

    def state(self) -> LiveState:
        lesson = self._lesson
        return live_state(
            self.host.student,
            None if lesson is None else lesson.plan,
            self.host.control(),
            None if lesson is None else lesson.score.bars,
            "" if lesson is None else lesson.score.title,
        )

    def memory(self) -> list[str]:
        """The learner memory, most recent last: the store's when there is one, else this session's."""
        store = self.host.store()
        if store is None:
            return list(self._notes)[-MEMORY_SHOWN:]
        return store.memory(self.host.student, MEMORY_SHOWN)

    async def start(self, plan: LessonPlan) -> None:
        """Run `plan`, loaded by the caller with its own settings (`flutex lesson PLAN --view`), as `start_lesson`
        would run a plan it loads: the actions then steer it. UsageError when a lesson is already running."""
        if self._running() is not None:
            raise UsageError(f"a lesson is already running ({self._lesson_title()}); stop it first")
        score = await asyncio.to_thread(load_score, plan.score_path(), part=plan.part)
        await self._begin(_Lesson(plan, score))

    # -- the actions ------------------------------------------------------------------------------------------------

    async def _start_lesson(self, action: StartLesson) -> Outcome:
        if self._running() is not None:
            return _refused(action.NAME, f"a lesson is already running ({self._lesson_title()}); stop it first")
        lesson = await asyncio.to_thread(_prepare, action)  # reading scores takes a second: not on the loop
        await self._begin(lesson)
        segments = len(lesson.plan.segments)
        return Outcome(
            action.NAME,
            True,
            f"started {clean_text(lesson.plan.title, 60)}: {segments} segment{'s' * (segments != 1)}, "
            f"bars 1-{lesson.score.bars}",
            {"plan": lesson.plan.title, "segments": segments, "bars": lesson.score.bars},
        )

    async def _set_mode(self, action: SetMode) -> Outcome:
        control, lesson = self._needed()
        if control is None or lesson is None:
            return _refused(action.NAME, NO_LESSON)
        allowed = lesson.plan.guidance.modes
        if action.mode != "adaptive" and action.mode not in allowed:
            return _refused(
                action.NAME, f"this lesson does not use {action.mode}; it allows {', '.join(allowed)} (or adaptive)"
            )
        control.set_mode(None if action.mode == "adaptive" else action.mode)
        what = "the lesson chooses the guidance" if action.mode == "adaptive" else f"guidance {action.mode}"
        note = "; haptics are off, so the servos will not press" if control.overrides().get("haptics") is False else ""
        return Outcome(action.NAME, True, f"{what} {_from_next(control)}{note}", {"mode": action.mode})

    async def _set_tempo(self, action: SetTempo) -> Outcome:
        control, lesson = self._needed()
        if control is None or lesson is None:
            return _refused(action.NAME, NO_LESSON)
        asked = action.percent if action.percent is not None else round(100 * action.bpm / lesson.target_bpm)
        floor = lesson.plan.tempo.floor_percent
        percent = min(max(asked, floor), MAX_PERCENT)
        control.set_tempo_percent(percent)
        bpm = lesson.target_bpm * percent / 100
        said = f"tempo {percent}% ({bpm:.0f} bpm) {_from_next(control)}"
        if percent != asked:
            asked_text = f"{action.bpm:g} bpm ({asked}%)" if action.bpm is not None else f"{asked}%"
            limit = f"this lesson's floor of {floor}%" if percent == floor else f"the top of {MAX_PERCENT}%"
            said += f"; {asked_text} is past {limit}, so I kept it there"
        return Outcome(action.NAME, True, said, {"percent": percent, "bpm": round(bpm, 1), "clamped": percent != asked})

    async def _set_haptics(self, action: SetHaptics) -> Outcome:
        control, _ = self._needed()
        if control is None:
            return _refused(action.NAME, NO_LESSON)
        control.set_haptics(action.enabled, action.strength if action.enabled else None)
        if not action.enabled:
            said = "haptics off: the servos will not press at all"
        elif action.strength is None:
            said = "haptics on, at the lesson's own force"
        elif action.strength == 0:
            said = "haptics on at strength 0, which presses nothing"
        elif action.strength < CLOSES_HOLE_PERMILLE:
            said = f"haptics at strength {action.strength}: felt, but too light to close a hole"
        else:
            said = f"haptics at strength {action.strength}"
        return Outcome(action.NAME, True, f"{said}, {_from_next(control)}", {"enabled": action.enabled})

    async def _repeat_segment(self, action: RepeatSegment) -> Outcome:
        control, lesson = self._needed()
        if control is None or lesson is None:
            return _refused(action.NAME, NO_LESSON)
        outside = _outside(action, lesson)
        if outside:
            return _refused(action.NAME, outside)
        control.repeat(action.start_bar, action.end_bar, action.times)
        when = "after this attempt" if control.attempt_running else "next"
        return Outcome(action.NAME, True, f"will {action.describe()} {when}")

    async def _play_demo(self, action: PlayDemo) -> Outcome:
        control, lesson = self._running(), self._lesson
        if lesson is None:
            return _refused(action.NAME, "no piece chosen yet; start a lesson first")
        outside = _outside(action, lesson)
        if outside:
            return _refused(action.NAME, outside)
        if control is None:
            return Outcome(action.NAME, True, await self.host.demonstrate(action.start_bar, action.end_bar))
        control.add_demo(action.start_bar, action.end_bar)
        when = "after this attempt" if control.attempt_running else "before the next attempt"
        return Outcome(action.NAME, True, f"a demonstration of bars {action.start_bar}-{action.end_bar} {when}")

    async def _show_view(self, action: ShowView) -> Outcome:
        return Outcome(action.NAME, True, self.host.show(action.view))

    async def _explain(self, action: Explain) -> Outcome:
        found = explain(action.topic)
        if found is None:
            topics = ", ".join(TOPICS)
            return Outcome(action.NAME, True, f"I can explain: {topics}", {"topics": list(TOPICS)})
        topic, text = found
        return Outcome(action.NAME, True, text, {"topic": topic, "text": text})

    async def _progress(self, action: Action) -> Outcome:
        state = self.state()
        data: dict[str, Any] = {"live": state.compact()}
        store, student = self.host.store(), self.host.student
        if store is None:
            return Outcome(action.NAME, True, _live_line(state) + "; no progress store, so no earlier lessons", data)
        lessons = store.progress(student)[-LESSONS_SHOWN:]
        data["lessons"] = lessons
        said = [_lessons_line(lessons)]
        if self._lesson is not None:
            plan = self._lesson.plan
            mastery = store.mastery(student, plan_ref(plan).digest)
            data["mastery"] = {
                f"bars {segment.first_bar}-{segment.last_bar}": mastery.get(index, 0.0)
                for index, segment in enumerate(plan.segments)
            }
            learnt = sum(value >= MASTERED for value in data["mastery"].values())
            said.append(f"{learnt} of {len(plan.segments)} segments of {clean_text(plan.title, 60)} mastered")
        said.append(_live_line(state))
        return Outcome(action.NAME, True, "; ".join(said), data)

    async def _remember(self, action: Remember) -> Outcome:
        fact = clean_text(action.fact, len(action.fact))
        if not fact:
            return _refused(action.NAME, "the fact has no text to keep")
        store = self.host.store()
        if store is None:
            self._notes.append(fact)
            return Outcome(action.NAME, True, "noted for this session (no progress store to keep it in)")
        store.remember(self.host.student, fact)
        return Outcome(action.NAME, True, "noted for next time")

    async def _wait(self, action: Action) -> Outcome:
        return Outcome(action.NAME, True, "waiting for the student")

    async def _pause(self, action: Action) -> Outcome:
        control = self._running()
        if control is None:
            return _refused(action.NAME, NO_LESSON)
        if control.paused:
            return Outcome(action.NAME, True, "already paused; say resume to go on")
        dropped = " (this attempt is dropped, not counted)" if control.attempt_running else ""
        control.pause()
        return Outcome(action.NAME, True, f"paused{dropped}; say resume to go on")

    async def _resume(self, action: Action) -> Outcome:
        control = self._running()
        if control is None:
            return _refused(action.NAME, NO_LESSON)
        if not control.paused:
            return Outcome(action.NAME, True, "the lesson is not paused")
        control.resume()
        return Outcome(action.NAME, True, "resumed")

    async def _stop(self, action: Action) -> Outcome:
        control = self._running()
        if control is None:
            return _refused(action.NAME, NO_LESSON)
        dropped = " (this attempt is dropped, not counted)" if control.attempt_running else ""
        control.stop()
        return Outcome(action.NAME, True, f"stopping the lesson{dropped}; the report follows")

    # -- helpers ----------------------------------------------------------------------------------------------------

    def _running(self) -> LessonControl | None:
        """The running lesson's control; None when none runs (never started, ended, or being stopped)."""
        control = self.host.control()
        return control if lesson_running(control) else None

    async def _begin(self, lesson: _Lesson) -> None:
        await self.host.start_lesson(lesson.plan)
        self._lesson = lesson

    def _needed(self) -> tuple[LessonControl | None, _Lesson | None]:
        control = self._running()
        return control, None if control is None else self._lesson

    def _lesson_title(self) -> str:
        return "a lesson" if self._lesson is None else clean_text(self._lesson.plan.title, 60)


def _prepare(action: StartLesson) -> _Lesson:
    """The plan the action names, or one made from the default template for a library piece, with its score."""
    if action.plan is not None:
        plan = load_plan(resolve_plan(action.plan))
    else:
        files = library_files()
        if action.piece not in files:
            raise ActionRejected(f"start_lesson: no library piece {action.piece!r}; pieces: {', '.join(files)}")
        score = load_score(files[action.piece])
        text = template(action.piece, phrase_bars(score), title=score.title or action.piece)
        plan = parse_plan(text, f"the default plan for {action.piece}")
    return _Lesson(plan, load_score(plan.score_path(), part=plan.part))


def _outside(action: RepeatSegment | PlayDemo, lesson: _Lesson) -> str | None:
    bars = lesson.score.bars
    if action.end_bar > bars:
        return f"bars {action.start_bar}-{action.end_bar} are not all in the piece: it has bars 1-{bars}"
    return None


def _from_next(control: LessonControl) -> str:
    return "from the next attempt (this one ends as it is)" if control.attempt_running else "from the next attempt"


def _refused(name: str, message: str) -> Outcome:
    """A call that fit the schema but not the moment: nothing was done."""
    return Outcome(name, False, f"{name}: {message}", executed=False)


def _lessons_line(lessons: list[dict[str, Any]]) -> str:
    if not lessons:
        return "no lesson recorded yet"
    last = lessons[-1]
    alone = last["unguided_clean_percent"]
    alone_text = "" if alone is None else f", {alone:.0f}% without help"
    clean = last["clean_percent"]
    right = "no notes graded" if clean is None else f"{clean:.0f}% of notes right"
    return f"last lesson ({clean_text(last['plan'], 60)}): {right}{alone_text}"


def _live_line(state: LiveState) -> str:
    if not state.running:
        return "no lesson running now"
    recent = state.recent[-1] if state.recent else None
    last = "" if recent is None else f", last attempt {recent.clean}/{recent.notes} right"
    return f"lesson running{' (paused)' if state.paused else ''}{last}"
