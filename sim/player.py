"""A scripted virtual player: what the board's sensors read at any moment while someone plays a tune.

It fingers the holes of a melody, blows (harder for overblown notes) while its breathing pattern says it is
playing, and breathes into the belt. Pure: `inputs_at(t_s)` gives raw sensor values by GPIO, computed through the
same pin map and profile the firmware and host use, so the three cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flutex.hardware import load_pinmap
from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.breathing import EXHALE, BreathingModel, BreathPattern, diaphragmatic

TOUCH_OPEN = 20000  # ESP32-S3 touch reading of an uncovered pad
TOUCH_CLOSED = 60000  # ... and of a pad under a finger
TOUCH_NOISE = 1500
ADC_AMBIENT = 20000  # ADC counts of a pressure sensor at ambient pressure
PLAY_PA = 600.0  # blowing pressure of the low register
OVERBLOW_PA = 1700.0  # ... and of the overblown register

# (MIDI note, seconds): a scale up and down over both registers
DEFAULT_MELODY: tuple[tuple[int, float], ...] = tuple(
    (midi, 0.25) for midi in (72, 74, 76, 77, 79, 81, 83, 84, 86, 88, 86, 84, 83, 81, 79, 77, 76, 74)
)


@dataclass(frozen=True, slots=True)
class Moment:
    """The player's state at one instant, in physical units."""

    closed_mask: int
    mouth_pa: float
    belt_pa: tuple[float, float, float, float]


class VirtualPlayer:
    def __init__(
        self,
        melody: Sequence[tuple[int, float]] = DEFAULT_MELODY,
        breathing: BreathPattern | None = None,
        profile: InstrumentProfile | None = None,
        pinmap: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.pinmap = pinmap or load_pinmap()
        self.profile = profile or InstrumentProfile.load(self.pinmap["profile"])
        self.breathing = BreathingModel(breathing or diaphragmatic(), seed=seed)
        self._rng = np.random.default_rng(seed)
        fingerings = [self.profile.fingering_for(midi) for midi, _ in melody]
        self._masks = [mask for mask, _ in fingerings]
        self._midis = np.array([midi for midi, _ in melody])
        self._blowing_pa = np.array([OVERBLOW_PA if overblown else PLAY_PA for _, overblown in fingerings])
        self._ends_s = np.cumsum([seconds for _, seconds in melody])
        pads = {pad["hole"]: pad["gpio"] for pad in self.pinmap["touch"]["pads"]}
        self._touch_gpios = [pads[hole] for hole in self.profile.holes]  # bit i of the mask = hole i
        self._idle_gpios = sorted(set(pads.values()) - set(self._touch_gpios))  # pads this profile does not use
        pressure = self.pinmap["pressure"]
        self._mouth = (pressure["mouth"]["gpio"], pressure["mouth"]["pa_per_count"])
        self._belt = [(channel["gpio"], channel["pa_per_count"]) for channel in pressure["belt"]]
        estop = self.pinmap["estop"]
        self._estop_released = (estop["gpio"], 1 if estop["active_low"] else 0)

    def moment(self, t_s: float) -> Moment:
        """What the player does at `t_s`: the melody loops; it blows only while its breathing says it plays."""
        index, _, mouth_pa = self._fingering_and_breath(np.array([t_s]))
        return Moment(self._masks[int(index[0])], float(mouth_pa[0]), self.breathing.frame(t_s).channels_pa)

    def sounding(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free truth at each time: the MIDI note the flute sounds (0 = silent) and the blowing pressure."""
        index, blowing, mouth_pa = self._fingering_and_breath(t_s)
        return np.where(blowing, self._midis[index], 0), mouth_pa

    def _fingering_and_breath(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At each time: which note of the (looping) melody is fingered, whether the player blows (while its
        breathing exhales), and how hard (harder for an overblown note)."""
        index = np.searchsorted(self._ends_s, np.mod(t_s, self._ends_s[-1]), side="right")
        blowing = self.breathing.phase(t_s) == EXHALE
        return index, blowing, np.where(blowing, self._blowing_pa[index], 0.0)

    def inputs_at(self, t_s: float) -> dict[int, int]:
        """Raw sensor readings by GPIO: touch values and ADC counts, with sensor noise."""
        moment = self.moment(t_s)
        noise = self._rng.integers(-TOUCH_NOISE, TOUCH_NOISE, len(self._touch_gpios))
        pins = {
            gpio: (TOUCH_CLOSED if moment.closed_mask >> bit & 1 else TOUCH_OPEN) + int(noise[bit])
            for bit, gpio in enumerate(self._touch_gpios)
        }
        pins.update({gpio: TOUCH_OPEN for gpio in self._idle_gpios})
        gpio, pa_per_count = self._mouth
        pins[gpio] = _counts(moment.mouth_pa, pa_per_count)
        for (gpio, pa_per_count), pa in zip(self._belt, moment.belt_pa, strict=True):
            pins[gpio] = _counts(pa, pa_per_count)
        gpio, level = self._estop_released  # the player never touches the e-stop; tests press it
        pins[gpio] = level
        return pins


def _counts(pa: float, pa_per_count: float) -> int:
    """ADC reading (read_u16 range) for a pressure above ambient."""
    return max(0, min(65535, ADC_AMBIENT + round(pa / pa_per_count)))
