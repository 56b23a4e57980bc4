"""The fundamental check: present for real tones (even weak ones), absent for the common period of two notes."""

import numpy as np
import pytest

from flutex.host.audio.synth import FLUTE_LIKE, WEAK_FUNDAMENTAL, harmonic_tone, midi_to_hz
from flutex.host.pitch.spectrum import FundamentalProbe
from flutex.host.pitch.tracker import FUNDAMENTAL_MIN_DB

SR = 22050
FRAME = 512


def frame_of(signal: np.ndarray) -> np.ndarray:
    return signal[1000 : 1000 + FRAME].astype(np.float64)


@pytest.mark.parametrize("midi", [60, 72, 84, 91])
def test_a_tone_has_its_fundamental_and_its_sub_octave_has_none(midi):
    probe = FundamentalProbe(FRAME, SR)
    frame = frame_of(harmonic_tone(midi_to_hz(midi), 0.2, SR, FLUTE_LIKE))
    assert probe.level_db(frame, midi_to_hz(midi)) == pytest.approx(0.0, abs=0.5)  # the strongest partial
    assert probe.level_db(frame, midi_to_hz(midi) / 2) < FUNDAMENTAL_MIN_DB - 10


@pytest.mark.parametrize("midi", [60, 72, 84])
def test_a_weak_fundamental_still_counts(midi):
    frame = frame_of(harmonic_tone(midi_to_hz(midi), 0.2, SR, WEAK_FUNDAMENTAL))
    level = FundamentalProbe(FRAME, SR).level_db(frame, midi_to_hz(midi))
    assert level == pytest.approx(20 * np.log10(WEAK_FUNDAMENTAL[0] / WEAK_FUNDAMENTAL[1]), abs=1.5)
    assert level > FUNDAMENTAL_MIN_DB


def test_two_notes_a_fifth_apart_have_nothing_at_their_common_period():
    c6, g6 = midi_to_hz(84), midi_to_hz(91)
    mix = harmonic_tone(c6, 0.2, SR) + 0.5 * harmonic_tone(g6, 0.2, SR)
    probe = FundamentalProbe(FRAME, SR)
    assert probe.level_db(frame_of(mix), c6 / 2) < FUNDAMENTAL_MIN_DB - 10
    assert probe.level_db(frame_of(mix), c6) > -3


def test_silence_and_harmonics_past_nyquist_are_harmless():
    probe = FundamentalProbe(FRAME, SR)
    assert probe.level_db(np.zeros(FRAME), 440.0) == 0.0
    frame = frame_of(harmonic_tone(5000.0, 0.2, SR, (1.0,)))  # 2 and 3 x 5 kHz lie past 11 kHz
    assert probe.level_db(frame, 5000.0) == 0.0
