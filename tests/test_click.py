"""The metronome's click: short, decaying, and an accent that is audibly higher."""

from __future__ import annotations

import numpy as np

from flutex.host.audio.click import CLICK_S, PITCH_HZ, click_sound

RATE = 44100


def test_a_click_is_short_loud_at_once_and_gone_by_its_end() -> None:
    sound = click_sound(False, RATE)
    assert len(sound) == round(CLICK_S * RATE) and sound.dtype == np.float32
    head, tail = np.abs(sound[: RATE // 1000]).max(), np.abs(sound[-RATE // 1000 :]).max()
    assert head > 0.3 and tail < 0.01 * head


def test_the_accent_sounds_at_its_own_pitch() -> None:
    for accent in (False, True):
        sound = click_sound(accent, RATE)
        spectrum = np.abs(np.fft.rfft(sound, 8 * len(sound)))
        peak_hz = np.argmax(spectrum) * RATE / (8 * len(sound))
        assert abs(peak_hz - PITCH_HZ[accent]) < 40
