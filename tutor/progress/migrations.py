"""Versioned schema changes: `migrations/NNN_name.sql`, applied in order, each recorded in `schema_version`.

All the missing migrations run in one transaction, so a store is always at one version, never between two. A
store whose version is above this code's newest is refused before anything is written: an older Flute X must not
write rows a newer one would misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from flutex.tutor.progress.database import Database, Transaction
from flutex.tutor.progress.errors import StoreError

FILE_NAME = re.compile(r"^(\d{3})_(\w+)\.sql$")
ID_COLUMN = "{id_column}"  # in a migration: the dialect's auto-numbered primary key
STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, id_column: str) -> list[str]:
        """The file's statements for one dialect: comment lines dropped, split at each line-ending semicolon."""
        code = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        parts = STATEMENT_END.split(code.replace(ID_COLUMN, id_column))
        return [part.strip() for part in parts if part.strip()]


@cache
def migrations() -> tuple[Migration, ...]:
    """The shipped migrations in order; their versions must run 1, 2, 3... without a gap."""
    folder = resources.files("flutex.tutor.progress") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"the progress store's migrations are numbered {versions}, not 1..{len(found)}: reinstall")
    return tuple(found)


def latest_version() -> int:
    return migrations()[-1].version


def migrate(database: Database) -> int:
    """Bring the store to the newest schema (from empty, or from any older version); give the version it is at."""
    with database.transaction() as transaction:
        if database.migration_lock:
            transaction.execute(database.migration_lock)
        transaction.execute(VERSION_TABLE)
        current = schema_version(transaction)
        if current > latest_version():
            raise StoreError(
                f"the progress store {database.description} is at schema version {current}, made by a newer Flute X; "
                f"this one knows versions 1 to {latest_version()}: upgrade Flute X to use it (nothing was changed)"
            )
        applied = datetime.now(UTC).isoformat(timespec="seconds")
        for migration in migrations()[current:]:
            for statement in migration.statements(database.id_column):
                transaction.execute(statement)
            transaction.execute(
                "INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)",
                (migration.version, migration.name, applied),
            )
    return max(current, latest_version())


def schema_version(transaction: Transaction) -> int:
    """The newest migration applied (0: none)."""
    return int(transaction.rows("SELECT MAX(version) AS version FROM schema_version")[0]["version"] or 0)
