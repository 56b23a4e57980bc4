"""A whole lesson on the full simulated stack (real firmware, sound, pitch tracking, grading, servos), against the
study's fast path, and `flutex lesson` as a student runs it.

The faithfulness test runs the same seeded student through the same plan on both paths: the schedule must take the
same steps, the servos must guide the same number of notes, and the grades must agree note for note (the fast
path's grades are the simulator's truth; the full stack's come through the microphone and the board)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flutex.hardware import load_pinmap
from flutex.host.cli import main
from flutex.host.commands.lesson import SimulatedPerformer, lesson
from flutex.host.commands.listen import load_fitted
from flutex.host.link.events import HapticStatus
from flutex.host.link.opener import open_instrument
from flutex.host.session.events import RECORDED_TYPES, HapticPress, Stamped
from flutex.host.session.playback import Recording
from flutex.host.session.session import Session
from flutex.sim.board import SimBoard
from flutex.sim.fastpath import run_lesson_fast
from flutex.sim.learner import PRESETS, Learner
from flutex.sim.student import SimStudent
from flutex.tutor.assess.rules import GradingRules
from flutex.tutor.lesson.events import AttemptEnded, AttemptStarted, Click
from flutex.tutor.lesson.guidance import HelpRequested
from flutex.tutor.lesson.modes import FREE, FULL_FORCE, GUIDED, HINT
from flutex.tutor.lesson.plan import LessonPlan, load_plan, plan_ref, resolve_plan
from flutex.tutor.lesson.policy import GUIDED_SLIPS
from flutex.tutor.lesson.runner import LessonRunner, LessonSetup
from flutex.tutor.progress.store import open_store

STUDENT = 3  # a quick learner: guidance fades within the few attempts a test can afford in real time
AGREEMENT = 0.9  # of notes graded the same on both paths


@pytest.fixture(scope="module")
def full_lesson(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One short lesson on sim:// with a store and a recording (about 70 s of real time)."""
    folder = tmp_path_factory.mktemp("lesson")
    plan = dataclasses.replace(load_plan(resolve_plan("first_lesson")), minutes=0.9)
    url = f"sim://?student={STUDENT}&learner=quick"
    with open_store(f"sqlite:///{folder / 'progress.db'}") as store:
        report, recording = asyncio.run(lesson(plan, url, "ana", store, folder, None, quiet=True))
        rows = store.progress("ana")
        csv = io.StringIO()
        exported = store.export_csv(csv, "ana")
    return {"plan": plan, "report": report, "recording": recording, "rows": rows, "exported": exported}


@pytest.mark.slow
def test_the_fast_path_takes_the_same_steps_and_grades_as_the_full_stack(full_lesson: dict) -> None:
    plan = full_lesson["plan"]
    full = full_lesson["report"].to_json()["attempts"]
    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    learner = Learner(PRESETS["quick"].drawn(np.random.default_rng(STUDENT)), STUDENT)
    fast = run_lesson_fast(plan, fitted, learner, 0.0, STUDENT).results
    assert len(full) >= 5 and abs(len(full) - len(fast)) <= 1  # the same time budget, spent alike
    agree = total = 0
    for live, quick in zip(full, fast, strict=False):
        assert (live["bars"], live["mode"], live["force_permille"], live["bpm"]) == (
            [quick.step.span.first_bar, quick.step.span.last_bar],
            quick.step.mode,
            quick.step.force_permille,
            plan.tempo.bpm(quick.step.tempo_percent, fitted.score.tempos[0].bpm),
        )
        assert live["guided_notes"] == quick.placed_notes
        graded = {grade["index"]: tuple(grade["errors"]) for grade in live["grades"]}
        agree += sum(graded.get(note.index) == note.errors for note in quick.notes)
        total += len(quick.notes)
    assert agree >= AGREEMENT * total, f"{agree} of {total} notes graded alike"


@pytest.mark.slow
def test_guidance_fades_as_the_student_gets_it_right_and_the_report_says_so(full_lesson: dict) -> None:
    report = full_lesson["report"]
    assert report.fading()[0][0] == GUIDED
    alone = [line for line in report.attempts if line.step.span.first == line.step.span.last == 0]
    faded = 0
    for before, after in itertools.pairwise(alone):
        row = before.row
        wrong = row.notes - row.clean_notes
        if _help(after.guidance) < _help(before.guidance):  # less help only after a (nearly, when guided) right pass
            faded += 1
            assert wrong == 0 or (row.guided_notes and wrong <= GUIDED_SLIPS and not before.extra_notes)
        elif _help(after.guidance) > _help(before.guidance):  # more help only after errors without it
            assert row.guided_notes == 0 and (wrong or before.extra_notes)
    assert faded >= 1
    text = report.text()
    assert "guided > hint" in text and "lesson report for ana" in text
    explained = [line for line in report.attempts if line.step.explanation]
    assert explained and all(line.step.explanation.startswith("bar") for line in explained)


@pytest.mark.slow
def test_every_attempt_is_stored_and_recorded(full_lesson: dict) -> None:
    report, rows = full_lesson["report"], full_lesson["rows"]
    assert len(rows) == 1 and rows[0]["attempts"] == len(report.attempts)
    assert full_lesson["exported"] == len(report.attempts)
    started, ended, clicks, presses = [], [], 0, 0
    for stamped in Recording(
        full_lesson["recording"], event_types=(*RECORDED_TYPES, AttemptStarted, AttemptEnded, Click)
    ):
        event = stamped.event
        if isinstance(event, AttemptStarted):
            started.append(event)
        elif isinstance(event, AttemptEnded):
            ended.append(event)
        elif isinstance(event, Click):
            clicks += 1
        elif isinstance(event, HapticPress):
            presses += 1
    assert [e.attempt for e in started] == [e.attempt for e in ended] == list(range(1, len(report.attempts) + 1))
    assert [event.guided_notes for event in ended] == [line.row.guided_notes for line in report.attempts]
    assert presses >= sum(event.guided_notes > 0 for event in ended)
    assert clicks >= 2 * len(started)  # at least the count-in of every attempt


def test_a_bad_plan_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "bad.toml"
    plan.write_text('title = "x"\npiece = "twinkle_twinkle"\n[tempo]\ntarget_bpm = -4\n')
    store = tmp_path / "progress.db"
    code = main(["lesson", str(plan), "--store", f"sqlite:///{store}", "--sessions-dir", str(tmp_path / "rec")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{plan}:4:" in err and "Traceback" not in err
    assert not store.exists() and not (tmp_path / "rec").exists()


def test_a_flute_plan_on_a_board_without_a_learning_student_says_what_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["lesson", "first_lesson", "--device", "sim://", "--no-store", "--no-record"])
    assert code == 2
    assert "student=SEED" in capsys.readouterr().err


def _help(mode: str) -> int:
    """How much a guidance label helps: guided 1000, a hint its force, free 0."""
    if mode == GUIDED:
        return 1000
    if mode.startswith(HINT):
        return int(mode.split()[1])
    assert mode in (FREE, "corrective")
    return 0


@pytest.mark.slow
def test_a_singing_lesson_listens_to_the_voice_and_the_belt_and_never_moves_a_servo(tmp_path: Path) -> None:
    plan = dataclasses.replace(load_plan(resolve_plan("breathing_scale")), minutes=0.3)
    report, recording = asyncio.run(
        lesson(plan, "sim://?student=2&instrument=voice", "sam", None, tmp_path, None, quiet=True)
    )
    assert report.attempts and all(line.step.mode == FREE for line in report.attempts)
    assert any("abdominal" in line for line in report.breathing)  # the simulated singer breathes with its belly
    assert any("held notes" in line for line in report.breathing)
    presses = [s for s in Recording(recording, event_types=RECORDED_TYPES) if isinstance(s.event, HapticPress)]
    assert presses == []


@contextlib.asynccontextmanager
async def simulated_lesson(
    plan: LessonPlan, url: str, hear: Callable[[Stamped], None], **options: Any
) -> AsyncIterator[tuple[LessonSetup, SimBoard]]:
    """A lesson of `plan` set up on the simulator at `url` (its simulated student plays every attempt), `hear` on
    its timeline, and the simulated board (a test may press its buttons); `options` go to `LessonSetup` (store,
    control, say, on_event...). Start `setup.session` to run it."""
    async with open_instrument(url, microphone="simulated") as instrument:
        student = instrument.student
        assert isinstance(student, SimStudent)
        _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
        session = Session(instrument.client, profile=fitted.profile, audio=instrument.audio, input_latency_s=0.0)
        session.timeline.add_listener(hear)
        performer = SimulatedPerformer(student, session, GradingRules.for_tolerance(plan.passing.tolerance))
        yield LessonSetup(plan, plan_ref(plan), fitted, session, performer, "ana", url, **options), student.world.board


@pytest.mark.slow
@pytest.mark.parametrize("asks_with", ["key", "pedal"])
async def test_help_me_during_a_free_attempt_brings_full_guidance_at_once(asks_with: str) -> None:
    plan = load_plan(resolve_plan("first_lesson"))
    plan = dataclasses.replace(plan, minutes=0.05, guidance=dataclasses.replace(plan.guidance, start=FREE))
    url = f"sim://?student={STUDENT}&learner=quick"
    seen: list[Stamped] = []
    runner: LessonRunner
    board: SimBoard
    pedal = load_pinmap()["help"]

    def ask_on_the_downbeat(stamped: Stamped) -> None:  # as the bars begin: Enter, or the board's help-me pedal
        if isinstance(stamped.event, Click) and stamped.event.beat == plan.count_in_beats + 1:
            if asks_with == "key":
                runner.request_help()
            else:
                board.set_inputs({pedal["gpio"]: 0 if pedal["active_low"] else 1})

    async with simulated_lesson(plan, url, seen.append, on_event=ask_on_the_downbeat) as (setup, board):
        runner = LessonRunner(setup)
        async with setup.session:
            report = await runner.run()
    assert [line.step.mode for line in report.attempts] == [FREE]
    assert report.attempts[0].row.help_requested
    asked = next(s.t_s for s in seen if isinstance(s.event, HelpRequested))
    if asks_with == "pedal":
        held = next(s.t_s for s in seen if isinstance(s.event, HapticStatus) and s.event.help_held)
        # the board's time is mapped onto the timeline to within a few ms (docs/session.md): 10 ms of slack
        assert held - 0.01 <= asked < held + 0.5, (
            "the board's flag went up, then the lesson heard it (within a loaded loop's delay)"
        )
    presses = [s.event for s in seen if isinstance(s.event, HapticPress) and s.t_s >= asked]
    assert presses and all(press.force_permille == FULL_FORCE for press in presses)
    assert not [s for s in seen if isinstance(s.event, HapticPress) and s.t_s < asked], "free until the student asked"
