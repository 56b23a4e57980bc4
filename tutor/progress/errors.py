"""The progress store's one failure type: whatever went wrong, the message says what it was and what to do."""

from __future__ import annotations

from flutex.host.errors import FlutexError


class StoreError(FlutexError):
    """The progress store could not be opened, read or written (locked, full, newer, unreachable, misnamed)."""
