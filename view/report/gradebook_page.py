"""The gradebook as a self-contained HTML page, for one student or the whole class, from the progress store's rows
(`Store.progress` lessons and `Store.gradebook` assignments): the assignments and their status, then each student's
lessons over time as a chart and a table. `<main>`'s data-* attributes repeat the counts it shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import PurePath
from typing import Any

from flutex.tutor.progress.reports import DEFAULT_PASS_PERCENT, OVERDUE, PASSED
from flutex.view.report import svg
from flutex.view.report.markup import Markup, legend, page, table, tag
from flutex.view.report.progress_chart import LEGEND, progress_chart

CHART_SIZE = (1200.0, 200.0)
Row = dict[str, Any]


def gradebook_page(
    lessons: Sequence[Row], assignments: Sequence[Row], *, today: date, student: str | None = None
) -> str:
    """The page of `student` (their rows only) or of everyone in the rows (None); `today` dates the statuses."""
    students = list(dict.fromkeys([*(row["student"] for row in lessons), *(row["student"] for row in assignments)]))
    title = f"Gradebook: {student}" if student else "Gradebook: the class"
    facts = (
        f"{len(students)} student{'s' * (len(students) != 1)} · {len(lessons)} lessons · "
        f"{len(assignments)} assignments · statuses as of {today.isoformat()}"
    )
    body = [tag("section", [tag("h1", title), tag("p", facts, cls="sub")], id="header")]
    body.append(_assignments(assignments, with_student=student is None))
    if student is None and students:
        body.append(_class_table(students, lessons, assignments))
    for k, name in enumerate(students):
        body.append(_student(k, name, [row for row in lessons if row["student"] == name]))
    return page(
        title,
        body,
        style=svg.STYLE,
        data_report="gradebook",
        data_students=len(students),
        data_lessons=len(lessons),
        data_assignments=len(assignments),
        data_passed=sum(row["status"] == PASSED for row in assignments),
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _status(status: str) -> Markup:
    return tag("span", status, cls={PASSED: "passed", OVERDUE: "overdue"}.get(status))


def _assignments(rows: Sequence[Row], *, with_student: bool) -> Markup:
    if not rows:
        return tag("section", [tag("h2", "Assignments"), tag("p", "No assignments yet.")], id="assignments")
    header = (
        *(("student",) if with_student else ()),
        "plan",
        "due",
        "lessons on it",
        "best unguided clean %",
        "needed",
        "status",
    )
    body = [
        (
            *((row["student"],) if with_student else ()),
            PurePath(row["plan_path"]).name,
            row["due"],
            row["lessons"],
            _percent(row["best_unguided_clean_percent"]),
            f"{row['criteria'].get('min_unguided_clean_percent', DEFAULT_PASS_PERCENT):g}%",
            _status(row["status"]),
        )
        for row in rows
    ]
    first_number = 3 if with_student else 2
    return tag(
        "section",
        [tag("h2", "Assignments"), table(header, body, numeric=(first_number, first_number + 1))],
        id="assignments",
    )


def _class_table(students: Sequence[str], lessons: Sequence[Row], assignments: Sequence[Row]) -> Markup:
    """One row per student: how many lessons, the last one's numbers, the best, and their assignments passed."""
    header = (
        "student",
        "lessons",
        "last lesson",
        "clean %",
        "unguided clean %",
        "best unguided clean %",
        "mastered",
        "assignments passed",
    )
    rows = []
    for name in students:
        theirs = [row for row in lessons if row["student"] == name]
        tasks = [row for row in assignments if row["student"] == name]
        last = theirs[-1] if theirs else None
        scores = [row["unguided_clean_percent"] for row in theirs if row["unguided_clean_percent"] is not None]
        rows.append(
            (
                name,
                len(theirs),
                "-" if last is None else str(last["started"])[:10],
                _percent(None if last is None else last["clean_percent"]),
                _percent(None if last is None else last["unguided_clean_percent"]),
                _percent(max(scores, default=None)),
                "-" if last is None else f"{last['mastered_segments']}/{last['segments']}",
                f"{sum(row['status'] == PASSED for row in tasks)}/{len(tasks)}",
            )
        )
    return tag("section", [tag("h2", "Students"), table(header, rows, numeric=range(1, 8))], id="students")


def _student(k: int, name: str, lessons: Sequence[Row]) -> Markup:
    parts: list[str] = [tag("h2", name)]
    if not lessons:
        parts.append(tag("p", "No lessons recorded yet."))
    else:
        header = ("date", "plan", "attempts", "clean %", "unguided clean %", "mastered")
        rows = [
            (
                str(row["started"])[:16].replace("T", " "),
                row["plan"],
                row["attempts"],
                _percent(row["clean_percent"]),
                _percent(row["unguided_clean_percent"]),
                f"{row['mastered_segments']}/{row['segments']}",
            )
            for row in lessons
        ]
        parts += [
            legend(LEGEND),
            progress_chart(lessons, size=CHART_SIZE, label=f"{name}: clean % by lesson"),
            table(header, rows, numeric=(2, 3, 4, 5)),
        ]
    return tag("section", parts, id=f"student-{k + 1}", cls="student", data_student=name, data_lessons=len(lessons))
