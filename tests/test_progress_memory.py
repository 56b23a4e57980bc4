"""The learner memory in the progress store, on SQLite and on a real PostgreSQL server (`FLUTEX_TEST_POSTGRES`):
notes kept in order, bounded per student, separate between students, upgraded onto an older store, and deleted
when the student is forgotten."""

from __future__ import annotations

import sqlite3

import pytest

from flutex.tutor.progress import StoreError, open_store
from flutex.tutor.progress.store import MAX_NOTE_CHARS, NOTES_KEPT


def note_count(store, student: str) -> int:
    with store.database.transaction(write=False) as transaction:
        rows = transaction.rows(
            "SELECT COUNT(*) AS n FROM learner_notes n JOIN students s ON s.id = n.student_id WHERE s.name = ?",
            (student,),
        )
    return int(rows[0]["n"])


def test_notes_come_back_oldest_first_and_limited(store_url):
    with open_store(store_url) as store:
        for number in range(5):
            store.remember("ana", f"fact {number}")
        store.remember("ana", "slower tempo please", kind="asked")
        assert store.memory("ana") == [*(f"fact {n}" for n in range(5)), "asked: slower tempo please"]
        assert store.memory("ana", limit=2) == ["fact 4", "asked: slower tempo please"]
        assert store.memory("ana", limit=0) == []
        assert store.memory("nobody") == []


def test_only_the_newest_notes_are_kept_per_student(store_url):
    with open_store(store_url) as store:
        store.remember("ben", "ben's own")
        for number in range(NOTES_KEPT + 7):
            store.remember("ana", f"fact {number}")
        assert note_count(store, "ana") == NOTES_KEPT
        kept = store.memory("ana", limit=NOTES_KEPT + 10)
        assert kept == [f"fact {n}" for n in range(7, NOTES_KEPT + 7)]
        assert store.memory("ben") == ["ben's own"]


def test_note_text_is_one_line_and_bounded(store_url):
    with open_store(store_url) as store:
        store.remember("ana", "  likes\n\n the   hint  ")
        assert store.memory("ana") == ["likes the hint"]
        for bad in ("", " \n ", "x" * (MAX_NOTE_CHARS + 1)):
            with pytest.raises(StoreError, match="learner note"):
                store.remember("ana", bad)
        assert store.memory("ana") == ["likes the hint"]


def test_forgetting_a_student_deletes_their_notes(store_url):
    with open_store(store_url) as store:
        store.remember("ana", "prefers the breath view")
        store.remember("ben", "plays fast")
        assert store.forget("ana")
        with store.database.transaction(write=False) as transaction:
            left = transaction.rows("SELECT fact FROM learner_notes ORDER BY id")
        assert [row["fact"] for row in left] == ["plays fast"]
        store.remember("ana", "a new start")
        assert store.memory("ana") == ["a new start"]


def test_a_version_1_store_gains_the_notes_table(tmp_path):
    """A store written before the learner memory existed is migrated when opened; its students stay."""
    path = tmp_path / "old.db"
    with open_store(f"sqlite://{path}") as store:
        store.student("ana")
    with sqlite3.connect(path) as connection:  # back to what version 1 left
        connection.execute("DROP TABLE learner_notes")
        connection.execute("DELETE FROM schema_version WHERE version > 1")
    with open_store(f"sqlite://{path}") as store:
        store.remember("ana", "came back")
        assert store.memory("ana") == ["came back"]
