"""The metronome's sound: a short click through the computer's speaker, higher on each bar's first beat.

A lesson publishes its clicks on the session timeline when they are due (`flutex.tutor.lesson.metronome`); at a real
board the lesson command plays each one here. The sound is a 30 ms decaying tone (1 kHz, 1.5 kHz for an accent):
short enough not to smear a beat, and above the flute's and the voice's fundamentals, so the pitch tracker hearing
it through the microphone reads it as noise rather than a note. Playing needs the `live` extra (PortAudio).
"""

from __future__ import annotations

import numpy as np

from flutex.host.audio.speaker import Speaker

CLICK_S = 0.030
DECAY_S = 0.006  # the click's amplitude falls by e every this long: a tick, not a beep
PITCH_HZ = {False: 1000.0, True: 1500.0}  # by accent
LEVEL = 0.5  # of full scale


def click_sound(accent: bool, sample_rate_hz: int) -> np.ndarray:
    """One click as float32 samples at `sample_rate_hz`."""
    t = np.arange(round(CLICK_S * sample_rate_hz)) / sample_rate_hz
    return (LEVEL * np.sin(2 * np.pi * PITCH_HZ[accent] * t) * np.exp(-t / DECAY_S)).astype(np.float32)


class ClickSpeaker:
    """Plays clicks on the default (or a named) output device, without blocking the lesson's loop."""

    def __init__(self, speaker: Speaker, sample_rate_hz: int = 44100) -> None:
        self._speaker = speaker
        self._rate = sample_rate_hz
        self._sounds = {accent: click_sound(accent, sample_rate_hz) for accent in (False, True)}

    def click(self, accent: bool) -> None:
        self._speaker.play(self._sounds[accent], self._rate)
