"""`flutex report`: a lesson's recording, or the gradebook, as one self-contained HTML page (docs/report.md).

The recording reader, the progress store and the page builders are imported by the function that runs, so
`--help` loads none of them.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from flutex.host.errors import UsageError
from flutex.tutor.progress.location import URL_HELP


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Write one HTML page that opens offline in any browser (no script, nothing fetched): either a lesson's "
        "report from its recording (pitch against the score, breath, guidance and grades over time, each attempt "
        "and segment), or, with --gradebook, the gradebook of one student or of the whole class from the progress "
        "store (lessons over time, assignments and their status)."
    )
    parser.epilog = (
        "examples: flutex report 2026-11-29_22-33-16.mcap --out lesson.html; "
        "flutex report --gradebook --student Ann --store sqlite:///school.db --out ann.html"
    )
    parser.add_argument(
        "session",
        nargs="?",
        metavar="SESSION",
        help="a recording: its path, or its file name in the sessions folder (`flutex sessions` lists them)",
    )
    parser.add_argument("--gradebook", action="store_true", help="report the progress store instead of a recording")
    parser.add_argument("--student", metavar="NAME", help="with --gradebook: one student's page (default: the class)")
    parser.add_argument("--store", metavar="URL", help=f"with --gradebook, the progress store: {URL_HELP}")
    parser.add_argument("--out", metavar="FILE", type=Path, required=True, help="the HTML file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.gradebook == (args.session is not None):
        raise UsageError("give a SESSION to report, or --gradebook (one of the two)")
    if not args.gradebook and (args.student or args.store):
        raise UsageError("--student and --store go with --gradebook")
    page, summary = _gradebook(args.store, args.student) if args.gradebook else _session(args.session)
    try:
        args.out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {args.out}: {error.strerror}") from None
    print(f"wrote {args.out} ({len(page.encode()) / 1000:.0f} kB): {summary}")
    return 0


def _session(name: str) -> tuple[str, str]:
    from flutex.host.commands.recorded import read_recorded
    from flutex.view.report.session_page import SessionSource, session_page

    recorded = read_recorded(Path(name))
    picture = recorded.picture
    source = SessionSource(recorded.path.name, recorded.started_at, recorded.cut_short)
    clean = sum(grade.clean for grade in picture.grades)
    summary = f"{len(picture.attempts)} attempts, {clean}/{len(picture.grades)} notes clean"
    return session_page(picture, source), summary + ("" if source.cut_short is None else " (recording cut short)")


def _gradebook(url: str | None, student: str | None) -> tuple[str, str]:
    from flutex.tutor.progress import open_store
    from flutex.view.report.gradebook_page import gradebook_page

    today = date.today()
    with open_store(url, create=False) as store:
        lessons = store.progress(student)
        assignments = [row for row in store.gradebook(today) if student is None or row["student"] == student]
    if student is not None and not lessons and not assignments:
        raise UsageError(
            f"no lessons or assignments for {student!r} in the store (names are exact: see `flutex progress`)"
        )
    page = gradebook_page(lessons, assignments, today=today, student=student)
    return page, f"{len(lessons)} lessons, {len(assignments)} assignments"
