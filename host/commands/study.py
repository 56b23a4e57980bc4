"""`flutex study`: the simulated study of the dynamic guidance policy against the paper's static baseline."""

from __future__ import annotations

import argparse
import json
import os
import sys

from flutex.host.commands.arguments import positive_int


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Teach a seeded population of simulated students with the static and with the dynamic guidance policy "
        "(the same students, fresh copies) over days of lessons, probe them unguided, and compare learning rate "
        "and forgetting (definitions: docs/study.md), beside the most any policy could gain over static on these "
        "measures (the headroom). Runs on the fast path: no audio, no firmware."
    )
    parser.add_argument("--students", type=positive_int, default=200, help="students in the population (200)")
    parser.add_argument("--days", type=positive_int, default=5, help="days of lessons before the delayed test (5)")
    parser.add_argument("--seed", type=int, default=0, help="the population's seed (0)")
    parser.add_argument(
        "--plan", default=None, help="a lesson plan (TOML file) or a shipped plan's name (default: first_lesson)"
    )
    parser.add_argument(
        "--sensitivity", action="store_true", help="also run the grid over g, learning rate and forgetting"
    )
    parser.add_argument(
        "--cell-students", type=positive_int, default=None, help="students per grid cell (min(students, 40))"
    )
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes (default: the cores available)"
    )
    parser.add_argument(
        "--no-guidance-arm",
        action="store_true",
        help='also teach the same students with no guidance at all (its measures under "free")',
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, last line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from flutex.sim.study import DEFAULT_PLAN, StudyConfig, run_study, table
    from flutex.tutor.lesson.plan import resolve_plan

    plan = resolve_plan(args.plan) if args.plan else DEFAULT_PLAN
    config = StudyConfig(plan, args.students, args.days, seed=args.seed, no_guidance_arm=args.no_guidance_arm)
    workers = args.workers or len(os.sched_getaffinity(0))
    result = run_study(config, args.sensitivity, args.cell_students, workers, _progress)
    print(json.dumps(result) if args.json else table(result))
    return 0


def _progress(done: int, total: int) -> None:
    """Students done, on stderr: one updating line on a terminal, a line per tenth otherwise."""
    if sys.stderr.isatty():
        print(f"\rstudy: {done}/{total} students", end="\n" if done == total else "", file=sys.stderr, flush=True)
    elif done == total or done % max(1, total // 10) == 0:
        print(f"study: {done}/{total} students", file=sys.stderr, flush=True)
