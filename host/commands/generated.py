"""Files the project generates from its one source (the wiring diagram from the pin map, the protocol doc's tables
from wire.py): write them, or check that the committed copy is current."""

from __future__ import annotations

from pathlib import Path

from flutex.host.errors import FlutexError


def write_or_check(path: Path, content: str, check: bool, source: str, fix: str) -> int:
    """Write `content` to `path`, or with `check` write nothing and fail unless `path` already holds it; `source`
    names what it is generated from, `fix` the command that brings it up to date."""
    if check:
        if not path.is_file() or path.read_text() != content:
            raise FlutexError(f"{path} is stale: it differs from {source}; run `{fix}`")
        print(f"{path} matches {source}")
        return 0
    path.write_text(content)
    print(f"wrote {path}")
    return 0
