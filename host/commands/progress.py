"""`flutex progress`: a student's lessons as a table and a trend, every attempt as CSV, assignments, the gradebook,
and forgetting a student (docs/progress.md).

The store (and, for a PostgreSQL URL, psycopg) is opened by the function that runs, so `--help` loads neither.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from flutex.host.errors import UsageError
from flutex.tutor.progress import Store, open_store
from flutex.tutor.progress.location import URL_HELP
from flutex.tutor.progress.reports import DEFAULT_PASS_PERCENT

SPARKS = "▁▂▃▄▅▆▇█"  # 0..100 % in eighths: one scale for every student, so trends compare


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Show progress: one row per lesson (date, plan, attempts, clean %, unguided clean %, mastered segments) and "
        "the trend of clean % per lesson; with a sub-command, assign a plan, read the gradebook, or forget a student."
    )
    parser.add_argument("--store", metavar="URL", help=f"the progress store: {URL_HELP}")
    parser.add_argument("--student", metavar="NAME", help="one student's lessons (default: everyone's)")
    parser.add_argument(
        "--csv", metavar="FILE|-", help="also write every attempt as a CSV row to FILE ('-': only the CSV, on stdout)"
    )
    parser.set_defaults(run=run_table)
    commands = parser.add_subparsers(dest="action", metavar="ACTION")
    assign = commands.add_parser(
        "assign",
        help="assign a lesson plan to a student, due on a date",
        description="Assign a lesson plan (checked first) to a student, to pass by a date: an unguided clean % of "
        "at least --min-clean and every segment of the plan mastered, in one lesson.",
    )
    assign.add_argument("plan", type=Path, metavar="PLAN", help="the lesson plan's TOML file")
    assign.add_argument("--student", metavar="NAME", required=True, help="who it is for")
    assign.add_argument("--due", metavar="YYYY-MM-DD", required=True, type=_due_date, help="the date it is due")
    assign.add_argument(
        "--min-clean",
        metavar="PERCENT",
        type=_percent,
        default=DEFAULT_PASS_PERCENT,
        help=f"unguided clean %% needed to pass (default {DEFAULT_PASS_PERCENT:g})",
    )
    gradebook = commands.add_parser(
        "gradebook",
        help="every assignment with its status and best score",
        description="Every assignment of every student: plan, due date, lessons on it, best unguided clean %, and "
        "its status (not started, in progress, passed, overdue).",
    )
    forget = commands.add_parser(
        "forget",
        help="delete a student and everything recorded about them",
        description="Delete a student and all their lessons, attempts, grades, review cards, mastery and "
        "assignments from the store (their personal data). It cannot be undone.",
    )
    forget.add_argument("name", metavar="NAME", help="the student's name, as stored")
    for sub in (assign, gradebook, forget):
        # SUPPRESS: a --store given before the sub-command is kept when it is not given again after it
        sub.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=f"the progress store: {URL_HELP}")
    assign.set_defaults(run=run_assign)
    gradebook.set_defaults(run=run_gradebook)
    forget.set_defaults(run=run_forget)


def run_table(args: argparse.Namespace) -> int:
    with open_store(args.store, create=False) as store:
        lessons = store.progress(args.student)
        if args.csv == "-":
            store.export_csv(sys.stdout, args.student)
        elif args.csv:
            written = _write_csv(store, Path(args.csv), args.student)
            print(f"wrote {written} attempts to {args.csv}", file=sys.stderr)
    if not lessons:
        print("no lessons recorded" + (f" for {args.student}" if args.student else "") + " yet", file=_out(args))
        return 0
    if args.csv == "-":
        return 0
    print(_table(lessons))
    for line in trend_lines(lessons):
        print(line)
    return 0


def run_assign(args: argparse.Namespace) -> int:
    from flutex.tutor.lesson.plan import load_plan

    plan = load_plan(args.plan)
    criteria = {"min_unguided_clean_percent": args.min_clean, "mastered_segments": len(plan.segments)}
    path = str(args.plan.resolve())
    with open_store(args.store) as store:
        number = store.assign(args.student, path, args.due, criteria)
    print(f"assignment {number}: {plan.title!r} for {args.student}, due {args.due.isoformat()} ({path})")
    return 0


def run_gradebook(args: argparse.Namespace) -> int:
    with open_store(args.store, create=False) as store:
        rows = store.gradebook()
    if not rows:
        print("no assignments yet (add one with `flutex progress assign PLAN --student NAME --due YYYY-MM-DD`)")
        return 0
    header = ("student", "plan", "due", "lessons", "best unguided clean %", "status")
    body = [
        (row["student"], Path(row["plan_path"]).name, row["due"], str(row["lessons"]),
         _percent_text(row["best_unguided_clean_percent"]), row["status"])
        for row in rows
    ]  # fmt: skip
    print(_columns(header, body))
    return 0


def run_forget(args: argparse.Namespace) -> int:
    with open_store(args.store, create=False) as store:
        if not store.forget(args.name):
            raise UsageError(f"no student named {args.name!r} in the store (names are exact: see `flutex progress`)")
    print(f"forgot {args.name}: their lessons, attempts, grades, review cards, mastery and assignments are deleted")
    return 0


def trend_lines(lessons: Sequence[dict[str, Any]]) -> list[str]:
    """Per student, clean % lesson by lesson as a sparkline, and the change from the first lesson to the last."""
    lines = []
    for student in dict.fromkeys(lesson["student"] for lesson in lessons):
        values = [
            lesson["clean_percent"]
            for lesson in lessons
            if lesson["student"] == student and lesson["clean_percent"] is not None
        ]
        if not values:
            continue
        change = values[-1] - values[0]
        lines.append(
            f"{student}: clean % by lesson {sparkline(values)} {values[0]:g}% -> {values[-1]:g}% "
            f"({change:+.1f} points over {len(values)} lesson{'s' if len(values) > 1 else ''})"
        )
    return lines


def sparkline(percents: Sequence[float]) -> str:
    return "".join(SPARKS[min(len(SPARKS) - 1, int(value / 100 * len(SPARKS)))] for value in percents)


def _table(lessons: Sequence[dict[str, Any]]) -> str:
    header = ("date", "student", "plan", "attempts", "clean %", "unguided clean %", "mastered")
    body = [
        (lesson["started"][:16].replace("T", " "), lesson["student"], lesson["plan"], str(lesson["attempts"]),
         _percent_text(lesson["clean_percent"]), _percent_text(lesson["unguided_clean_percent"]),
         f"{lesson['mastered_segments']}/{lesson['segments']}")
        for lesson in lessons
    ]  # fmt: skip
    return _columns(header, body)


def _columns(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """Left-aligned text columns, two spaces apart."""
    rows = [header, *body]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _write_csv(store: Store, path: Path, student: str | None) -> int:
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            return store.export_csv(out, student)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None


def _percent_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _out(args: argparse.Namespace):
    """Messages go to stderr when stdout carries the CSV."""
    return sys.stderr if args.csv == "-" else sys.stdout


def _due_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"not a percentage from 0 to 100: {text!r}")
    return value
