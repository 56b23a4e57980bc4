"""What teachers and students read, from the stored rows: a lesson's percentages and an assignment's status.

Clean % counts notes played without an error; unguided clean % only the notes of attempts in which the servos
pressed no note (what the student can do alone). A segment is mastered when its stored mastery reached 1.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flutex.tutor.lesson.policy import MASTERED

DEFAULT_PASS_PERCENT = 90.0  # an assignment passes with this unguided clean % unless its criteria say otherwise
NOT_STARTED, IN_PROGRESS, PASSED, OVERDUE = "not started", "in progress", "passed", "overdue"


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def mastery_of(summary: dict[str, Any]) -> dict[int, float]:
    """The per-segment mastery of a lesson summary (JSON keys are text; the store's are segment numbers)."""
    return {int(segment): float(value) for segment, value in (summary.get("mastery") or {}).items()}


def lesson_row(raw: dict[str, Any]) -> dict[str, Any]:
    """One lesson of `Store.progress`, from the SQL row of sums."""
    summary = json.loads(raw["summary"]) if raw["summary"] else {}
    mastery = mastery_of(summary)
    return {
        "lesson": int(raw["lesson"]),
        "student": raw["student"],
        "started": raw["started"],
        "finished": raw["finished"],
        "plan": raw["plan"],
        "plan_path": raw["plan_path"],
        "device": raw["device"],
        "attempts": int(raw["attempts"]),
        "clean_percent": percent(int(raw["clean_notes"]), int(raw["notes"])),
        "unguided_clean_percent": percent(int(raw["unguided_clean_notes"]), int(raw["unguided_notes"])),
        "mastered_segments": sum(value >= MASTERED for value in mastery.values()),
        "segments": len(mastery),
    }


def passes(lesson: dict[str, Any], criteria: dict[str, Any]) -> bool:
    """Whether a lesson meets an assignment's criteria: `min_unguided_clean_percent` (default 90) and, when
    given, `mastered_segments` segments mastered."""
    needed = float(criteria.get("min_unguided_clean_percent", DEFAULT_PASS_PERCENT))
    score = lesson["unguided_clean_percent"]
    return score is not None and score >= needed and lesson["mastered_segments"] >= criteria.get("mastered_segments", 0)


def gradebook_row(assignment: dict[str, Any], lessons: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """An assignment with its student's lessons on that plan: status and best unguided clean %."""
    scores = [lesson["unguided_clean_percent"] for lesson in lessons if lesson["unguided_clean_percent"] is not None]
    if any(passes(lesson, assignment["criteria"]) for lesson in lessons):
        status = PASSED
    elif today > date.fromisoformat(assignment["due"]):
        status = OVERDUE
    else:
        status = IN_PROGRESS if lessons else NOT_STARTED
    return {
        **assignment,
        "lessons": len(lessons),
        "best_unguided_clean_percent": max(scores, default=None),
        "status": status,
    }
