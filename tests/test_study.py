"""The simulated study: a tiny population prints valid, seeded, worker-independent JSON; the fast path's lesson."""

import dataclasses
import json
import subprocess
import sys

import pytest

from flutex.sim.fastpath import run_lesson_fast, with_policy
from flutex.sim.learner import Learner, LearnerParams
from flutex.sim.study import DEFAULT_PLAN, GRID, StudyConfig, _lesson_material, floor_error, headroom, run_study

KEYS = {
    "students",
    "static",
    "dynamic",
    "learning_rate_gain",
    "forgetting_reduction",
    "ci95",
    "headroom",
    "sensitivity",
}


def study(*args):
    done = subprocess.run(
        [sys.executable, "-m", "flutex.host.cli", "study", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def tiny():
    return study("--students", "6", "--days", "2", "--seed", "3", "--json", "--workers", "1")


def test_a_tiny_study_prints_the_issue_json_with_sane_values(tiny):
    result = json.loads(tiny.stdout.strip().splitlines()[-1])
    assert set(result) == KEYS and result["students"] == 6
    for policy in ("static", "dynamic"):
        measures = result[policy]
        for key in ("baseline_accuracy", "final_accuracy", "delayed_accuracy", "guided_share"):
            assert 0.0 <= measures[key] <= 1.0
        assert -1.0 <= measures["learning_rate"] <= 1.0 and measures["attempts_per_lesson"] > 0
    assert result["static"]["baseline_accuracy"] == result["dynamic"]["baseline_accuracy"]  # the same students
    low, high = result["ci95"]["learning_rate_gain"]
    assert low <= high
    assert result["sensitivity"] == []
    assert "6/6 students" in tiny.stderr


def test_the_same_seed_gives_the_same_study_and_another_seed_another(tiny):
    again = study("--students", "6", "--days", "2", "--seed", "3", "--json", "--workers", "1")
    assert again.stdout == tiny.stdout
    other = study("--students", "6", "--days", "2", "--seed", "4", "--json", "--workers", "1")
    assert other.stdout != tiny.stdout


def test_the_number_of_workers_does_not_change_the_result(tiny):
    parallel = study("--students", "6", "--days", "2", "--seed", "3", "--json", "--workers", "2")
    assert parallel.stdout == tiny.stdout


def test_the_sensitivity_grid_has_a_row_per_cell():
    result = run_study(StudyConfig(students=2, days=1, seed=1), sensitivity=True, cell_students=2)
    cells = len(GRID["g"]) * len(GRID["alpha"]) * len(GRID["w20"])
    assert len(result["sensitivity"]) == cells
    row = result["sensitivity"][0]
    assert {
        "g",
        "alpha",
        "w20",
        "learning_rate_gain",
        "forgetting_reduction",
        "dynamic_better",
        "meets_paper",
        "headroom",
        "paper_within_reach",
    } <= set(row)


def test_the_no_guidance_arm_is_never_guided_and_changes_nothing_of_the_two_policies():
    config = StudyConfig(students=4, days=2, seed=5)
    plain = run_study(config)
    with_arm = run_study(dataclasses.replace(config, no_guidance_arm=True))
    assert with_arm["free"]["guided_share"] == 0.0 and with_arm["free"]["attempts_per_lesson"] > 0
    assert with_arm["free"]["baseline_accuracy"] == plain["static"]["baseline_accuracy"]  # the same students
    assert {k: v for k, v in with_arm.items() if k != "free"} == plain
    assert "free" not in plain


def test_the_floor_error_is_what_a_fully_practised_learner_slips():
    """The headroom rests on q = e_floor / (1 + e_floor): a learner whose every note is at the floor, drawn as the
    study draws it, gets that share of notes wrong (no slip twice in a row)."""
    params = LearnerParams(e0=0.35, e_floor=0.2)  # a floor high enough to tell q (1/6) from e_floor (1/5)
    learner = Learner(params, seed=5)
    items = [(i, (60 + i % 7, 61 + i % 7)) for i in range(20_000)]
    learner.practised([(item, False) for _, item in items[:7]] * 80, day=0.0)  # 80 practices: at the floor
    slips = learner.mistakes_for(items, "free", 0, day=0.0)
    assert abs(len(slips) / len(items) - floor_error(params)) < 0.01


def test_the_headroom_bounds_what_the_dynamic_policy_reached():
    """The measures cannot show more than a student at the slip floor: the dynamic arm's gains stay under the
    headroom (in expectation; this seeded population sits well inside it), and a static arm that already sits at
    the floor leaves none."""
    config = StudyConfig(students=12, days=2, seed=2)
    result = run_study(config)
    most = result["headroom"]
    assert 0 < result["learning_rate_gain"] <= most["learning_rate_gain"]
    assert result["forgetting_reduction"] <= most["forgetting_reduction"]
    q = floor_error(config.params)
    at_floor = {"baseline_accuracy": 0.8, "learning_rate": (1.0 - q - 0.8) / 2, "forgetting": q}
    gain, reduction = headroom([{"static": at_floor, "dynamic": at_floor}], config.params, days=2)
    assert gain == pytest.approx(0.0) and reduction == pytest.approx(0.0)


def test_the_readable_table_and_help():
    text = study("--students", "2", "--days", "1", "--workers", "1").stdout
    assert "learning_rate_gain" in text and "static" in text and "dynamic" in text
    assert "--sensitivity" in study("--help").stdout


def test_a_shipped_plan_is_taken_by_name_and_a_singing_one_refused():
    assert "learning_rate_gain" in study("--students", "1", "--days", "1", "--plan", "first_lesson_static").stdout
    done = subprocess.run(
        [sys.executable, "-m", "flutex.host.cli", "study", "--students", "1", "--plan", "breathing_scale"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "this plan is for the voice" in done.stderr and done.stderr.count("\n") == 1


def test_a_bad_plan_is_a_clear_error_not_a_traceback(tmp_path):
    plan = tmp_path / "bad.toml"
    plan.write_text('title = "x"\npiece = "no_such_piece"\n')
    done = subprocess.run(
        [sys.executable, "-m", "flutex.host.cli", "study", "--students", "1", "--plan", str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "bad.toml" in done.stderr and "Traceback" not in done.stderr


def test_a_fast_lesson_fades_guidance_for_a_quick_learner():
    plan, fitted = _lesson_material(DEFAULT_PLAN)
    learner = Learner(LearnerParams(alpha=0.5, e0=0.1), seed=2)
    lessons = [run_lesson_fast(with_policy(plan, "dynamic"), fitted, learner, float(day), day) for day in range(3)]
    first, last = lessons[0].results[0], lessons[-1].results[-1]
    assert any(note.guided for note in first.notes) and not any(note.guided for note in last.notes)
    assert all(probe.step.probe and probe.unguided for lesson in lessons for probe in lesson.probes)
    static = run_lesson_fast(with_policy(plan, "static"), fitted, Learner(LearnerParams(), 2), 0.0, 0)
    assert {result.step.mode for result in static.results} >= {"guided"}
