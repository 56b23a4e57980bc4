"""The SQLite backend: one file, WAL mode (readers never wait for a writer), many processes writing at once.

A write transaction starts with BEGIN IMMEDIATE, so a writer takes the lock before it reads anything and never has
to upgrade a stale snapshot; SQLite's busy handler waits up to the timeout for the lock, and the rare SQLITE_BUSY
that skips the handler (a WAL being recovered) is retried until the same deadline.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from flutex.tutor.progress.database import Transaction
from flutex.tutor.progress.errors import StoreError

SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = (
    5,
    6,
    8,
    11,
    13,
    14,
    26,
)
RETRY_PAUSE_S = 0.01  # between retries of a BEGIN that SQLite refused without waiting, jittered


class SqliteDatabase:
    """A progress store in the SQLite file `path` (its folder is created; with `create` False a missing file is a
    `StoreError`, so a reader never leaves an empty store behind a mistyped path). `timeout_s`: how long a writer
    waits for another program's write lock before the store reports it locked."""

    id_column = "INTEGER PRIMARY KEY AUTOINCREMENT"  # AUTOINCREMENT: a forgotten student's ids are never reused
    migration_lock = None  # BEGIN IMMEDIATE already lets one migrator in at a time

    def __init__(self, path: Path, timeout_s: float, create: bool = True) -> None:
        self.path = path
        self.description = str(path)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        if not create and not path.is_file():
            raise StoreError(
                f"no progress store at {path}: nothing has been recorded there (a lesson makes it; name another "
                "with --store sqlite:///PATH or the FLUTEX_HOME variable)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the folder {path.parent} for the progress store ({error.strerror}); "
                "name another place with --store sqlite:///PATH or the FLUTEX_HOME variable"
            ) from None
        try:
            self.connection = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
            self._retrying(lambda: self.connection.execute("PRAGMA journal_mode = WAL"))
            self.connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as error:
            raise self._failure(error) from None

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        with self._lock:
            try:
                self._retrying(lambda: self.connection.execute("BEGIN IMMEDIATE" if write else "BEGIN"))
                try:
                    yield Transaction(self.connection.cursor(), "?")
                    self.connection.execute("COMMIT")
                except BaseException:
                    if self.connection.in_transaction:
                        with suppress(sqlite3.Error):
                            self.connection.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise self._failure(error) from None

    def close(self) -> None:
        with self._lock:
            self.connection.close()

    def _retrying(self, statement) -> None:
        """Run `statement`, again while SQLite answers busy, until the timeout from now."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                statement()
                return
            except sqlite3.OperationalError as error:
                if _code(error) not in (SQLITE_BUSY, SQLITE_LOCKED) or time.monotonic() >= deadline:
                    raise
            time.sleep(RETRY_PAUSE_S * (1 + random.random()))

    def _failure(self, error: sqlite3.Error) -> StoreError:
        code = _code(error)
        where = f"the progress store {self.path}"
        if code in (SQLITE_BUSY, SQLITE_LOCKED):
            return StoreError(
                f"{where} is locked: another program has been writing to it for over {self.timeout_s:g} s; "
                "close that program (or wait for it) and run again"
            )
        if code == SQLITE_FULL:
            return StoreError(
                f"{where} cannot grow: the database or disk is full; nothing of this change was written and the "
                "earlier records are intact; free some space and run again"
            )
        if code in (SQLITE_NOTADB, SQLITE_CORRUPT):
            return StoreError(f"{where} is not a readable SQLite database ({error}); name another file with --store")
        if code == SQLITE_CANTOPEN:
            return StoreError(f"cannot open {where} ({error}); check that the path is a file you may write")
        if code == SQLITE_READONLY:
            return StoreError(f"{where} is read-only ({error}); check its permissions")
        return StoreError(f"{where} failed: {error}")


def _code(error: sqlite3.Error) -> int | None:
    """SQLite's primary result code (the extended code's low byte), when the driver gives one."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF
