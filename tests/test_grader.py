"""The grader on synthetic timelines: each rule at its threshold, missed and extra notes, the voice, determinism,
events stamped when their rule could decide; and end to end on the simulated player through the real pipeline."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.breath.share import Inhale
from flutex.host.link.events import BeltSample, FluteSample
from flutex.host.session.events import FingeringChanged, NoteEnded, NoteStarted, PitchFrame, Stamped
from flutex.tutor.assess.events import NoteGraded, Position, RuleVerdict, SegmentFinished
from flutex.tutor.assess.grader import Grader
from flutex.tutor.assess.report import PieceReport
from flutex.tutor.assess.rules import GradingRules
from flutex.tutor.score.model import Score, ScoreNote, Segment, TempoChange

PROFILE = InstrumentProfile.load("six_hole")
START_S = 2.0  # beat 0 is due here on the timeline
BEAT_S = 0.5  # 120 bpm
HOP_S = 256 / 44100  # the tracker's frame step
FRAME_DELAY_S = 0.025  # a frame is published this long after the sound it describes ...
ONSET_DELAY_S = 0.075  # ... a note's start this long after its onset ...
END_DELAY_S = 0.05  # ... and its end this long after it stopped
INHALE_DELAY_S = 0.3  # a breath is known this long after its peak


@dataclass(frozen=True)
class Fitted:
    """What `flutex.tutor.score.fit.fit` returns, as far as the grader reads it."""

    score: Score
    profile: InstrumentProfile
    transpose: int
    fingerings: tuple[tuple[int, bool] | None, ...]


def fitted(midis: Sequence[int | None], beats: Sequence[float] | None = None, breath_at: Sequence[int] = ()) -> Fitted:
    """A 4/4 score at 120 bpm of `midis` (None: a rest), each `beats` long (default 1), breath marks before the
    notes of `breath_at`; the second half of the notes is segment 1."""
    beats = beats or [1.0] * len(midis)
    notes, onset = [], 0.0
    for index, (midi, length) in enumerate(zip(midis, beats, strict=True)):
        bar, beat = int(onset // 4) + 1, onset % 4 + 1
        segment = int(index >= len(midis) // 2)
        notes.append(ScoreNote(index, midi, onset, length, bar, beat, index in breath_at, segment))
        onset += length
    bars = notes[-1].bar
    segments = (Segment(0, 1, notes[len(midis) // 2 - 1].bar), Segment(1, notes[len(midis) // 2].bar, bars))
    score = Score("test", tuple(notes), (TempoChange(0.0, 120.0),), segments=segments)
    fingerings = tuple(None if midi is None else PROFILE.fingering_for(midi) for midi in midis)
    return Fitted(score, PROFILE, 0, fingerings)


@dataclass(frozen=True)
class Played:
    """One played note: what sounded, from when to when (timeline seconds), how it was fingered."""

    midi: int
    onset_s: float
    end_s: float
    cents: float = 0.0
    fingers: tuple[tuple[float, int], ...] = ()  # (from, closed mask) changes within it; default: its own fingering


def as_written(piece: Fitted, legato: bool = True) -> list[Played]:
    """Every note played exactly as written (each held to the next onset, or 90% of its length)."""
    score = piece.score
    return [
        Played(
            note.midi, START_S + score.onset_s(note), START_S + score.seconds(note.end_beats) * (1 if legato else 0.9)
        )
        for note in score.sounding
        if note.midi is not None
    ]


def timeline(played: Sequence[Played], *, voice: bool = False, inhales: Sequence[float] = (), belt: bool = False):
    """The session timeline of a performance, in publication order: the flute at 200 Hz (each note's fingering
    from the end of the note before), pitch frames every hop, note starts and ends, belt samples and breaths;
    each stamped when it happened and published after the delays above."""
    end_s = max(note.end_s for note in played) + 1.0
    out: list[tuple[float, Stamped]] = []
    if not voice:
        changes = _fingerings(played)
        for seq, t_s in enumerate(np.arange(0.0, end_s, 0.005).tolist()):
            out.append((t_s, Stamped(t_s, FluteSample(t_s, seq, _mask_at(changes, t_s), 0.0))))
        out += [(t_s, Stamped(t_s, FingeringChanged(mask, PROFILE.midi_for(mask)))) for t_s, mask in changes]
    for t_s in np.arange(0.0, end_s, HOP_S).tolist():
        hz = next((_hz(note) for note in played if note.onset_s <= t_s < note.end_s), 0.0)
        out.append((t_s + FRAME_DELAY_S, Stamped(t_s, PitchFrame(hz, 0.9 if hz else 0.1, hz > 0))))
    for note in played:
        out.append((note.onset_s + ONSET_DELAY_S, Stamped(note.onset_s, NoteStarted(note.midi, _hz(note)))))
        out.append((note.end_s + END_DELAY_S, Stamped(note.end_s, NoteEnded(note.midi, note.end_s - note.onset_s))))
    if belt:
        for seq, t_s in enumerate(np.arange(0.0, end_s, 0.02).tolist()):
            out.append((t_s, Stamped(t_s, BeltSample(t_s, seq, (0.0, 0.0, 0.0, 0.0)))))
    for peak in inhales:
        out.append((peak + INHALE_DELAY_S, Stamped(peak, Inhale(peak - 0.3, peak, 0.5, 0.6))))
    out.sort(key=lambda pair: pair[0])  # a stable sort: at equal times, the order above
    return [stamped for _, stamped in out]


def _hz(note: Played) -> float:
    return 440.0 * 2 ** ((note.midi - 69 + note.cents / 100) / 12)


def _fingerings(played: Sequence[Played]) -> list[tuple[float, int]]:
    changes: list[tuple[float, int]] = []
    for k, note in enumerate(played):
        own = PROFILE.fingering_for(note.midi)[0]
        since = played[k - 1].end_s if k else 0.0
        for t_s, mask in ((since, own), *note.fingers) if not note.fingers else note.fingers:
            if not changes or changes[-1][1] != mask:
                changes.append((t_s, mask))
    return changes


def _mask_at(changes: list[tuple[float, int]], t_s: float) -> int:
    return next((mask for since, mask in reversed(changes) if since <= t_s), changes[0][1])


def grade(piece: Fitted, events: Sequence[Stamped], **options) -> tuple[PieceReport, list[Stamped]]:
    grader = Grader(piece, START_S, **options)
    out = [event for stamped in events for event in grader.feed(stamped)]
    report = grader.finish()
    return report, out + list(report.final_events)


def errors_of(report: PieceReport) -> dict[int, tuple[str, ...]]:
    return {grade.index: grade.errors for grade in report.notes if grade.errors}


SCALE = fitted([72, 74, 76, 77, 79, 77, 76, 74, 72])


def test_a_piece_played_as_written_is_clean_and_every_note_and_segment_is_graded():
    report, events = grade(SCALE, timeline(as_written(SCALE)))
    assert errors_of(report) == {}
    assert [grade.index for grade in report.notes] == list(range(9))
    assert report.extra_notes == ()
    summary = report.to_json()["summary"]
    assert summary["clean"] == 9 and summary["score"] == 1.0 and summary["possible"] == 9 * 4
    assert [s.event.segment for s in events if isinstance(s.event, SegmentFinished)] == [0, 1]
    positions = [s.event.index for s in events if isinstance(s.event, Position)]
    assert positions == list(range(9))


def fingering_errors(fingers_s: Sequence[tuple[float, int]]) -> tuple[str, ...]:
    """The errors of the second note of a slow piece (2 beats a note: 1 s) fingered as `fingers_s` (seconds after
    its onset, closed mask), its pitch right."""
    piece = fitted([72, 76, 79], beats=[2.0, 2.0, 2.0])
    played = as_written(piece)
    second = played[1]
    played[1] = dataclasses.replace(second, fingers=tuple((second.onset_s + dt, mask) for dt, mask in fingers_s))
    report, _ = grade(piece, timeline(played))
    assert set(errors_of(report)) <= {1}
    return report.notes[1].errors


RIGHT, WRONG, OTHER = PROFILE.fingering_for(76)[0], PROFILE.fingering_for(77)[0], PROFILE.fingering_for(74)[0]


@pytest.mark.parametrize(("held_ms", "errors"), [(49, ("fingering",)), (51, ())])
def test_a_right_fingering_counts_once_held_50_ms(held_ms, errors):
    # wrong for 300 ms, right for `held_ms`, then another wrong one to the end (each wrong run under 500 ms)
    fingers = [(0.0, WRONG), (0.3, RIGHT), (0.3 + held_ms / 1000, OTHER), (0.6, WRONG)]
    assert fingering_errors(fingers) == errors


@pytest.mark.parametrize(("wrong_ms", "errors"), [(499, ()), (501, ("fingering",))])
def test_a_wrong_fingering_is_an_error_only_once_held_500_ms(wrong_ms, errors):
    assert fingering_errors([(0.0, WRONG), (wrong_ms / 1000, RIGHT)]) == errors


WRONG_FINGERS = ((START_S + 2 * BEAT_S, WRONG),)  # the third note (E5, half a second) fingered as F5 throughout


def test_a_wrong_fingering_says_what_was_fingered_and_is_decided_when_a_note_shorter_than_500_ms_ends():
    report, events = grade(SCALE, timeline(with_note(as_written(SCALE), 2, fingers=WRONG_FINGERS)))
    assert report.notes[2].reasons[0] == "bar 1, beat 3: E5 fingered as F5"
    verdict = next(s for s in events if isinstance(s.event, RuleVerdict) and s.event.error == "fingering")
    assert verdict.t_s == pytest.approx(START_S + 3 * BEAT_S, abs=1e-9)  # the next onset: the note is over


def with_note(played: list[Played], k: int, **changes) -> list[Played]:
    played = list(played)
    played[k] = dataclasses.replace(played[k], **changes)
    return played


@pytest.mark.parametrize(("late_ms", "errors"), [(149, ()), (151, ("late",)), (-149, ()), (-151, ("early",))])
def test_onsets_are_early_or_late_beyond_150_ms_of_the_followers_expectation(late_ms, errors):
    played = as_written(SCALE)
    shift = late_ms / 1000
    played[3] = dataclasses.replace(played[3], onset_s=played[3].onset_s + shift)
    played[2] = dataclasses.replace(played[2], end_s=played[3].onset_s)  # held into it
    report, _ = grade(SCALE, timeline(played))
    assert errors_of(report) == ({3: errors} if errors else {})
    assert report.notes[3].onset_error_s == pytest.approx(shift, abs=1e-6)
    if errors:
        assert report.notes[3].reasons == (f"bar 1, beat 4: 151 ms {errors[0]}",)


@pytest.mark.parametrize(
    ("cents", "tolerance", "errors"),
    [
        (49.0, "medium", ()),
        (51.0, "medium", ("pitch",)),
        (-21.0, "hard", ()),
        (-22.0, "hard", ("pitch",)),
        (149.0, "easy", ()),
        (151.0, "easy", ("pitch",)),
        (1195.0, "medium", ("octave",)),
        (-1220.0, "medium", ("octave",)),
    ],
)
def test_the_steady_pitch_is_judged_in_the_lessons_band(cents, tolerance, errors):
    report, _ = grade(SCALE, timeline(with_note(as_written(SCALE), 4, cents=cents)), rules=rules(tolerance))
    assert errors_of(report) == ({4: errors} if errors else {})
    assert report.notes[4].cents == pytest.approx(cents, abs=1e-6)


def rules(tolerance: str) -> GradingRules:
    return GradingRules.for_tolerance(tolerance)


def test_a_scoop_into_the_note_is_not_a_pitch_error():
    piece = SCALE
    events = timeline(as_written(piece))
    onset = START_S + 4 * BEAT_S  # the fifth note starts 80 cents flat for 45 ms
    scooped = [
        dataclasses.replace(s, event=PitchFrame(s.event.hz * 2 ** (-80 / 1200), 0.9, True))
        if isinstance(s.event, PitchFrame) and onset <= s.t_s < onset + 0.045
        else s
        for s in events
    ]
    report, _ = grade(piece, scooped)
    assert errors_of(report) == {}
    assert abs(report.notes[4].cents or 0.0) < 1.0


def test_a_note_not_played_is_missed_and_the_rest_stay_clean():
    played = as_written(SCALE)
    del played[4]
    played[3] = dataclasses.replace(played[3], end_s=played[3].end_s - 0.1)
    report, events = grade(SCALE, timeline(played))
    assert errors_of(report) == {4: ("missed",)}
    assert report.notes[4].reasons == ("bar 2, beat 1: G5 not played",)
    missed = next(s for s in events if isinstance(s.event, NoteGraded) and s.event.index == 4)
    assert missed.t_s == pytest.approx(START_S + 5 * BEAT_S)  # decided when the next note was heard


def test_an_extra_note_between_score_notes_is_listed_after_the_note_it_follows():
    played = as_written(SCALE)
    half = (played[2].onset_s + played[2].end_s) / 2
    played[2:3] = [dataclasses.replace(played[2], end_s=half), Played(81, half, played[2].end_s)]
    report, _ = grade(SCALE, timeline(played))
    assert errors_of(report) == {}
    assert [(extra.after_index, extra.midi) for extra in report.extra_notes] == [(2, 81)]
    assert report.to_json()["extra_notes"][0]["reason"] == "after bar 1, beat 3 (E5): an extra A5"
    assert report.summary()["points"] == report.summary()["possible"] - 1


@pytest.mark.parametrize(("held", "errors"), [(0.49, ("short",)), (0.51, ())])
def test_a_note_whose_sound_stops_before_half_its_length_is_short(held, errors):
    piece = fitted([72, 76, 79, 77], beats=[1.0, 2.0, 1.0, 1.0])
    played = as_written(piece)
    played[1] = dataclasses.replace(played[1], end_s=played[1].onset_s + held * 2 * BEAT_S)
    report, _ = grade(piece, timeline(played))
    assert errors_of(report) == ({1: errors} if errors else {})


def test_a_note_cut_by_the_next_ones_early_onset_is_legato_not_short():
    played = as_written(SCALE)
    played[3] = dataclasses.replace(played[3], onset_s=played[3].onset_s - 0.3)
    played[2] = dataclasses.replace(played[2], end_s=played[3].onset_s)  # 0.2 s of 0.5 s, into the next note
    report, _ = grade(SCALE, timeline(played))
    assert errors_of(report) == {3: ("early",)}


BREATHY = fitted([72, 74, 76, 77, 79, 77, 76, 74], breath_at=(4,))


@pytest.mark.parametrize(("inhales", "errors"), [((START_S + 4 * BEAT_S - 0.05,), ()), ((), ("no_breath",))])
def test_a_breath_is_wanted_at_a_breath_mark_when_there_is_a_belt(inhales, errors):
    report, _ = grade(BREATHY, timeline(as_written(BREATHY), inhales=inhales, belt=True))
    assert errors_of(report) == ({4: errors} if errors else {})
    assert report.notes[4].possible == 5


def test_without_a_belt_breath_is_not_judged():
    report, _ = grade(BREATHY, timeline(as_written(BREATHY)))
    assert errors_of(report) == {} and report.notes[4].possible == 4


def test_a_belt_without_a_calibration_says_nothing_of_breaths():
    """No calibration, no breath events: a belt that streams must not make every breath mark a missed breath."""
    report, _ = grade(BREATHY, timeline(as_written(BREATHY), belt=True), breath=False)
    assert errors_of(report) == {} and report.notes[4].possible == 4


def test_the_voice_alone_is_judged_on_pitch_timing_duration_and_breath():
    played = with_note(as_written(BREATHY), 2, cents=-80.0)
    report, events = grade(BREATHY, timeline(played, voice=True, belt=True), voice=True)
    assert errors_of(report) == {2: ("pitch",), 4: ("no_breath",)}
    assert report.notes[2].reasons == ("bar 1, beat 3: E5 played 80 cents flat",)
    assert not any(isinstance(s.event, RuleVerdict) and s.event.rule == "fingering" for s in events)


def test_verdicts_are_stamped_when_their_rule_could_decide():
    _, events = grade(SCALE, timeline(as_written(SCALE)))
    rules = GradingRules()
    for k in range(1, 9):  # the first note's fingering was already right before its lead-in
        onset = START_S + k * BEAT_S
        verdicts = {s.event.rule: s.t_s for s in events if isinstance(s.event, RuleVerdict) and s.event.index == k}
        assert verdicts["timing"] == onset
        assert verdicts["fingering"] == pytest.approx(onset + rules.hold_s, abs=0.006)  # one flute sample
        assert onset + rules.pitch_skip_s + rules.pitch_span_s <= verdicts["pitch"] <= onset + 0.1


def test_the_same_timeline_gives_the_same_grades_bit_for_bit():
    played = as_written(SCALE)
    played = with_note(played, 2, cents=70.0)
    played = with_note(played, 5, onset_s=played[5].onset_s + 0.2)
    events = timeline(played, inhales=(START_S + 1.0,), belt=True)
    first, first_events = grade(SCALE, events)
    second, second_events = grade(SCALE, events)
    assert errors_of(first) == {2: ("pitch",), 5: ("late",)}
    assert first_events == second_events
    assert json.dumps(first.to_json()) == json.dumps(second.to_json())


# --- end to end: the simulated player through the real session pipeline ------------------------------------------

SR = 44100
BLOCK = 256
# What a correct grader reports for each mistake the player makes (consequences included: a wrong fingering sounds
# another note). An extra note is listed apart.
EXPECTED = {
    "wrong_fingering": ("fingering", "pitch"),
    "pitch": ("pitch",),
    "octave": ("octave",),
    "early": ("early",),
    "late": ("late",),
    "missed": ("missed",),
    "no_breath": ("no_breath",),
}


def score_of(tune) -> Score:
    """The simulator's tune as a score (4/4; the breath marks start segments)."""
    notes, segment = [], 0
    for index, note in enumerate(tune.notes):
        segment += int(note.breath_before and index > 0)
        bar, beat = int(note.onset_beats // 4) + 1, note.onset_beats % 4 + 1
        notes.append(
            ScoreNote(index, note.midi, note.onset_beats, note.duration_beats, bar, beat, note.breath_before, segment)
        )
    return Score("default tune", tuple(notes), (TempoChange(0.0, tune.tempo_bpm),))


def simulated_session(mistakes) -> tuple[Fitted, list[Stamped], object]:
    """The player's flute, belt and sound as the session would stamp them (timeline = the player's time), through
    the real pipeline, in the order the pipeline publishes them."""
    from breath_truth import guided_calibration

    from flutex.host.session.events import AudioChunk
    from flutex.host.session.pipeline import Pipeline
    from flutex.sim.audio import PlayerAudio
    from flutex.sim.breathing import BeltSensors
    from flutex.sim.music import default_tune
    from flutex.sim.player import VirtualPlayer

    tune = default_tune()
    player = VirtualPlayer(tune, mistakes, profile=PROFILE, loop=False, seed=3)
    duration_s = player.performance.period_s + 0.5
    calibration, _ = guided_calibration(BeltSensors(), seed=1003)
    inputs: list[Stamped] = []
    flute_t = np.arange(0.0, duration_s, 0.005)
    flute = player.moments(flute_t)
    for seq, t_s in enumerate(flute_t.tolist()):
        sample = FluteSample(t_s, seq, int(flute.closed_mask[seq]), float(flute.mouth_pa[seq]))
        inputs.append(Stamped(t_s, sample))
    belt_t = np.arange(0.0, duration_s, 0.01)
    belt = player.moments(belt_t).belt_pa
    for seq, t_s in enumerate(belt_t.tolist()):
        inputs.append(Stamped(t_s, BeltSample(t_s, seq, tuple(float(v) for v in belt[seq]))))
    for k, block in enumerate(PlayerAudio(player, duration_s, SR, BLOCK).blocks()):
        inputs.append(Stamped((k + 1) * BLOCK / SR, AudioChunk(block, SR, k * BLOCK)))  # known once complete
    inputs.sort(key=lambda stamped: stamped.t_s)
    pipeline = Pipeline(PROFILE, breath_calibration=calibration)
    timeline_events = []
    for stamped in inputs:
        if isinstance(stamped.event, AudioChunk):  # stamped with its first sample's time
            stamped = Stamped(stamped.event.first_sample / SR, stamped.event)
        timeline_events.append(stamped)
        timeline_events.extend(pipeline.feed(stamped))
    timeline_events.extend(pipeline.finish())
    score = score_of(tune)
    fingerings = tuple(None if n.midi is None else PROFILE.fingering_for(n.midi) for n in score.notes)
    return Fitted(score, PROFILE, 0, fingerings), timeline_events, player.performance


def sim_grade(piece: Fitted, events: Sequence[Stamped], voice: bool = False) -> PieceReport:
    from flutex.sim.performance import LEAD_IN_S

    grader = Grader(piece, LEAD_IN_S, voice=voice)
    for stamped in events:
        grader.feed(stamped)
    return grader.finish()


def test_a_clean_simulated_play_through_through_the_real_pipeline_is_graded_clean():
    report = sim_grade(*simulated_session(None)[:2])
    assert errors_of(report) == {}
    assert report.extra_notes == ()
    assert len(report.notes) == 19


@pytest.fixture(scope="module")
def mistaken():
    """One simulated play-through with a mistake of every kind, through the real pipeline."""
    from flutex.sim.performance import Mistakes

    at = ((1, "wrong_fingering"), (3, "pitch"), (5, "octave"), (7, "early"), (10, "no_breath"), (12, "late"))
    at += ((14, "missed"), (16, "extra"))
    return simulated_session(Mistakes(at=at))


def test_the_simulated_players_injected_mistakes_are_found_and_the_other_notes_are_clean(mistaken):
    piece, events, performance = mistaken
    report = sim_grade(piece, events)
    truth = {i.index: EXPECTED[i.kind] for i in performance.injected if i.kind in EXPECTED}
    assert len(truth) == 7
    assert errors_of(report) == truth
    assert report.notes[10].possible == 5  # the breath mark was judged: the belt was on
    played = {note.score_index: note for note in performance.notes}
    extras = [(i.index, played[i.index].midi + int(i.amount)) for i in performance.injected if i.kind == "extra"]
    assert [(extra.after_index, extra.midi) for extra in report.extra_notes] == extras
    assert json.dumps(sim_grade(piece, events).to_json()) == json.dumps(report.to_json())  # graded again: the same


def test_the_voice_alone_is_graded_on_the_simulated_sound_without_the_flutes_sensors(mistaken):
    piece, events, performance = mistaken
    heard = [s for s in events if not isinstance(s.event, FluteSample | FingeringChanged)]
    report = sim_grade(piece, heard, voice=True)
    truth = {i.index: EXPECTED[i.kind] for i in performance.injected if i.kind in EXPECTED}
    truth[1] = ("pitch",)  # a wrong fingering is only heard
    assert errors_of(report) == truth


def test_the_last_note_never_played_is_missed_when_the_piece_ends():
    played = as_written(SCALE)[:-1]
    report, _ = grade(SCALE, timeline(played))
    assert errors_of(report) == {8: ("missed",)}
    assert any(isinstance(s.event, NoteGraded) and s.event.index == 8 for s in report.final_events)
    assert any(isinstance(s.event, SegmentFinished) and s.event.segment == 1 for s in report.final_events)


def test_a_slur_to_the_next_fingering_is_an_onset_when_the_sound_alone_shows_none():
    """F5 played 84 cents flat sounds almost as the E5 after it: one note to the segmenter. The fingers changed to
    E5's fingering at its time: that is its onset, so the E5 is not missed."""
    played = as_written(SCALE)
    f5, e5 = played[5], played[6]  # the scale comes down from F5 (index 5) to E5 (index 6)
    fingers = ((f5.onset_s, PROFILE.fingering_for(77)[0]), (e5.onset_s, PROFILE.fingering_for(76)[0]))
    merged = Played(77, f5.onset_s, e5.end_s, -84.0, fingers)
    played[5:7] = [merged]
    report, _ = grade(SCALE, timeline(played))
    assert errors_of(report) == {5: ("pitch",)}
    assert report.notes[6].onset_error_s == pytest.approx(0.0, abs=1e-9)
