"""The flute's octave prior: read from fingering + breath, it settles ambiguous octaves and never hides mistakes."""

import numpy as np
import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.synth import FLUTE_LIKE, harmonic_tone, midi_to_hz
from flutex.host.errors import UsageError
from flutex.host.link.events import FluteSample
from flutex.host.pitch import FLUTE, FingeringPrior, track

SR = 44100
PROFILE = InstrumentProfile.load("six_hole")
ALL_CLOSED = 0b111111  # C5 on the six-hole flute, C6 overblown
AMBIGUOUS = (0.05, 1.0, 0.1, 0.3)  # 1% odd harmonics: this tone is nearly periodic at half its period


def steady_prior(closed_mask: int, mouth_pa: float, duration_s: float = 1.0) -> FingeringPrior:
    prior = FingeringPrior(PROFILE)
    for t in np.arange(0.0, duration_s, 0.01):
        prior.add(float(t), closed_mask, mouth_pa)
    return prior


def median_midi(signal: np.ndarray, prior: FingeringPrior | None) -> float:
    frames = track(signal, SR, FLUTE, prior)
    voiced = frames.f0_hz[(frames.time_s > 0.1) & (frames.time_s < 0.5)]
    assert np.all(voiced > 0)
    return float(np.median(69 + 12 * np.log2(voiced / 440.0)))


def test_fingering_and_breath_give_the_expected_note_with_overblow_hysteresis():
    prior = FingeringPrior(PROFILE)
    for t, pressure in [(0.0, 800), (0.1, 1500), (0.2, 1200), (0.3, 1000), (0.4, 100)]:
        prior.add(t, ALL_CLOSED, pressure)
    prior.add(0.5, 0b101010, 800)  # not in the chart
    expected = prior.expected_hz(np.array([-0.1, 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.9]))
    c5, c6 = midi_to_hz(72), midi_to_hz(84)
    assert np.allclose(expected, [0, c5, c6, c6, c5, 0, 0, 0])  # 0.9 s: the last sample is stale


def test_live_device_samples_feed_the_same_prior_at_their_timeline_time():
    prior = FingeringPrior(PROFILE)
    prior.add_sample(FluteSample(t_s=500.0, seq=1, closed_mask=0b000011, mouth_pa=700.0), time_s=1.0)
    assert prior.expected_hz(np.array([1.1]))[0] == pytest.approx(midi_to_hz(79))
    assert prior.expected_hz(np.array([500.1]))[0] == 0.0  # the board's own time is not the timeline


def test_the_prior_keeps_only_its_last_samples_and_answers_them_as_before():
    """An hour of play must not grow it: a ring of `capacity` samples, queries older than the ring get 0."""
    bounded, whole = FingeringPrior(PROFILE, capacity=50), FingeringPrior(PROFILE, capacity=10_000)
    rng = np.random.default_rng(0)
    for k in range(1234):  # wraps the ring many times
        mask, pressure = int(rng.choice([0b111111, 0b000011, 0b011111])), float(rng.uniform(100, 1700))
        for prior in (bounded, whole):
            prior.add(k * 0.005, mask, pressure)
    recent = np.linspace(1234 * 0.005 - 0.24, 1234 * 0.005 + 0.1, 40)
    assert np.array_equal(bounded.expected_hz(recent), whole.expected_hz(recent))
    assert bounded.expected_hz(np.array([1.0]))[0] == 0.0 and whole.expected_hz(np.array([1.0]))[0] >= 0.0


def test_a_sample_stamped_before_the_previous_one_counts_as_simultaneous():
    prior = FingeringPrior(PROFILE)
    prior.add(1.0, ALL_CLOSED, 700)
    prior.add(0.999, 0b000011, 700)  # a clock correction moved it back a millisecond
    assert prior.expected_hz(np.array([1.0]))[0] == pytest.approx(midi_to_hz(79))


def test_prior_settles_an_ambiguous_octave():
    tone = harmonic_tone(midi_to_hz(72), 0.6, harmonics=AMBIGUOUS)
    assert round(median_midi(tone, None)) == 84  # without the prior: an octave error
    assert round(median_midi(tone, steady_prior(ALL_CLOSED, 700))) == 72


@pytest.mark.parametrize(("sounding", "prior_pa"), [(84, 700), (72, 1600)])
def test_wrong_prior_cannot_hide_the_octave_the_flute_really_sounds(sounding, prior_pa):
    # e.g. the player overblows into C6 but the pressure sensor reads low: the tutor must still hear C6
    tone = harmonic_tone(midi_to_hz(sounding), 0.6, harmonics=FLUTE_LIKE)
    assert round(median_midi(tone, steady_prior(ALL_CLOSED, prior_pa))) == sounding


def test_fingering_csv_is_read_and_bad_files_say_what_to_do(tmp_path):
    good = tmp_path / "fingering.csv"
    good.write_text("time_s,closed_mask,mouth_pa\n0.0,63,700\n0.1,63,1600\n")
    prior = FingeringPrior.from_csv(good, PROFILE)
    assert prior.expected_hz(np.array([0.15]))[0] == pytest.approx(midi_to_hz(84))
    bad = tmp_path / "bad.csv"
    bad.write_text("t,mask\n0,1\n")
    with pytest.raises(UsageError, match="time_s,closed_mask,mouth_pa"):
        FingeringPrior.from_csv(bad, PROFILE)
