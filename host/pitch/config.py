"""Tracker settings per instrument: pitch range, analysis window, hop and lookahead, and the latency they cost."""

from __future__ import annotations

import math
from dataclasses import dataclass

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi: int) -> str:
    """Scientific pitch notation: 60 is C4, 69 is A4."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """How the tracker listens to one kind of instrument.

    Window and hop are given in seconds so one profile serves every sample rate; `window_samples` rounds the
    window up to a power of two because aubio's FFT needs one.
    """

    name: str
    fmin_hz: float
    fmax_hz: float
    min_window_s: float  # shortest window that still holds two periods of fmin_hz
    hop_s: float
    lookahead_frames: int  # frames the smoother waits for before it decides; part of the latency
    voicing_on: float = 0.6  # periodicity a silent frame needs to become voiced
    voicing_off: float = 0.4  # periodicity under which a voiced frame becomes unvoiced
    min_level_dbfs: float = -60.0  # quieter frames are never voiced
    max_drop_db: float = 18.0  # frames this far under the recent peak level are a release tail, not a note

    def window_samples(self, sample_rate_hz: float) -> int:
        return 1 << math.ceil(math.log2(self.min_window_s * sample_rate_hz))

    def hop_samples(self, sample_rate_hz: float) -> int:
        """A multiple of 8 samples, so that hops fall on whole samples of the tracker's reduced-rate analysis."""
        return 8 * max(1, round(self.hop_s * sample_rate_hz / 8))

    def notes_covered(self) -> tuple[str, str]:
        """The lowest and highest notes whose nominal pitch lies in the range, e.g. ("B3", "E7")."""
        low = math.ceil(69 + 12 * math.log2(self.fmin_hz / 440.0))
        high = math.floor(69 + 12 * math.log2(self.fmax_hz / 440.0))
        return note_name(low), note_name(high)

    def describe(self, sample_rate_hz: float = 44100) -> str:
        """E.g. "flute B3-E7 (240-2720 Hz, 23 ms latency)", for --help."""
        low, high = self.notes_covered()
        latency_ms = self.latency_s(sample_rate_hz) * 1000
        return f"{self.name} {low}-{high} ({self.fmin_hz:.0f}-{self.fmax_hz:.0f} Hz, {latency_ms:.0f} ms latency)"

    def latency_s(self, sample_rate_hz: float) -> float:
        """Algorithmic latency: the window's centre lags its newest sample by half a window, the smoother
        waits `lookahead_frames` hops, and a frame is only analysed once a whole hop has arrived."""
        window = self.window_samples(sample_rate_hz)
        hop = self.hop_samples(sample_rate_hz)
        return (window / 2 + hop * (self.lookahead_frames + 1)) / sample_rate_hz


# Flute: the concert flute's whole range, B3 (247 Hz, the B foot's lowest note) to D7 (2349 Hz) and the top notes
# some players reach, up to E7 (2637 Hz), with about 50 cents of margin either side. A 1024-sample window at 44.1 kHz
# holds 5.7 periods of B3. The top stays under 2756 Hz so that the reduced-rate analysis still halves the work at
# 44.1 kHz (four harmonics of fmax_hz under its Nyquist frequency).
FLUTE = TrackerConfig("flute", fmin_hz=240.0, fmax_hz=2720.0, min_window_s=0.020, hop_s=0.0058, lookahead_frames=1)
# Voice: E2-C6; E2 (82 Hz) needs a 2048-sample window at 44.1 kHz.
VOICE = TrackerConfig("voice", fmin_hz=78.0, fmax_hz=1100.0, min_window_s=0.040, hop_s=0.0058, lookahead_frames=1)

INSTRUMENTS: dict[str, TrackerConfig] = {config.name: config for config in (FLUTE, VOICE)}
