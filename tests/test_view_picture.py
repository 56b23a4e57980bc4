"""The views' read model (`flutex.view.picture`): series in time order, pitch judged against the written note, the
servos' presses, grades on their notes; and a real lesson's recording read back into it."""

import math
from collections import Counter

import numpy as np
import pytest

from flutex.host.audio.synth import midi_to_hz
from flutex.host.breath.phases import Phase, PhaseChange
from flutex.host.link.events import HapticStatus
from flutex.host.session.events import HapticPress, HapticRelease, PitchFrame, Stamped
from flutex.host.session.playback import Recording
from flutex.tutor.assess.events import NoteGraded
from flutex.tutor.lesson.events import (
    AttemptEnded,
    AttemptScore,
    AttemptStarted,
    LessonBegan,
    MasteryChanged,
    TargetNote,
)
from flutex.view.picture import (
    PITCH_CENTS_NEAREST,
    PITCH_CENTS_TARGET,
    STATUS_HELP,
    VIEW_TYPES,
    Picture,
    Series,
)
from flutex.view.qt.fingering_panel import fingering_state


def test_a_series_keeps_time_order_and_finds_windows_and_moments():
    series = Series(2, capacity=2)
    for t in (0.0, 1.0, 2.0, 3.0):
        series.append(t, (t, -t))
    series.append(1.5, (9.0, 9.0))  # stamped before the last: put in its place
    assert list(series.times) == [0.0, 1.0, 1.5, 2.0, 3.0]
    times, rows = series.window(1.0, 2.0)
    assert list(times) == [1.0, 1.5, 2.0]
    assert rows[1].tolist() == [9.0, 9.0]
    assert series.at(-0.1) is None
    assert series.at(1.7).tolist() == [9.0, 9.0]
    assert series.at(10.0).tolist() == [3.0, -3.0]


def note(index: int, midi: int, onset_s: float, end_s: float, mask: int = 0b111) -> TargetNote:
    return TargetNote(index, midi, onset_s, end_s, bar=1, beat=1.0 + index, segment=0, closed_mask=mask,
                      breath_before=index == 0)  # fmt: skip


def lesson_picture() -> Picture:
    picture = Picture()
    picture.feed(Stamped(0.0, LessonBegan("First", "Tune", "ana", "dynamic", ((1, 2),), False)))
    picture.feed(Stamped(0.5, AttemptStarted(1, 1, 2, "guided", 1000, 60.0, 2.0, False, "")))
    picture.feed(Stamped(0.5, AttemptScore(1, (note(0, 69, 2.0, 3.0), note(1, 71, 3.0, 4.0, 0b11)))))
    return picture


def test_pitch_is_judged_against_the_note_written_at_its_time():
    picture = lesson_picture()
    picture.feed(Stamped(2.5, PitchFrame(445.0, 0.9, True)))  # A4 written: 20 cents sharp
    picture.feed(Stamped(3.5, PitchFrame(midi_to_hz(71) * 2 ** (-30 / 1200), 0.9, True)))  # B4 written: 30 flat
    picture.feed(Stamped(4.5, PitchFrame(440.0, 0.9, True)))  # after the last note: no written note
    picture.feed(Stamped(4.6, PitchFrame(0.0, 0.1, False)))
    rows = picture.pitch.values
    assert rows[0, PITCH_CENTS_TARGET] == pytest.approx(1200 * math.log2(445 / 440))
    assert rows[1, PITCH_CENTS_TARGET] == pytest.approx(-30.0)
    assert math.isnan(rows[2, PITCH_CENTS_TARGET]) and rows[2, PITCH_CENTS_NEAREST] == pytest.approx(0.0)
    assert math.isnan(rows[3, PITCH_CENTS_NEAREST])


def test_the_score_answers_what_was_due_and_when():
    picture = lesson_picture()
    assert picture.target_at(2.5).note.midi == 69
    assert picture.target_at(1.9) is None and picture.target_at(4.0) is None
    assert picture.expected_mask_at(2.95, lead_s=0.1) == 0b11  # the next fingering, shown just ahead
    assert [t.note.index for t in picture.targets_between(3.5, 9.0)] == [1]
    assert picture.attempt_at(0.4) is None and picture.attempt_at(5.0).started.mode == "guided"
    assert picture.lesson.student == "ana"


def test_a_press_lasts_until_its_end_its_release_or_the_next_press():
    picture = lesson_picture()
    picture.feed(Stamped(1.9, HapticPress(0, 0b111, 1000, until_s=2.4)))
    picture.feed(Stamped(2.2, HapticRelease("matched")))
    picture.feed(Stamped(2.9, HapticPress(1, 0b11, 450, until_s=3.4)))
    picture.feed(Stamped(3.1, HapticPress(1, 0b11, 450, until_s=3.6)))
    assert picture.pressing_at(2.0).holes_mask == 0b111
    assert picture.pressing_at(2.3) is None  # released when the finger matched
    assert picture.pressing_at(3.0).end_s == 3.1  # ended by the next
    assert picture.pressing_at(3.5).force_permille == 450
    assert picture.pressing_at(3.7) is None


def test_the_boards_status_is_read_at_a_moment_help_pedal_and_servo_positions_included():
    picture = lesson_picture()
    fingers = len(picture.profile.fingers)
    picture.feed(Stamped(1.0, HapticStatus(1.0, 1, True, True, False, False, True, (300,) * fingers)))
    picture.feed(Stamped(2.0, HapticStatus(2.0, 2, True, False, False, False, False, (0,) * fingers, help_held=True)))
    before, held = fingering_state(picture, 1.5), fingering_state(picture, 2.5)
    assert before.clutch and not before.help_held and before.servo_permille == (300,) * fingers
    assert held.help_held and not held.clutch and held.servo_permille == (0,) * fingers
    assert picture.status_at(2.5)[STATUS_HELP] == 1.0 and picture.status_at(0.5) is None


def test_grades_land_on_their_notes_and_mastery_and_phases_are_read_at_a_moment():
    picture = lesson_picture()
    graded = NoteGraded(1, 1, 2.0, 71, ("late",), ("late",), 3.0, 0.2, 3, 4)
    picture.feed(Stamped(3.3, graded))
    picture.feed(Stamped(5.0, MasteryChanged(1, (0.5,))))
    picture.feed(Stamped(1.0, PhaseChange(1.0, Phase.EXHALE, Phase.INHALE, 0.5)))
    picture.feed(Stamped(0.8, PhaseChange(0.8, Phase.INHALE, Phase.HOLD, 0.2)))  # published late
    (grade,) = picture.grades_between(2.9, 3.1)
    assert grade.attempt == 1 and not grade.clean and picture.onset_of(grade) == 3.0
    assert picture.mastery_at(4.9) is None and picture.mastery_at(5.0) == (0.5,)
    assert [picture.phase_at(t) for t in (0.7, 0.9, 1.5)] == [None, "inhale", "exhale"]


def test_a_recorded_lesson_reads_back_whole(lesson_recording):
    """The lesson's own events are recorded and the picture holds every one of them where it belongs."""
    recording = Recording(lesson_recording, VIEW_TYPES)
    picture = Picture()
    picture.feed_all(recording)
    counts = Counter(recording.counts)
    assert recording.complete and counts["/lesson_began"] == 1
    assert picture.lesson is not None and picture.lesson.title.startswith("First lesson")
    assert len(picture.attempts) == counts["/attempt_started"] == counts["/attempt_score"] >= 2
    assert len(picture.grades) == counts["/note_graded"] == len(picture.targets)
    assert all(picture.target_of(grade) is not None for grade in picture.grades)
    assert len(picture.mastery) == counts["/mastery_changed"] >= 1
    assert all(0.0 <= value <= 1.0 for _, changed in picture.mastery for value in changed.mastery)
    for attempt in picture.attempts:  # every written note lies in its attempt, after its beat 0
        notes = [target.note for target in picture.targets if target.attempt == attempt.started.attempt]
        assert notes and notes[0].onset_s == pytest.approx(attempt.started.beat0_s, abs=1e-6)
        assert all(attempt.started.first_bar <= n.bar <= attempt.started.last_bar for n in notes)
    judged = picture.pitch.values[:, PITCH_CENTS_TARGET]
    judged = judged[~np.isnan(judged)]
    assert len(judged) > 100 and np.median(np.abs(judged)) < 30  # the simulated student mostly plays in tune
    assert len(picture.belt) > 1000 and len(picture.status) > 10


def test_the_last_attempt_over_is_known_by_when_it_ended_and_notes_by_their_attempt():
    picture = lesson_picture()
    picture.feed(Stamped(4.5, AttemptEnded(1, 2, 2, 0, 1, False)))
    picture.feed(Stamped(5.0, AttemptStarted(2, 1, 2, "free", 0, 60.0, 6.0, False, "")))  # cut short: never ends
    assert picture.last_ended_at(4.4) is None
    assert picture.last_ended_at(9.0).ended.clean_notes == 2 and picture.last_ended_at(9.0).ended_s == 4.5
    assert picture.target_for(1, 1).note.midi == 71 and picture.target_for(2, 1) is None
