"""The simulated study: a tiny population prints valid, seeded, worker-independent JSON; the fast path's lesson."""

import json
import subprocess
import sys

import pytest

from flutex.sim.fastpath import run_lesson_fast, with_policy
from flutex.sim.learner import Learner, LearnerParams
from flutex.sim.study import DEFAULT_PLAN, GRID, StudyConfig, _lesson_material, run_study

KEYS = {"students", "static", "dynamic", "learning_rate_gain", "forgetting_reduction", "ci95", "sensitivity"}


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
    assert {"g", "alpha", "w20", "learning_rate_gain", "forgetting_reduction", "dynamic_better", "meets_paper"} <= set(
        row
    )


def test_the_readable_table_and_help():
    text = study("--students", "2", "--days", "1", "--workers", "1").stdout
    assert "learning_rate_gain" in text and "static" in text and "dynamic" in text
    assert "--sensitivity" in study("--help").stdout


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
