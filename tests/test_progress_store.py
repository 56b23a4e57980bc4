"""The progress store, the same tests on SQLite and on a real PostgreSQL server (`FLUTEX_TEST_POSTGRES`, which
.ci/run sets after starting one; without it the PostgreSQL cases skip, except in CI, where they fail)."""

from __future__ import annotations

import csv
import io
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from flutex.tutor.progress import AttemptRow, LessonPlanRef, StoreError, open_store
from flutex.tutor.progress.location import connect, default_path
from flutex.tutor.progress.migrations import latest_version, migrations
from flutex.tutor.progress.store import CSV_COLUMNS

POSTGRES_ENV = "FLUTEX_TEST_POSTGRES"
PLAN = LessonPlanRef("First lesson", "/plans/first_lesson.toml", "digest-1")
WORKERS, ATTEMPTS_EACH = 8, 25
TESTS = Path(__file__).parent
# One writer process of the concurrency test: opens the store (migrating it if it is the first), says "ready",
# waits for the go (a line on stdin), then writes a lesson of ATTEMPTS attempts.
WRITER = """
import sys
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[4])
from test_progress_store import PLAN, make_attempt
from flutex.tutor.progress import open_store
url, worker, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open_store(url, timeout_s=60) as store:
    print("ready", flush=True)
    sys.stdin.readline()
    lesson = store.begin_lesson(f"student {worker}", PLAN, "sim://", datetime.now(UTC))
    for number in range(1, attempts + 1):
        store.record_attempt(lesson, make_attempt(number, guided=number % 2 == 0))
    store.finish_lesson(lesson, {"mastery": {"0": 1.0}})
"""
# Another program holding the SQLite write lock until its stdin closes.
LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


def make_attempt(number: int, guided: bool = False, errors: int = 1, grades: int = 4, pad: str = "") -> AttemptRow:
    """An attempt of `grades` notes, the first `errors` of them late."""
    notes = tuple(
        {"index": index, "errors": ["late"] if index < errors else [], "points": 2, "possible": 3, "pad": pad}
        for index in range(grades)
    )
    return AttemptRow(
        number=number,
        first_bar=1,
        last_bar=2,
        segments=(0, 0),
        mode="guided" if guided else "free",
        force_permille=1000 if guided else 0,
        tempo_bpm=72.5,
        probe=not guided,
        notes=grades,
        clean_notes=grades - errors,
        points=2 * grades,
        possible=3 * grades,
        errors={"late": errors} if errors else {},
        guided_notes=grades if guided else 0,
        help_requested=guided,
        explanation=f"attempt {number}" if number % 2 else None,
        grades=notes,
    )


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"{POSTGRES_ENV} is not set (.ci/run starts a PostgreSQL server and sets it)")
    return url


def postgres_schema_url():
    """A fresh schema for one test, dropped after it: the URL points the store's connection at it."""
    import psycopg

    url = postgres_url()
    schema = f"flutex_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options={quote(f'-c search_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def csv_rows(store, student=None) -> list[dict[str, str]]:
    out = io.StringIO()
    count = store.export_csv(out, student)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == count
    return rows


def test_every_method_round_trips(store_url):
    started = datetime(2026, 5, 1, 14, 3, tzinfo=UTC)
    attempts = [make_attempt(1, guided=True), make_attempt(2, errors=0), make_attempt(3, errors=2)]
    with open_store(store_url) as store:
        assert store.student("Ann") == store.student("Ann")
        lesson = store.begin_lesson("Ann", PLAN, "sim://", started)
        ids = [store.record_attempt(lesson, attempt) for attempt in attempts]
        store.finish_lesson(lesson, {"mastery": {"0": 1.0, "1": 0.4}, "note": "kept"})
        store.save_cards("Ann", PLAN.digest, {0: '{"card": 0}', 1: '{"card": 1}'})
        store.save_cards("Ann", PLAN.digest, {1: '{"card": "1b"}'})
        due = date(2026, 6, 1)
        assignment = store.assign("Ann", PLAN.path, due, {"min_unguided_clean_percent": 50, "mastered_segments": 1})

        assert store.attempt_grades(ids[2]) == list(attempts[2].grades)
        assert store.mastery("Ann", PLAN.digest) == {0: 1.0, 1: 0.4}
        assert store.mastery("Ann", "another plan") == {}
        assert store.cards("Ann", PLAN.digest) == {0: '{"card": 0}', 1: '{"card": "1b"}'}
        assert store.cards("Nobody", PLAN.digest) == {}
        [row] = store.progress("Ann")
        unguided = attempts[1:]
        assert row["lesson"] == lesson and row["plan"] == PLAN.title and row["attempts"] == 3
        assert row["started"] == started.isoformat() and row["finished"] is not None
        expected_clean = 100 * sum(a.clean_notes for a in attempts) / sum(a.notes for a in attempts)
        assert row["clean_percent"] == round(expected_clean, 1)
        expected_unguided = 100 * sum(a.clean_notes for a in unguided) / sum(a.notes for a in unguided)
        assert row["unguided_clean_percent"] == round(expected_unguided, 1)
        assert (row["mastered_segments"], row["segments"]) == (1, 2)
        assert store.progress("Bob") == []
        [listed] = store.assignments("Ann")
        assert listed["id"] == assignment and listed["due"] == due.isoformat()
        assert listed["criteria"] == {"min_unguided_clean_percent": 50, "mastered_segments": 1}
        [graded] = store.gradebook(today=due)
        assert graded["status"] == "passed" and graded["best_unguided_clean_percent"] == row["unguided_clean_percent"]
        exported = csv_rows(store)
    assert [int(line["attempt"]) for line in exported] == [1, 2, 3]
    assert list(exported[0]) == list(CSV_COLUMNS)
    for line, attempt in zip(exported, attempts, strict=True):
        assert line["student"] == "Ann" and line["mode"] == attempt.mode
        assert float(line["tempo_bpm"]) == attempt.tempo_bpm
        assert (line["probe"], line["help_requested"]) == (str(attempt.probe), str(attempt.help_requested))
        assert line["explanation"] == (attempt.explanation or "")
        assert int(line["clean_notes"]) == attempt.clean_notes


def test_gradebook_statuses(store_url):
    with open_store(store_url) as store:
        store.assign("Ann", "/a.toml", date(2026, 5, 1), {})
        store.assign("Ann", PLAN.path, date(2026, 5, 10), {})
        lesson = store.begin_lesson("Ann", PLAN, "sim://", datetime(2026, 5, 2, tzinfo=UTC))
        store.record_attempt(lesson, make_attempt(1, errors=2))
        statuses = {row["plan_path"]: row["status"] for row in store.gradebook(today=date(2026, 5, 5))}
        assert statuses == {"/a.toml": "overdue", PLAN.path: "in progress"}
        later = {row["plan_path"]: row["status"] for row in store.gradebook(today=date(2026, 4, 1))}
        assert later["/a.toml"] == "not started"


def test_migrations_from_empty_then_reopen(store_url):
    with open_store(store_url):
        pass
    with open_store(store_url) as store, store.database.transaction(write=False) as transaction:
        applied = transaction.rows("SELECT version, name FROM schema_version ORDER BY version")
    assert [(row["version"], row["name"]) for row in applied] == [(m.version, m.name) for m in migrations()]


def test_a_newer_store_is_refused_and_left_alone(store_url):
    with open_store(store_url) as store:
        store.begin_lesson("Ann", PLAN, "sim://", datetime.now(UTC))
        with store.database.transaction() as transaction:
            transaction.execute("INSERT INTO schema_version (version, name, applied) VALUES (?, 'future', 'x')", (999,))
    with pytest.raises(StoreError, match=rf"schema version 999.*versions 1 to {latest_version()}"):
        open_store(store_url)
    database = connect(store_url)
    with database.transaction(write=False) as transaction:
        assert len(transaction.rows("SELECT id FROM lessons")) == 1
    database.close()


def test_forget_deletes_a_student_and_only_them(store_url):
    with open_store(store_url) as store:
        for name in ("Ann", "Bob"):
            lesson = store.begin_lesson(name, PLAN, "sim://", datetime.now(UTC))
            store.record_attempt(lesson, make_attempt(1))
            store.finish_lesson(lesson, {"mastery": {"0": 0.5}})
            store.save_cards(name, PLAN.digest, {0: "{}"})
            store.assign(name, PLAN.path, date(2026, 6, 1), {})
        assert store.forget("Ann") is True
        assert store.forget("Ann") is False
        assert [row["student"] for row in store.progress()] == ["Bob"]
        assert {row["student"] for row in csv_rows(store)} == {"Bob"}
        assert [row["student"] for row in store.assignments()] == ["Bob"]
        assert store.cards("Ann", PLAN.digest) == {} and store.mastery("Ann", PLAN.digest) == {}
        with store.database.transaction(write=False) as transaction:
            grades = transaction.rows("SELECT COUNT(*) AS n FROM note_grades")[0]["n"]
        assert grades == len(make_attempt(1).grades)


def test_an_attempt_of_no_lesson_writes_nothing(store_url):
    with open_store(store_url) as store:
        with pytest.raises(StoreError, match="no lesson 12345"):
            store.record_attempt(12345, make_attempt(1))
        assert csv_rows(store) == []


def test_many_processes_writing_at_once_all_land(store_url):
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_url, str(worker), str(ATTEMPTS_EACH), str(TESTS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    try:
        for writer in writers:  # every one has opened the store: the writes start together
            assert writer.stdout.readline().strip() == "ready", writer.communicate()[1]
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        for writer in writers:
            _, errors = writer.communicate(timeout=120)
            assert writer.returncode == 0, errors
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    with open_store(store_url) as store:
        lessons = store.progress()
        exported = csv_rows(store)
        with store.database.transaction(write=False) as transaction:
            grades = transaction.rows("SELECT COUNT(*) AS n FROM note_grades")[0]["n"]
    assert sorted(row["student"] for row in lessons) == sorted(f"student {worker}" for worker in range(WORKERS))
    assert all(row["attempts"] == ATTEMPTS_EACH and row["mastered_segments"] == 1 for row in lessons)
    assert len(exported) == WORKERS * ATTEMPTS_EACH
    assert grades == WORKERS * ATTEMPTS_EACH * len(make_attempt(1).grades)


def test_a_locked_sqlite_store_says_so_and_recovers(tmp_path):
    path = tmp_path / "progress.db"
    store = open_store(f"sqlite://{path}", timeout_s=0.3)
    lesson = store.begin_lesson("Ann", PLAN, "sim://", datetime.now(UTC))
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout.readline().strip() == "locked"
        waited_from = time.monotonic()
        with pytest.raises(StoreError, match=r"is locked: another program .* over 0.3 s"):
            store.record_attempt(lesson, make_attempt(1))
        assert time.monotonic() - waited_from >= 0.3
        assert store.progress()[0]["attempts"] == 0  # readers are not blocked, and nothing was half-written
    finally:
        locker.communicate(input="", timeout=30)
    store.record_attempt(lesson, make_attempt(1))
    assert store.progress()[0]["attempts"] == 1
    store.close()


def test_a_full_sqlite_store_says_so_and_keeps_what_it_had(tmp_path):
    store = open_store(f"sqlite://{tmp_path / 'progress.db'}")
    lesson = store.begin_lesson("Ann", PLAN, "sim://", datetime.now(UTC))
    store.record_attempt(lesson, make_attempt(1))
    before = (store.progress(), csv_rows(store))
    connection = store.database.connection
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: as a full disk
    with pytest.raises(StoreError, match="full; nothing of this change was written"):
        store.record_attempt(lesson, make_attempt(2, grades=200, pad="x" * 500))
    assert (store.progress(), csv_rows(store)) == before
    connection.execute(f"PRAGMA max_page_count = {pages * 1000}")
    store.record_attempt(lesson, make_attempt(2))
    assert [row["attempt"] for row in csv_rows(store)] == ["1", "2"]
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match=rf"cannot create the folder {blocker / 'sub'}"):
        open_store(f"sqlite://{blocker / 'sub' / 'progress.db'}")


def test_not_a_database_is_named(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="not a readable SQLite database"):
        open_store(str(path))
    assert path.read_bytes().startswith(b"these are my notes")


def test_an_unknown_scheme_is_refused():
    with pytest.raises(StoreError, match="not a progress store URL: 'mysql://x'"):
        open_store("mysql://x")


def test_the_default_store_is_under_flutex_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUTEX_HOME", str(tmp_path / "home"))
    with open_store() as store:
        store.student("Ann")
    assert default_path() == tmp_path / "home" / "progress.db" and default_path().exists()


def test_a_server_that_does_not_answer_is_named():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(
        StoreError, match=rf"cannot open the progress store postgresql://x@127.0.0.1:{port}/db.*running"
    ):
        open_store(f"postgresql://x:secret@127.0.0.1:{port}/db", timeout_s=2)
    assert time.monotonic() - started < 30


def test_bad_credentials_are_named_without_the_password():
    parts = urlsplit(postgres_url())
    wrong = urlunsplit(parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}"))
    with pytest.raises(StoreError, match=r"password authentication failed.*check the user and password") as caught:
        open_store(wrong)
    assert "not-the-password" not in str(caught.value)


def test_sqlite_stores_in_wal_mode_with_foreign_keys(tmp_path):
    with open_store(f"sqlite://{tmp_path / 'progress.db'}") as store:
        connection: sqlite3.Connection = store.database.connection
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_times_are_stored_in_utc(store_url):
    local = datetime(2026, 5, 1, 16, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    with open_store(store_url) as store:
        store.begin_lesson("Ann", PLAN, "sim://", local)
        assert store.progress()[0]["started"] == "2026-05-01T16:00:00+00:00"
