"""The simulated study: the same seeded students taught by the static and by the dynamic policy, over days.

Each student is a learner drawn from the population (docs/student-model.md). A course is a baseline probe, one
lesson a day for `days` days (the fast path; fsrs reviews decide which segments come first the next day), an
unguided probe of every segment after each lesson, and a delayed test `gap_days` after the last lesson. The two
policies get fresh copies of the same student. Learning rate and forgetting are defined in docs/study.md.
Results do not depend on the number of worker processes: students are seeded by their index and kept in order.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.sim.fastpath import NO_GUIDANCE, probe_all, run_lesson_fast, with_policy
from flutex.sim.learner import Learner, LearnerParams
from flutex.tutor.lesson.plan import LessonPlan, load_plan
from flutex.tutor.lesson.policy import AttemptResult
from flutex.tutor.lesson.review import Reviews, rating_for
from flutex.tutor.score.fit import FittedScore, fit
from flutex.tutor.score.load import load_score

POLICIES = ("static", "dynamic")
DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "tutor" / "lesson" / "plans" / "first_lesson.toml"
DEFAULT_PROFILE = "six_hole"  # the board `sim://` simulates unless a plan names another
START = datetime(2025, 1, 6, 17, 0, tzinfo=UTC)  # the first lesson (any date: only gaps matter)
PAPER = {"learning_rate_gain": 0.453, "forgetting_reduction": 0.86}  # NIME 2019's margins
BOOTSTRAP = 1000
# The sensitivity grid: the guidance credit g, the learning rate alpha and the forgetting decay w20 over their
# plausible ranges (docs/student-model.md), each cell a population centred there.
GRID = {"g": (0.2, 0.5, 0.8), "alpha": (0.1, 0.2, 0.4), "w20": (0.1542, 0.5)}


@dataclass(frozen=True)
class StudyConfig:
    plan: Path = DEFAULT_PLAN
    students: int = 200
    days: int = 5
    gap_days: float = 7.0
    seed: int = 0
    params: LearnerParams = dataclasses.field(default_factory=LearnerParams)
    # also teach the same students with no guidance at all (NO_GUIDANCE): in a learner model where guided practice
    # is never worth more than practice alone, it shows what guidance costs or saves beside either policy
    no_guidance_arm: bool = False

    @property
    def arms(self) -> tuple[str, ...]:
        return (*POLICIES, NO_GUIDANCE) if self.no_guidance_arm else POLICIES


@functools.cache
def _lesson_material(plan_path: Path) -> tuple[LessonPlan, FittedScore]:
    """The plan and its piece fitted to the flute (once per process)."""
    plan = load_plan(plan_path)
    if plan.instrument != "flute":
        raise UsageError(f"{plan_path}: the study teaches the flute; this plan is for the {plan.instrument}")
    score = load_score(plan.score_path(), part=plan.part)
    return plan, fit(score, InstrumentProfile.load(plan.profile or DEFAULT_PROFILE), plan.transpose)


def accuracy(probes: Sequence[AttemptResult]) -> float:
    """The share of notes played right on unguided probes."""
    notes = [note for probe in probes for note in probe.notes]
    return sum(not note.errors for note in notes) / len(notes)


def _forgetting(last: Sequence[AttemptResult], delayed: Sequence[AttemptResult]) -> float:
    """P(a note is wrong at the delayed test | it was right on the last probe); nan when none was right."""
    right = {note.index for probe in last for note in probe.notes if not note.errors}
    wrong_later = {note.index for probe in delayed for note in probe.notes if note.errors}
    return len(right & wrong_later) / len(right) if right else math.nan


def course(config: StudyConfig, params: LearnerParams, learner_seed: int, policy: str) -> dict[str, float]:
    """One student's course under `policy`: its measures (docs/study.md)."""
    plan, fitted = _lesson_material(config.plan)
    taught = with_policy(plan, policy)
    learner = Learner(params, learner_seed)
    seeds = np.random.SeedSequence([learner_seed, config.days]).generate_state(config.days + 2).tolist()
    reviews = Reviews(None, plan.review.desired_retention)
    baseline = probe_all(taught, fitted, learner, 0.0, seeds[0])
    curve, prior, last = [accuracy(baseline)], {}, baseline
    attempts = guided = notes = 0
    seconds = 0.0
    for day in range(config.days):
        when = START + timedelta(days=day)
        lesson = run_lesson_fast(taught, fitted, learner, float(day), seeds[day + 1], prior, reviews.due(when))
        prior = {**prior, **lesson.mastery}
        practised = {s for r in lesson.results for s in range(r.step.span.first, r.step.span.last + 1)}
        for segment in sorted(practised):
            reviews.review(segment, rating_for(lesson.results, segment), when)
        curve.append(accuracy(lesson.probes))
        last = lesson.probes
        attempts += len(lesson.results)
        seconds += lesson.seconds
        lesson_notes = [note for result in lesson.results for note in result.notes]
        notes += len(lesson_notes)
        guided += sum(note.guided for note in lesson_notes)
    delayed = probe_all(taught, fitted, learner, config.days - 1 + config.gap_days, seeds[-1])
    return {
        "baseline_accuracy": curve[0],
        "final_accuracy": curve[-1],
        "delayed_accuracy": accuracy(delayed),
        "learning_rate": (curve[-1] - curve[0]) / config.days,
        "forgetting": _forgetting(last, delayed),
        "forgetting_absolute": curve[-1] - accuracy(delayed),
        "attempts_per_lesson": attempts / config.days,
        "minutes_per_lesson": seconds / 60.0 / config.days,
        "guided_share": guided / notes if notes else 0.0,
    }


def student(config: StudyConfig, index: int) -> dict[str, dict[str, float]]:
    """Student `index` of the population, under both policies (fresh copies of the same learner)."""
    rng = np.random.default_rng([config.seed, index])
    params = config.params.drawn(rng)
    learner_seed = int(rng.integers(2**31))
    return {arm: course(config, params, learner_seed, arm) for arm in config.arms}


def _student_task(task: tuple[StudyConfig, int]) -> dict[str, dict[str, float]]:
    return student(*task)


def _mean(rows: Sequence[dict[str, float]], key: str) -> float:
    values = [row[key] for row in rows if not math.isnan(row[key])]
    return float(np.mean(values)) if values else math.nan


def _gains(outcomes: Sequence[dict[str, dict[str, float]]]) -> tuple[float, float]:
    """(learning_rate_gain, forgetting_reduction): ratios of the population means, dynamic against static."""
    static = [o["static"] for o in outcomes]
    dynamic = [o["dynamic"] for o in outcomes]
    gain = _ratio(_mean(dynamic, "learning_rate"), _mean(static, "learning_rate")) - 1.0
    reduction = 1.0 - _ratio(_mean(dynamic, "forgetting"), _mean(static, "forgetting"))
    return gain, reduction


def floor_error(params: LearnerParams) -> float:
    """The share of notes a student gets wrong when only the slips no practice removes are left: e_floor a note,
    never two in a row (`Learner.mistakes_for`), so q = e_floor / (1 + e_floor) in the long run."""
    return params.e_floor / (1.0 + params.e_floor)


def headroom(outcomes: Sequence[dict[str, dict[str, float]]], params: LearnerParams, days: int) -> tuple[float, float]:
    """The largest (learning_rate_gain, forgetting_reduction) the measures allow over this static arm: those of a
    student at the slip floor from the first lesson on (accuracy 1 - q after it, forgetting chance q). A generous
    bound: the first note of a probe and slips that disturb a neighbour's grade only push the floor up."""
    static = [o["static"] for o in outcomes]
    q = floor_error(params)
    best_rate = (1.0 - q - _mean(static, "baseline_accuracy")) / days
    return _ratio(best_rate, _mean(static, "learning_rate")) - 1.0, 1.0 - _ratio(q, _mean(static, "forgetting"))


def _gains_json(gains: tuple[float, float]) -> dict[str, float | None]:
    return {"learning_rate_gain": _round(gains[0]), "forgetting_reduction": _round(gains[1])}


def _meets_paper(gains: tuple[float, float]) -> bool:
    """Whether these gains reach the paper's margins (for a headroom: whether the measures leave room for them)."""
    return gains[0] >= PAPER["learning_rate_gain"] and gains[1] >= PAPER["forgetting_reduction"]


def _ratio(a: float, b: float) -> float:
    """a / b; nan when b is 0 (no static learning or forgetting to compare with: undefined, reported as null)."""
    return a / b if b else math.nan


def _ci95(outcomes: Sequence[dict[str, dict[str, float]]], seed: int) -> dict[str, list[float]]:
    """Percentile bootstrap over students (seeded) of both gains."""
    rng = np.random.default_rng([seed, len(outcomes)])
    draws = np.array(
        [_gains([outcomes[i] for i in rng.integers(0, len(outcomes), len(outcomes))]) for _ in range(BOOTSTRAP)]
    )
    bounds = {}
    for column, name in enumerate(("learning_rate_gain", "forgetting_reduction")):
        finite = draws[np.isfinite(draws[:, column]), column]
        bounds[name] = [_round(float(np.percentile(finite, q))) for q in (2.5, 97.5)] if finite.size else [None, None]
    return bounds


def _round(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 4)


def _summary(rows: Sequence[dict[str, float]]) -> dict[str, float | None]:
    return {key: _round(_mean(rows, key)) for key in rows[0]}


class _Runner:
    """Runs students in order over a pool of worker processes (or in this process with one worker)."""

    def __init__(self, workers: int, progress: Callable[[int, int], None] | None) -> None:
        self.workers, self.progress = workers, progress

    def run(self, tasks: list[tuple[StudyConfig, int]]) -> list[dict[str, dict[str, float]]]:
        outcomes: list[dict[str, dict[str, float]]] = []
        if self.workers <= 1:
            results: Any = map(_student_task, tasks)
            return self._collect(results, len(tasks), outcomes)
        context = multiprocessing.get_context("fork")
        with context.Pool(self.workers) as pool:
            return self._collect(pool.imap(_student_task, tasks, chunksize=1), len(tasks), outcomes)

    def _collect(self, results: Any, total: int, outcomes: list) -> list:
        for outcome in results:
            outcomes.append(outcome)
            if self.progress is not None:
                self.progress(len(outcomes), total)
        return outcomes


def run_study(
    config: StudyConfig,
    sensitivity: bool = False,
    cell_students: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The study's JSON: per policy the population means, the gains with bootstrap 95% intervals, and with
    `sensitivity` one row per grid cell (its own population of `cell_students`, by default min(students, 40))."""
    _lesson_material(config.plan)  # a bad plan fails here, before any worker starts
    cells = list(itertools.product(*GRID.values())) if sensitivity else []
    per_cell = min(config.students, 40) if cell_students is None else cell_students
    cell_configs = [
        dataclasses.replace(
            config,
            students=per_cell,
            params=dataclasses.replace(config.params, g=g, alpha=a, w20=w),
            no_guidance_arm=False,  # the grid compares the two policies
        )
        for g, a, w in cells
    ]
    tasks = [(config, i) for i in range(config.students)]
    tasks += [(cell, i) for cell in cell_configs for i in range(per_cell)]
    outcomes = _Runner(workers, progress).run(tasks)
    main, rest = outcomes[: config.students], outcomes[config.students :]
    gain, reduction = _gains(main)
    rows = []
    for number, ((g, a, w), cell) in enumerate(zip(cells, cell_configs, strict=True)):
        population = rest[number * per_cell : (number + 1) * per_cell]
        cell_gain, cell_reduction = _gains(population)
        most = headroom(population, cell.params, cell.days)
        rows.append(
            {
                "g": g,
                "alpha": a,
                "w20": w,
                "students": per_cell,
                "learning_rate_gain": _round(cell_gain),
                "forgetting_reduction": _round(cell_reduction),
                "dynamic_better": bool(cell_gain > 0 and cell_reduction > 0),
                "meets_paper": _meets_paper((cell_gain, cell_reduction)),
                "headroom": _gains_json(most),
                "paper_within_reach": _meets_paper(most),
            }
        )
    return {
        "students": config.students,
        **{arm: _summary([o[arm] for o in main]) for arm in config.arms},
        "learning_rate_gain": _round(gain),
        "forgetting_reduction": _round(reduction),
        "ci95": _ci95(main, config.seed),
        "headroom": _gains_json(headroom(main, config.params, config.days)),
        "sensitivity": rows,
    }


def table(result: dict[str, Any]) -> str:
    """The study as a readable table."""
    lines = [f"{result['students']} simulated students, static vs dynamic guidance", ""]
    arms = [arm for arm in (*POLICIES, NO_GUIDANCE) if arm in result]
    lines.append(f"{'measure':22} " + " ".join(f"{arm:>9}" for arm in arms))
    for key in result["static"]:
        lines.append(f"{key:22} " + " ".join(_cell(result[arm][key]) for arm in arms))
    ci, most = result["ci95"], result["headroom"]
    lines.append("")
    for name in ("learning_rate_gain", "forgetting_reduction"):
        low, high = ci[name]
        lines.append(
            f"{name:22} {_percent(result[name])} (95% CI {_percent(low)} to {_percent(high)}; "
            f"paper {_percent(PAPER[name])}; the measures allow at most {_percent(most[name]).strip()})"
        )
    if result["sensitivity"]:
        lines += ["", f"{'g':>5} {'alpha':>6} {'w20':>7} {'LR gain':>9} {'forget -':>9} {'LR max':>9} {'forg max':>9}"]
        for row in result["sensitivity"]:
            verdict = "meets paper" if row["meets_paper"] else "better" if row["dynamic_better"] else "NOT better"
            reach = "" if row["paper_within_reach"] else ", paper out of reach"
            cell_most = row["headroom"]
            lines.append(
                f"{row['g']:5.2f} {row['alpha']:6.2f} {row['w20']:7.4f} {_percent(row['learning_rate_gain'])} "
                f"{_percent(row['forgetting_reduction'])} {_percent(cell_most['learning_rate_gain'])} "
                f"{_percent(cell_most['forgetting_reduction'])}  {verdict}{reach}"
            )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return f"{'n/a':>9}" if value is None else f"{value:9.3f}"


def _percent(value: float | None) -> str:
    return f"{'n/a':>9}" if value is None else f"{value * 100:+8.1f}%"
