"""The singing lesson's breathing feedback (`flutex.tutor.lesson.breathing`): simulated breathing through the real
breath analyser for each judgement, and one sung lesson on sim:// judged against what the simulator's singer did."""

import json
import math

import numpy as np
import pytest
from breath_truth import BELT_HZ, belt_samples, flute_samples, guided_calibration

from flutex.host.breath import BreathAnalyser
from flutex.host.breath.quality import Quality, QualityChange
from flutex.host.breath.share import Inhale
from flutex.host.cli import main
from flutex.host.commands.assess import recorded_lesson
from flutex.host.commands.listen import load_fitted
from flutex.host.link.events import BeltSample
from flutex.host.session.events import RECORDED_TYPES, NoteEnded, NoteStarted, Stamped
from flutex.host.session.playback import Recording
from flutex.sim.breathing import (
    EXHALE,
    HOLD,
    INHALE,
    BeltSensors,
    BreathingModel,
    BreathPattern,
    Segment,
    chest_only,
    diaphragmatic,
    phrases,
)
from flutex.sim.player import EXHALE_PER_S, VirtualPlayer
from flutex.tutor.assess.events import NO_BREATH, RuleVerdict
from flutex.tutor.lesson.breathing import (
    ABDOMINAL_SHARE,
    NO_EXHALE,
    SAGGED,
    STEADY,
    WAVERED,
    BreathCoach,
    BreathFeedback,
    combine,
)
from flutex.tutor.score.model import Score, ScoreNote, TempoChange

SEGMENTER_DELAY_S = 0.08  # the pitch pipeline publishes a note's end about this long after it
SUNG_PA = 1.0  # marks a pattern's segment as sung (a singer blows nothing into the flute: the value is a flag)


def one_note_per_bar(onsets_s: list[float], lengths_s: list[float], marked: bool = False) -> Score:
    """A score at 60 bpm (a beat a second) with one note per bar at each onset; every note breath-marked if
    `marked`."""
    notes = tuple(
        ScoreNote(k, 60, onset, length, k + 1, 1.0, breath_before=marked)
        for k, (onset, length) in enumerate(zip(onsets_s, lengths_s, strict=True))
    )
    return Score("exercise", notes, (TempoChange(0.0, 60.0),))


def sung_timeline(
    pattern: BreathPattern, cycles: int, seed: int = 0
) -> tuple[list[Stamped], list[tuple[float, float]]]:
    """The belt of `pattern` at 100 Hz, each sample followed by what the real breath analyser derived from it, and
    each run of sung segments as a note: `NoteStarted` at its onset, `NoteEnded` published once the belt is
    SEGMENTER_DELAY_S past its end, as the pitch pipeline does. Also returns the notes as (onset_s, end_s)."""
    calibration, _ = guided_calibration(BeltSensors(), seed + 1000)
    model = BreathingModel(pattern, BeltSensors(), seed)
    notes: list[tuple[float, float]] = []
    t = 0.0
    for _ in range(cycles):
        for segment in pattern.segments:
            if segment.mouth_pa > 0:
                if notes and math.isclose(notes[-1][1], t):
                    notes[-1] = (notes[-1][0], t + segment.duration_s)
                else:
                    notes.append((t, t + segment.duration_s))
            t += segment.duration_s
    analyser = BreathAnalyser(calibration)
    stamped: list[Stamped] = []
    waiting = list(notes)
    for sample in belt_samples(model.record(cycles * pattern.cycle_s, BELT_HZ)):
        stamped.append(Stamped(sample.t_s, sample))
        stamped += [Stamped(sample.t_s, event) for event in analyser.feed(sample)]
        while waiting and sample.t_s >= waiting[0][1] + SEGMENTER_DELAY_S:
            onset, end = waiting.pop(0)
            stamped += [Stamped(onset, NoteStarted(60, 261.6)), Stamped(end, NoteEnded(60, end - onset))]
    return stamped, notes


def coached(pattern: BreathPattern, cycles: int, score: Score | None = None) -> BreathFeedback:
    stamped, notes = sung_timeline(pattern, cycles)
    calibration, _ = guided_calibration(BeltSensors(), 1000)
    written = score or one_note_per_bar([onset for onset, _ in notes], [end - onset for onset, end in notes])
    coach = BreathCoach(calibration, written, start_s=0.0)
    for event in stamped:
        coach(event)
    return coach.summary()


@pytest.mark.parametrize("pattern", [diaphragmatic(), chest_only()], ids=lambda p: p.name)
def test_abdominal_or_chest_breathing_is_told_apart(pattern):
    feedback = coached(pattern, cycles=5)
    truth = BreathingModel(pattern).expected_share()
    assert feedback.breaths >= 4
    assert feedback.mean_abdominal_share == pytest.approx(truth, abs=0.05)
    abdominal = truth >= ABDOMINAL_SHARE
    assert feedback.abdominal_breaths == (feedback.breaths if abdominal else 0)
    said = feedback.lines()[0]
    assert said.startswith("breaths mostly abdominal" if abdominal else "breaths mostly in the chest"), said
    assert f"{feedback.mean_abdominal_share:.0%}" in said


def held_note(*sung: Segment) -> BreathPattern:
    """A breath in, the note sung through `sung` (one or more segments), the rest of the air out, a pause."""
    return BreathPattern(
        "held note",
        (Segment(INHALE, 1.0, 0.8), *sung, Segment(EXHALE, 1.5, 0.0), Segment(HOLD, 1.0, 0.0)),
        abdominal_fraction=0.85,
    )


STEADY_NOTE = held_note(Segment(EXHALE, 2.0, 0.55, SUNG_PA))  # 0.125 of the range a second, evenly
COLLAPSING_NOTE = held_note(Segment(EXHALE, 1.3, 0.68, SUNG_PA), Segment(EXHALE, 0.7, 0.2, SUNG_PA))
RUSHED_NOTE = held_note(Segment(EXHALE, 1.5, 0.05, SUNG_PA))  # half the range a second: a sigh, not a note
HELD_BREATH_NOTE = held_note(Segment(HOLD, 2.0, 0.8, SUNG_PA))  # sung with the breath held: no air goes out
LATE_COLLAPSE_NOTE = held_note(Segment(EXHALE, 1.6, 0.6, SUNG_PA), Segment(EXHALE, 0.4, 0.35, SUNG_PA))


def surging_note(fast_first: bool) -> BreathPattern:
    """The air let out in three spurts of 0.2 of the range, 0.4 s each with 0.4 s of almost none between."""
    drops = (0.2, 0.01) * 3 if fast_first else (0.01, 0.2) * 3
    volumes = 0.8 - np.cumsum(drops)
    return held_note(*(Segment(EXHALE, 0.4, float(volume), SUNG_PA) for volume in volumes))


@pytest.mark.parametrize(
    ("pattern", "verdict"),
    [
        (STEADY_NOTE, STEADY),
        (COLLAPSING_NOTE, SAGGED),
        (RUSHED_NOTE, SAGGED),
        (HELD_BREATH_NOTE, NO_EXHALE),
        (LATE_COLLAPSE_NOTE, SAGGED),
        (surging_note(fast_first=True), WAVERED),
        (surging_note(fast_first=False), WAVERED),
    ],
    ids=["steady", "collapsing", "rushed", "held breath", "late collapse", "surging", "surging later"],
)
def test_held_note_support(pattern, verdict):
    feedback = coached(pattern, cycles=3)
    assert [note.verdict for note in feedback.held] == [verdict] * 3
    assert [note.bar for note in feedback.held] == [1, 2, 3]
    said = feedback.lines()[-1]
    if verdict == STEADY:
        assert said == "held notes: 3 of 3 steadily supported: good"
    else:
        assert said.startswith("held notes: 0 of 3 steadily supported; bar 1 ") and "bar 3" in said, said


def test_a_steady_note_falls_at_the_simulated_rate():
    """The fitted slope is the air let out, in full breaths as calibrated: the model's volume change a second
    times the belt's level per unit of volume over the calibration's depth scale."""
    calibration, _ = guided_calibration(BeltSensors(), 1000)
    breathe_in, sung = STEADY_NOTE.segments[:2]
    model = BreathingModel(STEADY_NOTE)
    per_volume = (model.expected_pa(1.0) - model.expected_pa(0.0)).sum() / calibration.total_range_pa
    truth = (sung.volume - breathe_in.volume) / sung.duration_s * per_volume / calibration.depth_scale
    feedback = coached(STEADY_NOTE, cycles=2)
    assert len(feedback.held) == 2
    assert all(note.slope_per_s == pytest.approx(truth, rel=0.05) for note in feedback.held)


def test_short_notes_are_not_judged_for_support():
    short = held_note(Segment(EXHALE, 0.6, 0.7, SUNG_PA), Segment(EXHALE, 1.4, 0.55))
    assert coached(short, cycles=2).held == ()


def test_breaths_missed_at_the_marks_as_the_grader_judged_them():
    score = one_note_per_bar([0.0, 4.0, 8.0, 12.0], [3.0, 3.0, 3.0, 3.0], marked=True)
    calibration, _ = guided_calibration(BeltSensors(), 1)
    coach = BreathCoach(calibration, score, start_s=0.0)
    verdicts = [(0, None), (1, NO_BREATH), (2, None), (3, NO_BREATH)]
    for index, error in verdicts:
        coach(Stamped(4.0 * index, RuleVerdict(index, "breath", error, "")))
        coach(Stamped(4.0 * index, RuleVerdict(index, "pitch", "pitch", "")))  # another rule: not a breath
    feedback = coach.summary()
    assert (feedback.marks, feedback.marks_breathed, feedback.missed_mark_bars) == (4, 2, (2, 4))
    assert "2 of 4 phrases began without a breath (bars 2, 4): breathe at the marks" in feedback.lines()


@pytest.mark.parametrize("breath_before", [True, False])
def test_phrase_starts_judge_breaths_where_no_mark_was(breath_before):
    """A flute piece without marks: the analyser's phrase starts, from the belt and the flute's mouth pressure."""
    pattern = phrases(breath_before=breath_before)
    model = BreathingModel(pattern, BeltSensors(), 3)
    duration_s = 3 * pattern.cycle_s
    samples = sorted(
        [*belt_samples(model.record(duration_s, BELT_HZ)), *flute_samples(model.record(duration_s, 2 * BELT_HZ))],
        key=lambda sample: (sample.t_s, isinstance(sample, BeltSample)),
    )
    calibration, _ = guided_calibration(BeltSensors(), 4)
    analyser = BreathAnalyser(calibration)
    coach = BreathCoach(calibration, one_note_per_bar([0.0], [1.0]), start_s=0.0)
    for sample in samples:
        coach(Stamped(sample.t_s, sample))
        for event in analyser.feed(sample):
            coach(Stamped(sample.t_s, event))
    feedback = coach.summary()
    truth = [taken for t_s, taken in model.phrase_starts(duration_s) if t_s < duration_s - 1.0]
    assert feedback.marks == 0
    assert feedback.phrases == len(truth) and feedback.phrases_breathed == sum(truth)
    expected = "breathed before all" if breath_before else f"{truth.count(False)} of {len(truth)} phrases began"
    assert expected in feedback.lines()[1]


def test_breaths_the_belt_quality_disowns_are_not_counted():
    calibration, _ = guided_calibration(BeltSensors(), 1)
    coach = BreathCoach(calibration, one_note_per_bar([0.0], [1.0]), start_s=0.0)
    coach(Stamped(1.0, Inhale(0.0, 1.0, 0.5, 0.9)))
    coach(Stamped(20.0, QualityChange(20.0, Quality(False, 70.0, 0.1, "too fast"))))
    coach(Stamped(21.0, Inhale(20.5, 21.0, 0.5, 0.1)))
    coach(Stamped(40.0, QualityChange(40.0, Quality(True, 10.0, 1.0, ""))))
    coach(Stamped(41.0, Inhale(40.0, 41.0, 0.5, 0.7)))
    feedback = coach.summary()
    assert (feedback.breaths, feedback.abdominal_breaths) == (2, 2)
    assert feedback.mean_abdominal_share == pytest.approx(0.8)


def test_without_a_belt_calibration_breathing_is_not_judged():
    stamped, notes = sung_timeline(STEADY_NOTE, cycles=2)
    coach = BreathCoach(None, one_note_per_bar([notes[0][0]], [2.0]), start_s=0.0)
    for event in stamped:
        coach(event)
    feedback = coach.summary()
    assert feedback == BreathFeedback(judged=False)
    assert coach.lines() == ["breathing not judged: no breath belt calibration"]
    assert json.loads(json.dumps(feedback.to_json()))["judged"] is False


def test_a_lesson_combines_its_attempts():
    first, second = coached(diaphragmatic(), cycles=3), coached(STEADY_NOTE, cycles=2)
    lesson = combine([first, BreathFeedback(judged=False), second])
    assert lesson.breaths == first.breaths + second.breaths
    assert lesson.held == first.held + second.held
    weighted = (first.mean_abdominal_share * first.breaths + second.mean_abdominal_share * second.breaths) / (
        first.breaths + second.breaths
    )
    assert lesson.mean_abdominal_share == pytest.approx(weighted)
    assert combine([BreathFeedback(judged=False)]) == BreathFeedback(judged=False)
    as_json = json.loads(json.dumps(lesson.to_json()))
    assert as_json["steady_notes"] == lesson.steady_notes == len(second.held)
    assert 1 <= len(lesson.lines()) <= 3


@pytest.mark.slow
def test_a_simulated_singer_is_judged_by_what_it_really_did(tmp_path, capsys):
    """`flutex listen` on sim:// with the singer and its belt, the recorded timeline replayed (in the order it was
    published live) through a coach: breathing judged as the simulator's breathing model really breathes."""
    url = "sim://?profile=boehm&instrument=voice&seed=2"
    assert main(["listen", "frere_jacques", "--device", url, "--sessions-dir", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert_judged_as_simulated(tmp_path / result["recording"])


def assert_judged_as_simulated(path):
    """The recorded timeline replayed through a coach: the feedback against the simulated singer's truth."""
    lesson = recorded_lesson(path)
    _, fitted = load_fitted(lesson.score_path, lesson.part, lesson.profile, lesson.transpose)
    coach = BreathCoach(lesson.breath_calibration, fitted.score, lesson.start_s)
    for stamped in Recording(path, event_types=(*RECORDED_TYPES, RuleVerdict)):
        coach(stamped)
    feedback = coach.summary()

    singer = VirtualPlayer(sings=True, loop=False).breathing  # the singer's breathing, whatever it sings
    truth_share = singer.expected_share()
    assert feedback.breaths >= 3
    assert feedback.mean_abdominal_share == pytest.approx(truth_share, abs=0.03)
    mostly = "breaths mostly abdominal" if truth_share >= ABDOMINAL_SHARE else "breaths mostly in the chest"
    assert feedback.lines()[0].startswith(mostly)

    marked = [note for note in fitted.score.sounding if note.breath_before]
    truly_missed = {note["bar"] for note in json.loads(lesson.truth)["notes"] if NO_BREATH in note["errors"]}
    assert feedback.marks == len(marked)
    assert set(feedback.missed_mark_bars) == truly_missed

    # held notes: the singer lets its air out evenly at EXHALE_PER_S of its range a second, in full breaths here
    calibration = lesson.breath_calibration
    per_volume = (singer.expected_pa(1.0) - singer.expected_pa(0.0)).sum() / calibration.total_range_pa
    truth_slope = -EXHALE_PER_S * per_volume / calibration.depth_scale
    # every note written 1 s or longer is held, but one before a breath mark, which the singer cuts short to breathe
    sounding = fitted.score.sounding
    sustained = [
        note.bar
        for note, after in zip(sounding, (*sounding[1:], None), strict=True)
        if fitted.score.duration_s(note) >= 1.0 and not (after and after.breath_before)
    ]
    assert len(sustained) >= 2 and [note.bar for note in feedback.held] == sustained
    assert all(note.verdict == STEADY for note in feedback.held)
    assert all(note.slope_per_s == pytest.approx(truth_slope, rel=0.1) for note in feedback.held)
    assert feedback.lines()[-1] == f"held notes: {len(feedback.held)} of {len(feedback.held)} steadily supported: good"
