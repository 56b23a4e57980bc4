"""The progress store: every lesson, attempt, graded note and guidance decision of every student, plus review
cards, mastery and the teacher's assignments, in SQLite or PostgreSQL (one schema, see `migrations`).

Each method is one transaction: an attempt lands with its decision and all its grades, or (locked, full, server
gone) not at all, and the earlier records stay as they were.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, TextIO

from flutex.tutor.progress.database import Database, Transaction
from flutex.tutor.progress.errors import StoreError
from flutex.tutor.progress.location import DEFAULT_TIMEOUT_S, connect
from flutex.tutor.progress.migrations import migrate
from flutex.tutor.progress.reports import gradebook_row, lesson_row, mastery_of
from flutex.tutor.progress.rows import AttemptRow, LessonPlanRef

CSV_COLUMNS = (
    "student", "lesson", "started", "plan", "plan_digest", "attempt", "first_bar", "last_bar", "first_segment",
    "last_segment", "mode", "force_permille", "tempo_bpm", "probe", "notes", "clean_notes", "points", "possible",
    "errors", "guided_notes", "help_requested", "explanation",
)  # fmt: skip
NOTES_KEPT = 50  # learner notes kept per student: the newest; older ones are deleted as new ones come
MAX_NOTE_CHARS = 500
LESSON_SUMS = """
    SELECT l.id AS lesson, s.name AS student, p.title AS plan, p.path AS plan_path, l.device, l.started,
           l.finished, l.summary, COUNT(a.id) AS attempts,
           COALESCE(SUM(a.notes), 0) AS notes, COALESCE(SUM(a.clean_notes), 0) AS clean_notes,
           COALESCE(SUM(CASE WHEN a.guided_notes = 0 THEN a.notes ELSE 0 END), 0) AS unguided_notes,
           COALESCE(SUM(CASE WHEN a.guided_notes = 0 THEN a.clean_notes ELSE 0 END), 0) AS unguided_clean_notes
    FROM lessons l JOIN students s ON s.id = l.student_id JOIN plans p ON p.id = l.plan_id
    LEFT JOIN attempts a ON a.lesson_id = l.id
    {where}
    GROUP BY l.id, s.name, p.title, p.path, l.device, l.started, l.finished, l.summary
    ORDER BY l.started, l.id
"""
ATTEMPT_ROWS = """
    SELECT s.name AS student, l.id AS lesson, l.started, p.title AS plan, p.digest AS plan_digest,
           a.number AS attempt, d.first_bar, d.last_bar, d.first_segment, d.last_segment, d.mode, d.force_permille,
           d.tempo_bpm, d.probe, a.notes, a.clean_notes, a.points, a.possible, a.errors, a.guided_notes,
           a.help_requested, d.explanation
    FROM attempts a JOIN decisions d ON d.attempt_id = a.id JOIN lessons l ON l.id = a.lesson_id
    JOIN students s ON s.id = l.student_id JOIN plans p ON p.id = l.plan_id
    {where}
    ORDER BY l.started, l.id, a.number
"""


def open_store(url: str | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S, create: bool = True) -> Store:
    """Open (creating or migrating as needed) the store `url` names: None the default SQLite file
    (`$FLUTEX_HOME/progress.db`, else `~/.local/share/flutex/progress.db`), `sqlite:///PATH`, or
    `postgresql://USER:PASSWORD@HOST:PORT/DB`. `timeout_s`: how long to wait for a lock or a server. `create`
    False, for commands that only read: a SQLite file that is not there is an error. Raises `StoreError` (locked,
    full, newer schema, unreachable, folder not creatable, not there)."""
    database = connect(url, timeout_s, create)
    try:
        migrate(database)
    except BaseException:
        database.close()
        raise
    return Store(database)


class Store:
    """One connection to a progress store; a context manager that closes it. Safe for one writer per Store (calls
    from several threads are serialised); any number of processes may write to the same store at once."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None):
        self.close()

    def close(self) -> None:
        self.database.close()

    def student(self, name: str) -> int:
        """The student's id, added on first use."""
        with self.database.transaction() as transaction:
            return _student_id(transaction, name)

    def begin_lesson(self, student: str, plan: LessonPlanRef, device: str, started: datetime) -> int:
        with self.database.transaction() as transaction:
            student_id = _student_id(transaction, student)
            plan_id = transaction.insert(
                "INSERT INTO plans (title, path, digest) VALUES (?, ?, ?) "
                "ON CONFLICT (path, digest) DO UPDATE SET title = excluded.title RETURNING id",
                (plan.title, str(plan.path), plan.digest),
            )
            return transaction.insert(
                "INSERT INTO lessons (student_id, plan_id, device, started) VALUES (?, ?, ?, ?) RETURNING id",
                (student_id, plan_id, device, _iso(started)),
            )

    def record_attempt(self, lesson_id: int, attempt: AttemptRow) -> int:
        """Store an attempt, its decision and its graded notes in one transaction; give the attempt's id."""
        grades = [
            (position, grade.get("index"), ",".join(grade.get("errors", ())), json.dumps(grade, sort_keys=True))
            for position, grade in enumerate(attempt.grades)
        ]
        with self.database.transaction() as transaction:
            self._lesson(transaction, lesson_id)
            attempt_id = transaction.insert(
                "INSERT INTO attempts (lesson_id, number, notes, clean_notes, points, possible, errors, guided_notes, "
                "help_requested) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    lesson_id, attempt.number, attempt.notes, attempt.clean_notes, attempt.points, attempt.possible,
                    json.dumps(attempt.errors, sort_keys=True), attempt.guided_notes, attempt.help_requested,
                ),
            )  # fmt: skip
            transaction.execute(
                "INSERT INTO decisions (attempt_id, first_bar, last_bar, first_segment, last_segment, mode, "
                "force_permille, tempo_bpm, probe, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt_id, attempt.first_bar, attempt.last_bar, attempt.segments[0], attempt.segments[1],
                    attempt.mode, attempt.force_permille, attempt.tempo_bpm, attempt.probe, attempt.explanation,
                ),
            )  # fmt: skip
            for grade in grades:
                transaction.execute(
                    "INSERT INTO note_grades (attempt_id, position, note_index, errors, grade) VALUES (?, ?, ?, ?, ?)",
                    (attempt_id, *grade),
                )
            return attempt_id

    def attempt_grades(self, attempt_id: int) -> list[dict[str, Any]]:
        """The graded notes of an attempt, in the order they were recorded (each as the JSON it was given)."""
        with self.database.transaction(write=False) as transaction:
            rows = transaction.rows(
                "SELECT grade FROM note_grades WHERE attempt_id = ? ORDER BY position", (attempt_id,)
            )
        return [json.loads(row["grade"]) for row in rows]

    def finish_lesson(self, lesson_id: int, summary: dict[str, Any]) -> None:
        """Close a lesson with its summary (JSON); `summary["mastery"]` ({segment: 0..1}) becomes the student's
        mastery of the plan, carried to the next lesson."""
        text = json.dumps(summary, sort_keys=True)
        with self.database.transaction() as transaction:
            lesson = self._lesson(transaction, lesson_id)
            transaction.execute(
                "UPDATE lessons SET finished = ?, summary = ? WHERE id = ?", (_iso(datetime.now(UTC)), text, lesson_id)
            )
            _upsert_by_segment(
                transaction, "mastery", "value", lesson["student_id"], lesson["digest"], mastery_of(summary)
            )

    def cards(self, student: str, plan_digest: str) -> dict[int, str]:
        """The student's fsrs review cards (JSON) of the plan, by segment ({} for a new student or plan)."""
        return {
            int(row["segment"]): row["value"] for row in self._by_segment("review_cards", "card", student, plan_digest)
        }

    def save_cards(self, student: str, plan_digest: str, cards: dict[int, str]) -> None:
        with self.database.transaction() as transaction:
            _upsert_by_segment(
                transaction, "review_cards", "card", _student_id(transaction, student), plan_digest, cards
            )

    def mastery(self, student: str, plan_digest: str) -> dict[int, float]:
        """Per plan segment, 0..1, as the student's last finished lesson on that plan left it."""
        rows = self._by_segment("mastery", "value", student, plan_digest)
        return {int(row["segment"]): float(row["value"]) for row in rows}

    def assign(self, student: str, plan_path: str, due: date, criteria: dict[str, Any]) -> int:
        with self.database.transaction() as transaction:
            return transaction.insert(
                "INSERT INTO assignments (student_id, plan_path, due, criteria, created) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    _student_id(transaction, student), plan_path, due.isoformat(),
                    json.dumps(criteria, sort_keys=True), _iso(datetime.now(UTC)),
                ),
            )  # fmt: skip

    def assignments(self, student: str | None = None) -> list[dict[str, Any]]:
        """Assignments (oldest first): id, student, plan_path, due (ISO date), criteria, created."""
        where, params = _student_filter(student)
        with self.database.transaction(write=False) as transaction:
            rows = transaction.rows(
                "SELECT a.id, s.name AS student, a.plan_path, a.due, a.criteria, a.created FROM assignments a "
                f"JOIN students s ON s.id = a.student_id {where} ORDER BY a.due, a.id",
                params,
            )
        return [{**row, "id": int(row["id"]), "criteria": json.loads(row["criteria"])} for row in rows]

    def progress(self, student: str | None = None) -> list[dict[str, Any]]:
        """One row per lesson, oldest first: lesson, student, started, finished, plan, plan_path, device, attempts,
        clean_percent, unguided_clean_percent (None without notes), mastered_segments of segments."""
        where, params = _student_filter(student)
        with self.database.transaction(write=False) as transaction:
            return [lesson_row(row) for row in transaction.rows(LESSON_SUMS.format(where=where), params)]

    def gradebook(self, today: date | None = None) -> list[dict[str, Any]]:
        """Per student and assignment: the assignment, lessons on its plan, best unguided clean %, and a status
        (not started / in progress / passed / overdue, as of `today`)."""
        lessons = self.progress()
        when = today or date.today()
        return [
            gradebook_row(
                assignment,
                [
                    lesson
                    for lesson in lessons
                    if lesson["student"] == assignment["student"] and lesson["plan_path"] == assignment["plan_path"]
                ],
                when,
            )
            for assignment in self.assignments()
        ]

    def export_csv(self, out: TextIO, student: str | None = None) -> int:
        """Every attempt (of one student, or all) as a CSV row with a header (`CSV_COLUMNS`); give the row count."""
        where, params = _student_filter(student)
        with self.database.transaction(write=False) as transaction:
            rows = transaction.rows(ATTEMPT_ROWS.format(where=where), params)
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "probe": bool(row["probe"]), "help_requested": bool(row["help_requested"])})
        return len(rows)

    def remember(self, student: str, fact: str, kind: str = "note") -> None:
        """Keep a short fact about the student (the learner memory: what helps them, what they asked for); only
        the newest NOTES_KEPT are kept, so the memory stays small however many lessons there are."""
        text = " ".join(fact.split())
        if not text or len(text) > MAX_NOTE_CHARS:
            raise StoreError(f"a learner note must be 1 to {MAX_NOTE_CHARS} characters, not {len(text)}")
        with self.database.transaction() as transaction:
            student_id = _student_id(transaction, student)
            transaction.execute(
                "INSERT INTO learner_notes (student_id, kind, fact, created) VALUES (?, ?, ?, ?)",
                (student_id, kind, text, _iso(datetime.now(UTC))),
            )
            transaction.execute(
                "DELETE FROM learner_notes WHERE student_id = ? AND id NOT IN "
                "(SELECT id FROM learner_notes WHERE student_id = ? ORDER BY id DESC LIMIT ?)",
                (student_id, student_id, NOTES_KEPT),
            )

    def memory(self, student: str, limit: int = 20) -> list[str]:
        """The student's newest `limit` learner notes, oldest first; a note of another kind than "note" is
        prefixed with it ("asked: slower please")."""
        if limit < 1:
            return []
        with self.database.transaction(write=False) as transaction:
            rows = transaction.rows(
                "SELECT n.kind, n.fact FROM learner_notes n JOIN students s ON s.id = n.student_id "
                "WHERE s.name = ? ORDER BY n.id DESC LIMIT ?",
                (student, limit),
            )
        return [row["fact"] if row["kind"] == "note" else f"{row['kind']}: {row['fact']}" for row in reversed(rows)]

    def forget(self, student: str) -> bool:
        """Delete the student and everything recorded about them (lessons, attempts, grades, cards, mastery,
        assignments, learner notes); False when there was no such student. Plans, which name no one, stay."""
        with self.database.transaction() as transaction:
            return bool(transaction.rows("DELETE FROM students WHERE name = ? RETURNING id", (student,)))

    def _lesson(self, transaction: Transaction, lesson_id: int) -> dict[str, Any]:
        rows = transaction.rows(
            "SELECT l.student_id, p.digest FROM lessons l JOIN plans p ON p.id = l.plan_id WHERE l.id = ?",
            (lesson_id,),
        )
        if not rows:
            raise StoreError(f"no lesson {lesson_id} in the progress store {self.database.description}")
        return rows[0]

    def _by_segment(self, table: str, column: str, student: str, plan_digest: str) -> list[dict[str, Any]]:
        with self.database.transaction(write=False) as transaction:
            return transaction.rows(
                f"SELECT t.segment, t.{column} AS value FROM {table} t JOIN students s ON s.id = t.student_id "
                "WHERE s.name = ? AND t.plan_digest = ? ORDER BY t.segment",
                (student, plan_digest),
            )


def _student_id(transaction: Transaction, name: str) -> int:
    if not name.strip():
        raise StoreError("a student needs a name (--student NAME)")
    transaction.execute(
        "INSERT INTO students (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, _iso(datetime.now(UTC))),
    )
    return int(transaction.rows("SELECT id FROM students WHERE name = ?", (name,))[0]["id"])


def _upsert_by_segment(
    transaction: Transaction, table: str, column: str, student_id: int, plan_digest: str, values: Mapping[int, Any]
) -> None:
    """Set one value per segment of a student's plan (review cards, mastery), in segment order (no deadlocks)."""
    for segment in sorted(values):
        transaction.execute(
            f"INSERT INTO {table} (student_id, plan_digest, segment, {column}) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT (student_id, plan_digest, segment) DO UPDATE SET {column} = excluded.{column}",
            (student_id, plan_digest, segment, values[segment]),
        )


def _student_filter(student: str | None) -> tuple[str, tuple[str, ...]]:
    return ("", ()) if student is None else ("WHERE s.name = ?", (student,))


def _iso(moment: datetime) -> str:
    """ISO 8601 to the second, in UTC when the time says its zone (so stored times sort as they happened)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")
