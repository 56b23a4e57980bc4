"""The score follower keeps its place through wrong, missed and extra notes, a repeated passage and a drifting
tempo, and says where the student is while nothing is heard."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from flutex.tutor.assess.events import Position
from flutex.tutor.assess.follower import ScoreFollower
from flutex.tutor.score.model import Score, ScoreNote, TempoChange

START_S = 1.0
BEAT_S = 0.5  # 120 bpm


def score_of(midis: Sequence[int | None], beats: float = 1.0) -> Score:
    notes = [
        ScoreNote(i, midi, i * beats, beats, int(i * beats // 4) + 1, i * beats % 4 + 1) for i, midi in enumerate(midis)
    ]
    return Score("test", tuple(notes), (TempoChange(0.0, 120.0),))


def follow(score: Score, played: Sequence[tuple[float, int]]) -> list[int | None]:
    """The score note each played (seconds after beat 0, MIDI note) onset was matched to (None: extra)."""
    follower = ScoreFollower(score, START_S)
    return [follower.on_onset(START_S + t_s, midi).index for t_s, midi in played]


SCALE = score_of([72, 74, 76, 77, 79, 81, 83, 84, 83, 81, 79, 77, 76, 74, 72])


def as_written(score: Score, skip: Sequence[int] = ()) -> list[tuple[float, int]]:
    return [(score.onset_s(n), n.midi) for n in score.sounding if n.index not in skip and n.midi is not None]


def test_every_note_played_as_written_is_matched_to_itself():
    assert follow(SCALE, as_written(SCALE)) == list(range(15))


def test_a_wrong_note_on_time_stands_for_the_written_one_and_the_follower_goes_on():
    played = as_written(SCALE)
    played[4] = (played[4][0] + 0.03, 66)  # G5 played as F#4, a little late
    assert follow(SCALE, played) == list(range(15))


def test_missed_notes_are_passed_over_and_reported_with_the_next_match():
    follower = ScoreFollower(SCALE, START_S)
    matches = [follower.on_onset(START_S + t_s, midi) for t_s, midi in as_written(SCALE, skip=(3, 4, 9))]
    assert [m.index for m in matches] == [0, 1, 2, 5, 6, 7, 8, 10, 11, 12, 13, 14]
    assert [m.missed for m in matches if m.missed] == [(3, 4), (9,)]


def test_an_extra_note_between_two_score_notes_is_matched_to_none_after_the_first():
    played = as_written(SCALE)
    played.insert(3, (2.5 * BEAT_S, 79))  # halfway through E5, a G5 that is the note after next
    follower = ScoreFollower(SCALE, START_S)
    matches = [follower.on_onset(START_S + t_s, midi) for t_s, midi in played]
    assert [m.index for m in matches] == [0, 1, 2, None, *range(3, 15)]
    assert matches[3].after_index == 2


def test_it_recovers_after_a_wrong_a_missed_and_an_extra_note_in_one_bar():
    played = as_written(SCALE)
    played[2] = (played[2][0], 75)  # wrong
    del played[4]  # G5 missed
    played.insert(5, (5.5 * BEAT_S, 70))  # an extra after A5
    assert follow(SCALE, played) == [0, 1, 2, 3, 5, None, *range(6, 15)]


def test_a_repeated_passage_is_not_jumped_ahead_to():
    score = score_of([72, 76, 79] * 4)  # a repeat of the phrase lies within the notes the matcher looks ahead to
    played = as_written(score, skip=(1, 2))  # the end of the first phrase missed: its notes come again later
    assert follow(score, played) == [0, *range(3, 12)]


def test_the_student_who_stops_and_goes_on_from_where_they_were_is_found_again():
    played = [(t_s + (3.0 if t_s >= 5 * BEAT_S else 0.0), midi) for t_s, midi in as_written(SCALE)]
    assert follow(SCALE, played) == list(range(15))


@pytest.mark.parametrize("drift", [0.1, -0.1])
def test_a_tempo_drifting_by_10_percent_is_followed_and_expected(drift):
    """The tempo slows (or speeds up) steadily by 10% over the piece: every note is found, and each is expected
    within a fraction of the timing tolerance, so none is called early or late."""
    score = score_of([72, 74, 76, 77, 79, 77, 76, 74] * 4)
    length_s = score.length_beats * BEAT_S
    follower = ScoreFollower(score, START_S)
    misses = []
    for note in score.sounding:
        written = score.onset_s(note)
        t_s = START_S + written * (1 + drift * written / length_s / 2)  # the local tempo changes by `drift`
        match = follower.on_onset(t_s, note.midi or 0)
        assert match.index == note.index
        misses.append(abs(t_s - (match.expected_s or 0.0)))
    assert max(misses) < 0.05
    assert follower.ratio == pytest.approx(1 + drift, abs=0.03)


def test_the_position_runs_on_through_notes_not_heard_and_comes_back_to_the_played_one():
    follower = ScoreFollower(SCALE, START_S)
    assert follower.position(START_S - 0.5, 0.15) is None  # counting in
    follower.on_onset(START_S, 72)
    assert follower.position(START_S + 0.01, 0.15) == (START_S, follower_position(0))
    silent = START_S + 3 * BEAT_S + 0.2  # nothing heard since: time has run on to the fourth note
    at, position = follower.position(silent, 0.15)
    assert position == follower_position(3) and at == pytest.approx(START_S + 3 * BEAT_S + 0.15)
    follower.on_onset(START_S + 3 * BEAT_S + 0.25, 77)  # ... where the student comes in again
    assert follower.position(START_S + 3 * BEAT_S + 0.3, 0.15) is None  # still the fourth note


def follower_position(index: int) -> Position:
    note = SCALE.notes[index]
    return Position(note.index, note.bar, note.beat)
