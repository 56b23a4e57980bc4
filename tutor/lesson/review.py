"""Across days: when each segment of a plan comes back, by spaced repetition (FSRS-6 through the `fsrs` package).

One fsrs card per plan segment. The lesson itself is the same-day practice, so the scheduler has no learning or
relearning steps (minutes apart): every review schedules whole days, from the card's stability and the plan's
desired retention. Fuzzing is off, so the same history gives the same dates (tests and the study depend on it).
Times are always passed in, never read from a clock here, so a test or a simulation can live through many days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

from flutex.host.errors import FlutexError
from flutex.tutor.lesson.policy import AttemptResult, unguided

SECONDS_PER_DAY = 86400.0

# why the card moved, in the student's words, by rating
_WHY = {
    Rating.Again: "you have not yet played them right without help",
    Rating.Hard: "your last try without help had mistakes",
    Rating.Good: "you played them right without help",
    Rating.Easy: "you played them right every time without help",
}


def rating_for(results: Sequence[AttemptResult], segment: int, segment_of: Mapping[int, int] | None = None) -> Rating:
    """How well the student knows a plan segment after today's attempts, from its unguided attempts only (guided
    ones show what the machine can do): Again when none was clean, Hard when the last one had errors, Good when the
    last was clean after an earlier miss (or a help request), Easy when every one was clean and no help was asked.

    `segment_of` (note index -> plan segment, `policy.segment_of`) lets attempts on chained spans count for the
    segment by its own notes; without it only attempts on the segment alone count. An extra note counts against
    every segment of its span."""
    clean_runs: list[bool] = []
    helped = False
    for result in results:
        span = result.step.span
        if not span.first <= segment <= span.last or (segment_of is None and span.first != span.last):
            continue
        helped = helped or result.help_requested
        notes = [note for note in result.notes if segment_of is None or segment_of.get(note.index) == segment]
        if unguided(result.step, notes, result.help_requested):
            clean_runs.append(result.extra_notes == 0 and not any(note.errors for note in notes))
    if not any(clean_runs):
        return Rating.Again
    if not clean_runs[-1]:
        return Rating.Hard
    return Rating.Easy if all(clean_runs) and not helped else Rating.Good


class Reviews:
    """One fsrs card per plan segment of one student's plan; `cards()` is what the progress store keeps."""

    def __init__(self, cards: dict[int, str] | None = None, desired_retention: float = 0.9) -> None:
        if not 0.0 < desired_retention < 1.0:
            raise ValueError(f"desired retention {desired_retention} is outside (0, 1): use e.g. 0.9")
        self.scheduler = Scheduler(
            desired_retention=desired_retention, learning_steps=(), relearning_steps=(), enable_fuzzing=False
        )
        self._cards = {segment: _card(segment, text) for segment, text in (cards or {}).items()}

    def review(self, segment: int, rating: Rating, when: datetime, label: str | None = None) -> str:
        """Record today's rating for a segment at `when` (timezone-aware) and say when it comes back; `label` names
        the bars ("bars 1-2"), else "segment N" (1-based)."""
        now = _utc(when)
        card = self._cards.get(segment) or Card(card_id=segment, due=now)
        card, _ = self.scheduler.review_card(card, rating, now)
        self._cards[segment] = card
        days = round((card.due - now).total_seconds() / SECONDS_PER_DAY)
        later = "tomorrow" if days == 1 else f"in {days} days"
        return f"{label or f'segment {segment + 1}'}: next review {later} ({_WHY[rating]})"

    def due(self, when: datetime) -> list[int]:
        """Segments reviewed before and due at `when`, most overdue first (ties: in plan order)."""
        now = _utc(when)
        return sorted((s for s, card in self._cards.items() if card.due <= now), key=lambda s: (self._cards[s].due, s))

    def cards(self) -> dict[int, str]:
        return {segment: card.to_json() for segment, card in sorted(self._cards.items())}


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("review times need a timezone (e.g. datetime.now(timezone.utc)), got a naive datetime")
    return when.astimezone(UTC)


def _card(segment: int, text: str) -> Card:
    try:
        return Card.from_json(text)
    except (ValueError, KeyError, TypeError) as error:  # json.JSONDecodeError is a ValueError
        raise FlutexError(
            f"the stored review card of segment {segment + 1} is not an fsrs card ({error}): "
            "delete the plan's cards in the progress store to start its reviews afresh"
        ) from error


__all__ = ["Rating", "Reviews", "rating_for"]
