"""What the store needs from a database, the same for SQLite and PostgreSQL: transactions that run portable SQL.

The SQL of the store and of the migrations is written once, with `?` placeholders and `RETURNING id` (both
databases have it); a backend says how it writes placeholders, what an auto-numbered key is, and how concurrent
migrations wait for each other. Those are the only dialect differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Transaction:
    """Statements inside one open transaction, over a DB-API cursor; rows come back as dicts by column name."""

    def __init__(self, cursor: Any, placeholder: str) -> None:
        self._cursor = cursor
        self._placeholder = placeholder

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._native(sql), tuple(params))

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT ending in `RETURNING id` and give the new row's id."""
        self.execute(sql, params)
        return int(self._cursor.fetchone()[0])

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.execute(sql, params)
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]

    def _native(self, sql: str) -> str:
        return sql if self._placeholder == "?" else sql.replace("?", self._placeholder)


class Database(Protocol):
    """One open connection to a store. `transaction(write=True)` commits when its block ends and rolls back when
    it raises; driver errors come out as `StoreError`s that say what happened."""

    description: str  # the store as messages name it (a path, or user@host:port/database; never a password)
    id_column: str  # an auto-numbered primary key column's type, in this dialect
    migration_lock: str | None  # run first in a migration's transaction so concurrent openers wait (None: not needed)

    def transaction(self, write: bool = True) -> AbstractContextManager[Transaction]: ...

    def close(self) -> None: ...
