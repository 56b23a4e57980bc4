"""An instrument profile as the host uses it: which holes a note closes, and which note a fingering plays."""

from __future__ import annotations

from dataclasses import dataclass

from flutex.hardware import load_profile


@dataclass(frozen=True, slots=True)
class Fingering:
    midi: int
    closed_mask: int  # bit i set = hole i closed
    register: int = 1  # 2: a fingering of the overblown register (its `midi` is already the overblown note)


@dataclass(frozen=True, slots=True)
class InstrumentProfile:
    name: str
    holes: tuple[str, ...]
    fingers: tuple[str, ...]
    fingerings: tuple[Fingering, ...]
    overblow_semitones: int
    overblow_rise_pa: float  # mouth pressure above which the instrument jumps to the upper register
    overblow_fall_pa: float  # ... and below which it falls back (hysteresis)
    sounding_pa: float  # mouth pressure above which the instrument sounds at all

    @classmethod
    def load(cls, name: str = "six_hole") -> InstrumentProfile:
        data = load_profile(name)
        holes = tuple(data["holes"])
        fingerings = tuple(
            Fingering(entry["midi"], sum(1 << holes.index(hole) for hole in entry["closed"]), entry.get("register", 1))
            for entry in data["fingerings"]
        )
        overblow = data["overblow"]
        return cls(
            data["name"],
            holes,
            tuple(data["fingers"]),
            fingerings,
            overblow["semitones"],
            overblow["mouth_pressure_pa"]["rise_above"],
            overblow["mouth_pressure_pa"]["fall_below"],
            overblow["sounding_above_pa"],
        )

    def fingering_for(self, midi: int) -> tuple[int, bool]:
        """(closed mask, overblown) that plays `midi`; raises ValueError if the instrument cannot play it."""
        for fingering in self.fingerings:
            if fingering.midi == midi:
                return fingering.closed_mask, fingering.register == 2
        for fingering in self._low_register():
            if fingering.midi + self.overblow_semitones == midi:
                return fingering.closed_mask, True
        raise ValueError(f"the {self.name} profile has no fingering for MIDI note {midi}")

    def midi_for(self, closed_mask: int, overblown: bool = False) -> int | None:
        """The note a fingering plays (None for a fingering outside the chart): a fingering of the overblown
        register when there is one, else the low-register fingering, an overblow higher if `overblown`."""
        if overblown:
            for fingering in self.fingerings:
                if fingering.register == 2 and fingering.closed_mask == closed_mask:
                    return fingering.midi
        for fingering in self._low_register():
            if fingering.closed_mask == closed_mask:
                return fingering.midi + (self.overblow_semitones if overblown else 0)
        return None

    @property
    def playable(self) -> tuple[int, ...]:
        low = [f.midi for f in self._low_register()]
        high = [f.midi for f in self.fingerings if f.register == 2]
        return tuple(sorted({*low, *high, *(m + self.overblow_semitones for m in low)}))

    def _low_register(self) -> tuple[Fingering, ...]:
        return tuple(f for f in self.fingerings if f.register == 1)
