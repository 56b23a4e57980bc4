"""Where a store lives: a URL (or nothing: the default SQLite file) to an open `Database`."""

from __future__ import annotations

import os
from pathlib import Path

from flutex.tutor.progress.database import Database
from flutex.tutor.progress.errors import StoreError
from flutex.tutor.progress.sqlite import SqliteDatabase

DEFAULT_TIMEOUT_S = 10.0  # a writer waits this long for another's lock (SQLite) or for the server to answer
FILE_NAME = "progress.db"
URL_HELP = (
    "sqlite:///PATH, postgresql://USER:PASSWORD@HOST:PORT/DB, or a file path (default: the SQLite file "
    "$FLUTEX_HOME/progress.db, else ~/.local/share/flutex/progress.db)"
)


def default_path() -> Path:
    """`$FLUTEX_HOME/progress.db`, else beside the recorded sessions: `$XDG_DATA_HOME/flutex/progress.db`
    (`~/.local/share/flutex/progress.db`)."""
    home = os.environ.get("FLUTEX_HOME")
    if home:
        return Path(home).expanduser() / FILE_NAME
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "flutex" / FILE_NAME


def connect(url: str | None, timeout_s: float = DEFAULT_TIMEOUT_S, create: bool = True) -> Database:
    """Open the database `url` names: None or "" the default file, `sqlite://PATH` (so `sqlite:///abs/path`) or a
    bare path a SQLite file, `postgresql://` (or `postgres://`) a PostgreSQL database. `create` False: a SQLite file
    that does not exist is an error, not a new store (a server's database always exists first)."""
    if not url:
        return SqliteDatabase(default_path(), timeout_s, create)
    scheme, separator, rest = url.partition("://")
    if not separator:
        return SqliteDatabase(Path(url).expanduser(), timeout_s, create)
    if scheme == "sqlite" and rest:
        return SqliteDatabase(Path(rest).expanduser(), timeout_s, create)
    if scheme in ("postgresql", "postgres"):
        from flutex.tutor.progress.postgres import PostgresDatabase  # psycopg loads only for a PostgreSQL store

        return PostgresDatabase(url, timeout_s)
    raise StoreError(f"not a progress store URL: {url!r}; use {URL_HELP}")
