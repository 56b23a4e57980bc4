"""The progress store: lessons, attempts, grades, guidance decisions, review cards, mastery and assignments, in
SQLite (the default, one file) or PostgreSQL (a school's shared server). See docs/progress.md."""

from flutex.tutor.progress.errors import StoreError
from flutex.tutor.progress.rows import AttemptRow, LessonPlanRef
from flutex.tutor.progress.store import Store, open_store

__all__ = ["AttemptRow", "LessonPlanRef", "Store", "StoreError", "open_store"]
