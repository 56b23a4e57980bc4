"""What teaching costs: one attempt on the full simulated stack against the study's fast path, one simulated
student's course of lessons, and attempts written to the progress store.

    python benchmarks/teaching.py [--minutes 0.5] [--students 20]

The full stack runs in real time (count-in, the bars, the tail), so its figure is the lesson's own pace; the fast
path's is what makes a study of hundreds of students over days possible. Both run the same plan for the same
seeded quick learner; the ratio is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from flutex.host.commands.lesson import lesson
from flutex.host.commands.listen import load_fitted
from flutex.sim.fastpath import run_lesson_fast
from flutex.sim.learner import PRESETS, Learner
from flutex.sim.study import StudyConfig, student
from flutex.tutor.lesson.plan import load_plan, resolve_plan
from flutex.tutor.progress.store import LessonPlanRef, open_store

SEED = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=0.5, help="the full-stack lesson's length (real time)")
    parser.add_argument("--students", type=int, default=20, help="simulated students' courses to time")
    args = parser.parse_args()
    plan = dataclasses.replace(load_plan(resolve_plan("first_lesson")), minutes=args.minutes)

    started = time.perf_counter()
    report, _ = asyncio.run(lesson(plan, f"sim://?student={SEED}&learner=quick", "bench", None, None, None, True))
    full_s = (time.perf_counter() - started) / len(report.attempts)

    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    learner = Learner(PRESETS["quick"].drawn(np.random.default_rng(SEED)), SEED)
    started = time.perf_counter()
    fast = run_lesson_fast(plan, fitted, learner, 0.0, SEED)
    fast_s = (time.perf_counter() - started) / (len(fast.results) + len(fast.probes))
    ratio = full_s / fast_s
    print(f"one attempt: full stack {full_s:.2f} s (real time), fast path {fast_s * 1e3:.2f} ms: {ratio:,.0f}x")

    config = StudyConfig(students=args.students)
    started = time.perf_counter()
    for index in range(args.students):
        student(config, index)
    course_s = (time.perf_counter() - started) / args.students
    print(f"one simulated student, {config.days} days under both policies: {course_s:.2f} s (one process)")

    with tempfile.TemporaryDirectory() as folder, open_store(f"sqlite:///{Path(folder) / 'p.db'}") as store:
        ref = LessonPlanRef("bench", "bench.toml", "0")
        lesson_id = store.begin_lesson("bench", ref, "sim://", datetime.now().astimezone())
        row = report.attempts[0].row
        count = 200
        started = time.perf_counter()
        for number in range(count):
            store.record_attempt(lesson_id, dataclasses.replace(row, number=number + 1))
        write_s = (time.perf_counter() - started) / count
    print(f"one attempt written to SQLite (WAL, a transaction each, {len(row.grades)} notes): {write_s * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
