"""Octave prior from the haptic flute: the fingering and mouth pressure say which note the player intends.

The profile's fingering chart maps `closed_mask` to a MIDI note; mouth pressure above the overblow threshold
(with hysteresis) adds the overblow interval. The tracker only uses the prior to break near-ties between octave
candidates (see `flutex.host.pitch.tracker`): a tone that really sounds in another octave still reads as that octave.

One `FingeringPrior` serves both uses: `from_csv` for a recorded session (`--fingering FILE`) and `add` /
`add_sample` for the live device stream (feed it `FluteSample`s as they arrive).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.host.link.events import FluteSample

STALE_S = 0.25  # a fingering older than this says nothing about the current frame


class FingeringPrior:
    """Expected f0 over time from fingering samples (time_s on the same clock as the audio)."""

    def __init__(self, profile: InstrumentProfile) -> None:
        self.profile = profile
        self._times: list[float] = []
        self._expected_hz: list[float] = []
        self._overblown = False

    def add(self, time_s: float, closed_mask: int, mouth_pa: float) -> None:
        """Record one fingering sample; samples must come in time order."""
        profile = self.profile
        if self._overblown:
            self._overblown = mouth_pa >= profile.overblow_fall_pa
        else:
            self._overblown = mouth_pa > profile.overblow_rise_pa
        midi = profile.midi_for(closed_mask, self._overblown)
        sounding = midi is not None and mouth_pa > profile.sounding_pa
        expected = 440.0 * 2.0 ** ((midi - 69) / 12) if sounding else 0.0
        self._times.append(time_s)
        self._expected_hz.append(expected)

    def add_sample(self, sample: FluteSample) -> None:
        """Feed a live device event."""
        self.add(sample.t_s, sample.closed_mask, sample.mouth_pa)

    def expected_hz(self, times_s: np.ndarray) -> np.ndarray:
        """The f0 expected at each time (0 where no recent sample, an unknown fingering or no breath)."""
        times = np.asarray(times_s, dtype=np.float64)
        if not self._times:
            return np.zeros(len(times))
        known = np.asarray(self._times)
        index = np.searchsorted(known, times, side="right") - 1
        safe = np.clip(index, 0, None)
        fresh = (index >= 0) & (times - known[safe] <= STALE_S)
        return np.where(fresh, np.asarray(self._expected_hz)[safe], 0.0)

    @classmethod
    def from_csv(cls, path: Path, profile: InstrumentProfile) -> FingeringPrior:
        """Read `time_s,closed_mask,mouth_pa` rows (header required)."""
        prior = cls(profile)
        try:
            with open(path, newline="") as handle:
                reader = csv.DictReader(handle)
                rows = [(float(r["time_s"]), int(r["closed_mask"]), float(r["mouth_pa"])) for r in reader]
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise UsageError(
                f"cannot read fingering file {path}: {error}; it needs a header time_s,closed_mask,mouth_pa"
            ) from None
        for row in sorted(rows):
            prior.add(*row)
        return prior
