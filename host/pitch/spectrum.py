"""Is there energy at a candidate's fundamental? The check that periodicity alone cannot make.

Two notes sounding together repeat at their common period: a C6 played while a G6 still rings in the room (3:2)
is exactly periodic at C5's period, and more periodic there than at C6's own. Periodicity then prefers C5, an
octave below anything that sounds. What gives such a reading away is that nothing sounds at its fundamental: the
frame has no energy at 523 Hz. A real tone of the instruments we track has its fundamental at most about 20 dB
under its strongest low harmonic (the tests' "weak fundamental" timbre sits at -18 dB, the benchmark's weak-odd
timbre at -22 dB); a common period of two notes has it 45-85 dB under.

The power at a frequency is one Hann-windowed DFT bin at exactly that frequency (a dot product with a complex
exponential), so it costs three dot products per call and is only asked for when it decides between octaves.
"""

from __future__ import annotations

import math

import numpy as np


class FundamentalProbe:
    """Power at a candidate f0 relative to its strongest of harmonics 1-3, for frames of one length and rate."""

    def __init__(self, frame_samples: int, sample_rate_hz: float) -> None:
        self._window = np.hanning(frame_samples)
        self._phase_per_hz = np.arange(frame_samples) * (-2j * math.pi / sample_rate_hz)
        self._nyquist_hz = sample_rate_hz / 2

    def level_db(self, frame: np.ndarray, f0_hz: float) -> float:
        """dB of the power at `f0_hz` under the strongest of the powers at 1, 2 and 3 x `f0_hz` (0 = strongest).

        Harmonics above the Nyquist frequency are left out; a silent frame reads 0 (nothing to object to)."""
        windowed = frame * self._window
        fundamental = np.exp(self._phase_per_hz * f0_hz)
        powers = [abs(complex(np.dot(windowed, fundamental))) ** 2]
        harmonic = fundamental
        for k in (2, 3):
            if k * f0_hz >= self._nyquist_hz:
                break
            harmonic = harmonic * fundamental
            powers.append(abs(complex(np.dot(windowed, harmonic))) ** 2)
        strongest = max(powers)
        if strongest <= 0.0:
            return 0.0
        return 10.0 * math.log10(max(powers[0], strongest * 1e-12) / strongest)
