"""`flutex plan`: write a lesson plan from the commented template (`new`), or validate plans (`check`).

`check` reads every plan it is given and reports every problem of every plan (`FILE:LINE: ...` on stderr, exit 2),
so a teacher fixing a folder of plans sees all of it at once; a valid plan gets one summary line on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flutex.host.errors import UsageError
from flutex.tutor.lesson.plan import LessonPlan, PlanError, load_plan
from flutex.tutor.lesson.template import DEFAULT_PIECE, phrase_bars, template
from flutex.tutor.score.library import resolve
from flutex.tutor.score.load import load_score


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its sub-commands on the parser `flutex` made for it."""
    parser.description = (
        "Lesson plans are TOML files a teacher writes: the piece, its segments, the tempo ramp, what counts as a "
        "pass and how much the flute may guide. `flutex plan new` writes a commented template; `flutex plan check` "
        "validates plans. The format: docs/lessons.md."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new",
        help="write a commented plan template",
        description="Write a complete plan, every key explained in a comment, with the piece's phrases as its "
        "segments: to FILE, or to stdout without one.",
    )
    new.add_argument("file", metavar="FILE", nargs="?", type=Path, help="where to write it (default: stdout)")
    new.add_argument(
        "--piece", default=DEFAULT_PIECE, help=f"a library piece's name or a score file (default {DEFAULT_PIECE})"
    )
    new.add_argument("--title", default="My lesson", help="the lesson's title (default: My lesson)")
    new.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    new.set_defaults(run=run_new)
    check = actions.add_parser(
        "check",
        help="validate plans",
        description="Read each plan and its piece: one summary line per valid plan on stdout; every problem as "
        "FILE:LINE: ... on stderr, and exit 2 when there is one.",
    )
    check.add_argument("files", metavar="FILE", nargs="+", type=Path, help="a plan (.toml)")
    check.set_defaults(run=run_check)


def run_new(args: argparse.Namespace) -> int:
    score_file = resolve(args.piece)
    segments = phrase_bars(load_score(score_file))
    if args.file is None:
        sys.stdout.write(template(args.piece, segments, args.title))
        return 0
    if args.file.exists() and not args.force:
        raise UsageError(f"{args.file} exists; choose another name, or --force to overwrite it")
    piece = args.piece
    if Path(piece).is_file():  # a file: named relative to the plan's folder, where the plan looks for it
        piece = os.path.relpath(Path(piece).resolve(), args.file.resolve().parent)
    try:
        args.file.write_text(template(piece, segments, args.title), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {args.file}: {error.strerror}") from None
    print(f"wrote {args.file}; edit it, then `flutex plan check {args.file}`", file=sys.stderr)
    return 0


def run_check(args: argparse.Namespace) -> int:
    problems = []
    for path in args.files:
        try:
            print(summary(path, load_plan(path)))
        except PlanError as error:
            problems.append(str(error))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return PlanError.exit_code
    return 0


def summary(path: Path, plan: LessonPlan) -> str:
    """One line: the title, the piece, the bars of each segment and the policy."""
    bars = ", ".join(f"{segment.first_bar}-{segment.last_bar}" for segment in plan.segments)
    return (
        f"{path}: {plan.title!r}, {plan.piece} ({plan.instrument}); bars {bars}; {plan.guidance.policy} policy, "
        f"modes {'/'.join(plan.guidance.modes)}"
    )
