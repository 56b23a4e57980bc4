"""Octave prior from the haptic flute: the fingering and mouth pressure say which note the player intends.

The profile's fingering chart maps `closed_mask` to a MIDI note; mouth pressure above the overblow threshold
(with hysteresis) adds the overblow interval. The tracker only uses the prior to break near-ties between octave
candidates (see `flutex.host.pitch.tracker`): a tone that really sounds in another octave still reads as that octave.

One `FingeringPrior` serves both uses: `from_csv` for a recorded session (`--fingering FILE`) and `add` /
`add_sample` for the live device stream, with every time on the session timeline (the audio frames' times too).
It keeps only the last `capacity` samples in a ring, so memory stays bounded and a query costs the same after hours
of play as after seconds; a query older than the oldest sample kept gets no opinion (0).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.host.link.events import FluteSample

STALE_S = 0.25  # a fingering older than this says nothing about the current frame
DEFAULT_CAPACITY = 1 << 16  # samples kept: 5.5 minutes of the 200 Hz flute stream, 1 MB


class FingeringPrior:
    """Expected f0 over time from fingering samples (`time_s` on the same clock as the times it is asked about)."""

    def __init__(self, profile: InstrumentProfile, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a fingering prior keeps at least one sample")
        self.profile = profile
        self.capacity = capacity
        # Each sample is written twice, at i and i + capacity, so the last `capacity` samples are always one
        # contiguous, time-ordered slice: a query is one binary search, with no copy.
        self._times = np.zeros(2 * capacity)
        self._expected_hz = np.zeros(2 * capacity)
        self._added = 0
        self._overblown = False

    def add(self, time_s: float, closed_mask: int, mouth_pa: float) -> None:
        """Record one fingering sample. Samples come in time order; one stamped slightly before the previous one
        (a clock correction) is taken as simultaneous with it."""
        profile = self.profile
        if self._overblown:
            self._overblown = mouth_pa >= profile.overblow_fall_pa
        else:
            self._overblown = mouth_pa > profile.overblow_rise_pa
        midi = profile.midi_for(closed_mask, self._overblown)
        sounding = midi is not None and mouth_pa > profile.sounding_pa
        expected = 440.0 * 2.0 ** ((midi - 69) / 12) if sounding else 0.0
        slot = self._added % self.capacity
        if self._added:
            time_s = max(time_s, float(self._times[(self._added - 1) % self.capacity]))
        self._times[slot] = self._times[slot + self.capacity] = time_s
        self._expected_hz[slot] = self._expected_hz[slot + self.capacity] = expected
        self._added += 1

    def add_sample(self, sample: FluteSample, time_s: float | None = None) -> None:
        """Feed a device event placed at `time_s` on the timeline. Its board time `sample.t_s` (the default) only
        serves where board and audio share one clock, as in a simulation rendered from the same times."""
        self.add(sample.t_s if time_s is None else time_s, sample.closed_mask, sample.mouth_pa)

    def expected_hz(self, times_s: np.ndarray) -> np.ndarray:
        """The f0 expected at each time (0 where no recent sample, an unknown fingering or no breath)."""
        times = np.asarray(times_s, dtype=np.float64)
        kept = min(self._added, self.capacity)
        if not kept:
            return np.zeros(len(times))
        end = (self._added - 1) % self.capacity + self.capacity + 1  # one past the newest, in the upper copy
        known, expected = self._times[end - kept : end], self._expected_hz[end - kept : end]
        index = np.searchsorted(known, times, side="right") - 1
        safe = np.clip(index, 0, None)
        fresh = (index >= 0) & (times - known[safe] <= STALE_S)
        return np.where(fresh, expected[safe], 0.0)

    @classmethod
    def from_csv(cls, path: Path, profile: InstrumentProfile) -> FingeringPrior:
        """Read `time_s,closed_mask,mouth_pa` rows (header required); the prior keeps all of them."""
        try:
            with open(path, newline="") as handle:
                reader = csv.DictReader(handle)
                rows = [(float(r["time_s"]), int(r["closed_mask"]), float(r["mouth_pa"])) for r in reader]
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise UsageError(
                f"cannot read fingering file {path}: {error}; it needs a header time_s,closed_mask,mouth_pa"
            ) from None
        prior = cls(profile, capacity=max(1, len(rows)))
        for row in sorted(rows):
            prior.add(*row)
        return prior
