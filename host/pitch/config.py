"""Tracker settings per instrument: pitch range, analysis window, hop and lookahead, and the latency they cost."""

from __future__ import annotations

import math
from dataclasses import dataclass


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

    def latency_s(self, sample_rate_hz: float) -> float:
        """Algorithmic latency: the window's centre lags its newest sample by half a window, the smoother
        waits `lookahead_frames` hops, and a frame is only analysed once a whole hop has arrived."""
        window = self.window_samples(sample_rate_hz)
        hop = self.hop_samples(sample_rate_hz)
        return (window / 2 + hop * (self.lookahead_frames + 1)) / sample_rate_hz


# Flute: C4-C7 with a little margin; a 1024-sample window at 44.1 kHz holds 6 periods of C4.
FLUTE = TrackerConfig("flute", fmin_hz=250.0, fmax_hz=2200.0, min_window_s=0.020, hop_s=0.0058, lookahead_frames=1)
# Voice: E2-C6; E2 (82 Hz) needs a 2048-sample window at 44.1 kHz.
VOICE = TrackerConfig("voice", fmin_hz=78.0, fmax_hz=1100.0, min_window_s=0.040, hop_s=0.0058, lookahead_frames=1)

INSTRUMENTS: dict[str, TrackerConfig] = {config.name: config for config in (FLUTE, VOICE)}
