"""Voicing at the edges of a note, on voice-like synthesized signals: a sung or spoken vowel after a consonant, a soft
ending, and a room's reverberant tail that must not pass for one. (Real recordings: benchmarks/pitch_real.py.)"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pitch_tracker import block_wise

from flutex.host.audio.synth import harmonic_tone
from flutex.host.pitch import FLUTE, VOICE, track

SR = 44100
VOWEL = (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1)  # a vowel's harmonics fall off more slowly than a flute's


def consonant_then_vowel(f0_hz: float, seed: int) -> tuple[np.ndarray, float]:
    """0.3 s of silence, a fricative (80 ms of bright noise, 6 dB under the vowel), then a vowel swelling in over
    40 ms with 40 cents of vibrato; returns the signal and the vowel's start (s)."""
    rng = np.random.default_rng(seed)
    noise = np.diff(rng.standard_normal(int(0.08 * SR)), prepend=0.0)  # differenced: brighter, like /s/ or /f/
    noise *= 0.5 * 10 ** (-6 / 20) / np.sqrt(2) / np.sqrt(np.mean(noise**2))
    vowel = harmonic_tone(f0_hz, 0.5, harmonics=VOWEL, vibrato_cents=40, fade_s=0)
    ramp = int(0.04 * SR)
    vowel[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
    onset_s = 0.3 + len(noise) / SR
    return np.concatenate([np.zeros(int(0.3 * SR)), noise, vowel]).astype(np.float32), onset_s


def fading(f0_hz: float, steady_s: float, gain_db: np.ndarray, vibrato_cents: float = 30.0) -> np.ndarray:
    """A vowel-like tone, steady for `steady_s`, then shaped by `gain_db` (one value per sample after it)."""
    tone = harmonic_tone(f0_hz, steady_s + len(gain_db) / SR, harmonics=VOWEL, vibrato_cents=vibrato_cents, fade_s=0)
    envelope = np.concatenate([np.ones(len(tone) - len(gain_db)), 10 ** (gain_db / 20)])
    return (tone * envelope).astype(np.float32)


@pytest.mark.parametrize(("config", "f0_hz"), [(VOICE, 150.0), (VOICE, 330.0), (FLUTE, 600.0)])
def test_a_soft_ending_stays_voiced_while_it_still_sounds(config, f0_hz):
    """A note that fades 40 dB in 80 ms (then silence) crosses the release-tail gate, 18 dB under its peak, about
    35 ms into the fade while it still sounds clearly at its pitch; singers end notes like this, and the reference
    of real singing says voiced there. It must read voiced until at least 55 ms into the fade, and not past the
    sound's end by more than half a window."""
    steady_s, fade_s = 0.6, 0.08
    t = np.arange(int((fade_s + 0.3) * SR)) / SR
    gain_db = np.where(t < fade_s, -40.0 * t / fade_s, -200.0)
    frames = track(fading(f0_hz, steady_s, gain_db), SR, config)
    voiced = frames.time_s[frames.f0_hz > 0]
    assert voiced.max() >= steady_s + 0.055
    assert voiced.max() <= steady_s + fade_s + config.window_samples(SR) / 2 / SR
    fade = (frames.time_s > steady_s) & (frames.f0_hz > 0)
    cents = 1200 * np.log2(frames.f0_hz[fade] / f0_hz)
    assert np.all(np.abs(cents) < 50)  # (30 cents of vibrato)


@pytest.mark.parametrize("decay_db_per_s", [60.0, 100.0])
@pytest.mark.parametrize("config", [VOICE, FLUTE])
def test_a_reverberant_tail_is_not_taken_for_a_soft_ending(config, decay_db_per_s):
    """A room's tail (the note dropping 8 dB when the player stops, then decaying at 60-100 dB/s, RT60 0.6-1 s) is as
    periodic as the note, but reaches the release-tail gate long after the level was near the peak: the soft-ending
    rule must not voice it any longer than the level gate alone does (under 0.19 s)."""
    steady_s = 0.6
    t = np.arange(SR) / SR
    frames = track(fading(440.0, steady_s, -8.0 - decay_db_per_s * t, vibrato_cents=0), SR, config)
    assert frames.time_s[frames.f0_hz > 0].max() < steady_s + 0.19


@pytest.mark.parametrize("f0_hz", [110.0, 150.0, 200.0, 300.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_vowel_after_a_consonant_is_voiced_from_its_first_frames(f0_hz, seed):
    """A fricative (80 ms of bright noise, 6 dB under the vowel), then a vowel swelling in over 40 ms with vibrato:
    the periodicity of the frames at the vowel's start climbs through voicing_on a hop or two late, because their
    correlation span still holds the noise. The frame before the first confident one, nearly voiced at the same
    pitch, is voiced with it: the vowel reads from within 10 ms of its start (up to 15 ms without). The noise never
    reads voiced."""
    signal, onset_s = consonant_then_vowel(f0_hz, seed)
    frames = track(signal, SR, VOICE)
    voiced = frames.f0_hz > 0
    assert not np.any(voiced & (frames.time_s < onset_s - 0.02))
    first = np.argmax(voiced)
    assert frames.time_s[first] <= onset_s + 0.010
    # and the early frames read the vowel's pitch (within its 40 cents of vibrato)
    early = voiced & (frames.time_s < onset_s + 0.05)
    assert np.all(np.abs(1200 * np.log2(frames.f0_hz[early] / f0_hz)) < 60)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=40))
def test_edge_rules_give_the_same_frames_in_any_block_sizes(block_sizes):
    """The note-start rule rewrites a frame still waiting in the lookahead and the soft-ending rule keeps state across
    frames: block-wise processing must still give exactly the frames of one pass."""
    vowel, _ = consonant_then_vowel(200.0, seed=0)
    t = np.arange(int(0.3 * SR)) / SR
    signal = np.concatenate([vowel, fading(200.0, 0.3, np.where(t < 0.08, -500.0 * t, -200.0))])
    reference = track(signal, SR, VOICE, block=len(signal))
    assert np.any(reference.f0_hz > 0)
    time_s, f0 = block_wise(signal, VOICE, block_sizes)
    assert np.array_equal(time_s, reference.time_s)
    assert np.array_equal(f0, reference.f0_hz)
