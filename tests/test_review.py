"""Reviews across days with fsrs: ratings from unguided attempts, due dates, due order, the cards' JSON, and the line
the student reads (tutor/lesson/review.py). Days are simulated by passing times in."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from flutex.host.errors import FlutexError
from flutex.tutor.lesson.modes import FREE, FULL_FORCE, GUIDED
from flutex.tutor.lesson.policy import AttemptResult, NoteOutcome, Span, Step
from flutex.tutor.lesson.review import Rating, Reviews, rating_for

DAY0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
SEGMENT_0 = Span(0, 0, 1, 2)
SEGMENT_1 = Span(1, 1, 3, 4)
BOTH = Span(0, 1, 1, 4)


def attempt(span: Span, mode: str, wrong_indices=(), guided=False, help_requested=False, indices=range(4)):
    step = Step(span, mode, FULL_FORCE if mode == GUIDED else 0, 100, 1)
    notes = tuple(NoteOutcome(i, ("fingering",) if i in wrong_indices else (), guided) for i in indices)
    return AttemptResult(step, notes, 0, help_requested)


def test_no_clean_unguided_attempt_rates_again_even_after_clean_guided_ones():
    results = [attempt(SEGMENT_0, GUIDED, guided=True)] * 5 + [attempt(SEGMENT_0, FREE, wrong_indices=(1,))]
    assert rating_for(results, 0) == Rating.Again
    assert rating_for([attempt(SEGMENT_0, GUIDED, guided=True)], 0) == Rating.Again


def test_ratings_follow_the_unguided_attempts():
    clean, wrong = attempt(SEGMENT_0, FREE), attempt(SEGMENT_0, FREE, wrong_indices=(0,))
    assert rating_for([clean, wrong], 0) == Rating.Hard  # the last one went wrong
    assert rating_for([wrong, clean], 0) == Rating.Good  # right in the end
    assert rating_for([clean, clean], 0) == Rating.Easy  # right every time
    assert rating_for([attempt(SEGMENT_0, FREE, help_requested=True), clean], 0) == Rating.Good  # asked for help


def test_a_chained_attempt_counts_for_a_segment_by_its_own_notes_when_the_notes_are_mapped():
    chained = attempt(BOTH, FREE, wrong_indices=(3,))  # the mistake is in segment 1's notes
    mapping = {0: 0, 1: 0, 2: 1, 3: 1}
    assert rating_for([chained], 0, mapping) == Rating.Easy
    assert rating_for([chained], 1, mapping) == Rating.Again
    assert rating_for([chained], 0) == Rating.Again  # without the mapping only attempts on the segment alone count


def test_again_comes_back_sooner_than_easy_and_due_lists_the_most_overdue_first():
    reviews = Reviews()
    again_line = reviews.review(0, Rating.Again, DAY0, "bars 1-2")
    easy_line = reviews.review(1, Rating.Easy, DAY0, "bars 3-4")
    good_line = reviews.review(2, Rating.Good, DAY0)
    assert again_line == "bars 1-2: next review tomorrow (you have not yet played them right without help)"
    assert easy_line.startswith("bars 3-4: next review in ")
    assert good_line.startswith("segment 3: next review in ")
    due_day = {segment: _first_due_day(reviews, segment) for segment in range(3)}
    assert due_day[0] < due_day[2] < due_day[1]
    assert reviews.due(DAY0) == []
    assert reviews.due(DAY0 + timedelta(days=due_day[0])) == [0]
    assert reviews.due(DAY0 + timedelta(days=due_day[1])) == [0, 2, 1]  # most overdue first


def _first_due_day(reviews: Reviews, segment: int) -> int:
    return next(day for day in range(1, 400) if segment in reviews.due(DAY0 + timedelta(days=day)))


def test_good_reviews_on_their_due_days_space_out_further_and_further():
    reviews = Reviews()
    when, gaps = DAY0, []
    for _ in range(4):
        reviews.review(0, Rating.Good, when)
        gap = _first_due_day_from(reviews, when)
        gaps.append(gap)
        when += timedelta(days=gap)
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0]


def _first_due_day_from(reviews: Reviews, when: datetime) -> int:
    return next(day for day in range(1, 4000) if reviews.due(when + timedelta(days=day)))


def test_a_higher_desired_retention_brings_reviews_sooner():
    relaxed, strict = Reviews(desired_retention=0.8), Reviews(desired_retention=0.97)
    for reviews in (relaxed, strict):
        reviews.review(0, Rating.Good, DAY0)
        reviews.review(0, Rating.Good, DAY0 + timedelta(days=3))
    assert _first_due_day_from(strict, DAY0) < _first_due_day_from(relaxed, DAY0)


def test_cards_survive_a_json_round_trip_and_keep_their_schedule():
    reviews = Reviews()
    reviews.review(0, Rating.Hard, DAY0)
    reviews.review(1, Rating.Easy, DAY0)
    stored = reviews.cards()
    assert {json.loads(text)["card_id"] for text in stored.values()} == {0, 1}
    through_a_store = json.loads(json.dumps(stored))  # JSON object keys come back as strings
    restored = Reviews({int(segment): text for segment, text in through_a_store.items()})
    assert restored.cards() == stored
    later = DAY0 + timedelta(days=30)
    assert restored.due(later) == reviews.due(later)
    assert restored.review(0, Rating.Good, later) == reviews.review(0, Rating.Good, later)


def test_times_in_any_timezone_are_accepted_and_naive_ones_refused():
    reviews = Reviews()
    evening_in_tokyo = DAY0.astimezone(timezone(timedelta(hours=9)))
    reviews.review(0, Rating.Again, evening_in_tokyo)
    assert reviews.due(DAY0 + timedelta(days=1)) == [0]
    with pytest.raises(ValueError, match="timezone"):
        reviews.review(0, Rating.Good, datetime(2026, 3, 2, 18, 0))


def test_a_corrupt_stored_card_says_what_to_do():
    with pytest.raises(FlutexError, match="segment 2 is not an fsrs card"):
        Reviews({1: "{not json"})


def test_an_impossible_desired_retention_is_refused():
    with pytest.raises(ValueError, match="desired retention"):
        Reviews(desired_retention=1.0)
