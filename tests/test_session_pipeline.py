"""The live-event pipeline: events on the timeline where they happened, latency subtracted, dropped audio corrected,
and the same inputs giving the same outputs bit for bit (what a replay relies on)."""

import numpy as np
import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.synth import melody
from flutex.host.breath.calibration import Calibration
from flutex.host.breath.phases import PhaseChange
from flutex.host.errors import UsageError
from flutex.host.link.events import BeltSample, FluteSample, LinkLost
from flutex.host.pitch import FLUTE, PitchTracker
from flutex.host.session.events import (
    RECORDED_TYPES,
    AudioChunk,
    FingeringChanged,
    NoteEnded,
    NoteStarted,
    PitchFrame,
    Stamped,
)
from flutex.host.session.pipeline import Pipeline

SR = 44100
BLOCK = 256
PROFILE = InstrumentProfile.load("six_hole")
TUNE = [(None, 0.2), (72, 0.4), (None, 0.15), (76, 0.5), (79, 0.3), (None, 0.3)]
START_S = 3.0  # the audio began 3 s into the session
LATENCY_S = 0.012  # calibrated input latency


def audio_inputs(signal: np.ndarray, drop=()) -> list[Stamped]:
    """Chunks stamped at their first sample's capture time; the chunk numbers in `drop` never arrive."""
    inputs = []
    for k, first in enumerate(range(0, len(signal), BLOCK)):
        if k not in drop:
            chunk = AudioChunk(signal[first : first + BLOCK], SR, first)
            inputs.append(Stamped(START_S + first / SR, chunk))
    return inputs


def flute_inputs(truth, end_s: float) -> list[Stamped]:
    """The 200 Hz flute stream of a player fingering each note of `truth` from its onset."""
    out = []
    for seq, t in enumerate(np.arange(0, end_s, 0.005)):
        mask = next((PROFILE.fingering_for(int(m))[0] for on, off, m in truth if on <= t < off), 0)
        out.append(Stamped(START_S + t, FluteSample(float(t) + 100.0, seq, mask, 700.0 if mask else 0.0)))
    return out


def merged(*streams) -> list[Stamped]:
    return sorted((s for stream in streams for s in stream), key=lambda s: s.t_s)


def run(pipeline: Pipeline, inputs: list[Stamped]) -> list[Stamped]:
    out = []
    for stamped in inputs:
        out.extend(pipeline.feed(stamped))
    return out + pipeline.finish()


def of(events, kind):
    return [s for s in events if isinstance(s.event, kind)]


@pytest.fixture(scope="module")
def tune():
    return melody(TUNE, SR)


def test_notes_are_stamped_when_they_sounded_with_the_input_latency_subtracted(tune):
    signal, truth = tune
    # the microphone hears everything LATENCY_S late: the same signal, delayed
    heard = np.concatenate([np.zeros(round(LATENCY_S * SR), np.float32), signal])
    out = run(Pipeline(PROFILE, input_latency_s=LATENCY_S), audio_inputs(heard))
    started, ended = of(out, NoteStarted), of(out, NoteEnded)
    assert [s.event.midi for s in started] == [72, 76, 79] == [s.event.midi for s in ended]
    for s, (onset, _, midi) in zip(started, truth, strict=True):
        assert abs(s.t_s - (START_S + onset)) < 0.015  # within two hops of when it sounded
        assert s.event.hz == pytest.approx(440 * 2 ** ((midi - 69) / 12), rel=0.01)
    for s, (_, offset, _) in zip(ended, truth, strict=True):
        assert abs(s.t_s - (START_S + offset)) < 0.02
    assert all(a.t_s < b.t_s for a, b in zip(started, ended, strict=True))


def test_frames_are_stamped_a_tracker_latency_before_they_come_out(tune):
    """The tracker's own latency is not counted: a frame's stamp is its sound's time, `latency_s` before the end of
    the chunk that completed it (less up to a hop: `latency_s` counts a whole hop for the wait for a hop's samples)."""
    signal, _ = tune
    pipeline = Pipeline(PROFILE)
    tracker_latency = PitchTracker(FLUTE, SR).latency_s
    hop_s = PitchTracker(FLUTE, SR).hop / SR
    for stamped in audio_inputs(signal)[:200]:
        chunk_end = stamped.t_s + len(stamped.event.samples) / SR
        for frame in of(pipeline.feed(stamped), PitchFrame):
            assert chunk_end - tracker_latency - 1e-9 <= frame.t_s <= chunk_end - tracker_latency + hop_s + 1e-9


def test_dropped_blocks_leave_later_notes_where_they_sounded(tune):
    signal, _ = tune
    whole = of(run(Pipeline(PROFILE), audio_inputs(signal)), NoteStarted)
    gapped = of(run(Pipeline(PROFILE), audio_inputs(signal, drop={100, 101, 102})), NoteStarted)
    # the drop falls at the end of the first note (0.58-0.6 s): the last note, after it, lands where it was
    assert [s.event.midi for s in gapped][-1] == 79
    assert gapped[-1].t_s == pytest.approx(whole[-1].t_s, abs=1e-9)


def test_a_long_gap_restarts_the_tracker_and_keeps_time(tune):
    signal, _ = tune
    inputs = audio_inputs(signal)
    later = [Stamped(s.t_s + 60.0, AudioChunk(s.event.samples, SR, s.event.first_sample + 60 * SR)) for s in inputs]
    out = run(Pipeline(PROFILE), inputs + later)
    starts = [s.t_s for s in of(out, NoteStarted)]
    assert len(starts) == 6
    assert starts[3:] == pytest.approx([t + 60.0 for t in starts[:3]], abs=1e-6)


def test_a_change_of_sample_rate_says_what_to_do(tune):
    pipeline = Pipeline(PROFILE)
    pipeline.feed(Stamped(0.0, AudioChunk(np.zeros(BLOCK, np.float32), SR, 0)))
    with pytest.raises(UsageError, match="new session"):
        pipeline.feed(Stamped(0.1, AudioChunk(np.zeros(BLOCK, np.float32), 48000, BLOCK)))


def test_fingering_changes_are_reported_once_on_the_timeline_and_again_after_a_lost_link():
    pipeline = Pipeline(PROFILE)
    masks = [0b111111, 0b111111, 0b011111, 0b011111, 0b101010]
    out = []
    for k, mask in enumerate(masks):
        out.extend(pipeline.feed(Stamped(1.0 + k * 0.005, FluteSample(50.0 + k, k, mask, 700.0))))
    out.extend(pipeline.feed(Stamped(2.0, LinkLost(2.0, "unplugged"))))
    out.extend(pipeline.feed(Stamped(3.0, FluteSample(60.0, 9, 0b101010, 700.0))))
    assert [(s.t_s, s.event) for s in out] == [
        (1.0, FingeringChanged(0b111111, 72)),
        (1.01, FingeringChanged(0b011111, PROFILE.midi_for(0b011111))),
        (1.02, FingeringChanged(0b101010, None)),
        (3.0, FingeringChanged(0b101010, None)),
    ]


def test_the_prior_reads_the_flute_on_the_timeline(tune):
    """The flute's own board time (t + 100 s here) is not the audio's: the pipeline must use the stamps."""
    signal, truth = tune
    pipeline = Pipeline(PROFILE)
    run(pipeline, merged(audio_inputs(signal), flute_inputs(truth, len(signal) / SR)))
    assert pipeline.prior.expected_hz(np.array([START_S + 0.4]))[0] == pytest.approx(440 * 2 ** (3 / 12), rel=1e-6)
    assert pipeline.prior.expected_hz(np.array([100.4]))[0] == 0.0


def breath_inputs() -> list[Stamped]:
    """A belt breathing slowly (4 s cycles), stamped on the timeline; its board time runs elsewhere."""
    out = []
    for seq, t in enumerate(np.arange(0, 12, 0.02)):
        level = 0.5 - 0.5 * np.cos(2 * np.pi * t / 4)
        channels = (300.0 * level, 250.0 * level, 200.0 * level, 200.0 * level)
        out.append(Stamped(START_S + t, BeltSample(float(t) + 500.0, seq, channels)))
    return out


CALIBRATION = Calibration((0.0,) * 4, (300.0, 250.0, 200.0, 200.0), (1.0,) * 4)


def test_breath_events_come_on_the_timeline():
    out = run(Pipeline(PROFILE, breath_calibration=CALIBRATION), breath_inputs())
    phases = of(out, PhaseChange)
    assert phases and all(START_S <= s.t_s <= START_S + 12 for s in phases)
    assert all(s.t_s == s.event.t_s for s in phases)


def test_same_inputs_give_the_same_outputs_bit_for_bit(tune):
    signal, truth = tune
    inputs = merged(audio_inputs(signal, drop={40}), flute_inputs(truth, len(signal) / SR), breath_inputs())

    def replay():
        return run(Pipeline(PROFILE, input_latency_s=LATENCY_S, breath_calibration=CALIBRATION), inputs)

    first, second = replay(), replay()
    assert len(first) > 100
    assert first == second  # frozen dataclasses of floats: equal means every bit
    assert {type(s.event) for s in first} <= set(RECORDED_TYPES)
