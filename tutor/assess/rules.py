"""The grading rules as plain settings and pure decisions: thresholds with their reasons, a pitch's verdict, and
the sentences a student reads. The grader (`grader.py`) decides *when* a rule can be applied; this module says
*what* it decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flutex.host.errors import UsageError
from flutex.host.pitch.config import note_name
from flutex.tutor.assess.events import EARLY, LATE, OCTAVE, PITCH

# Pitch tolerance bands, in cents either side of the written note. 150 / 50 / 21.5 are the easy / medium / hard
# windows of the open-source karaoke game Performous (its scoring of sung notes); see docs/assessment.md.
TOLERANCE_CENTS = {"easy": 150.0, "medium": 50.0, "hard": 21.5}


@dataclass(frozen=True, slots=True)
class GradingRules:
    """Every threshold of the grader, in the units its name says (see docs/assessment.md for why each)."""

    pitch_cents: float = TOLERANCE_CENTS["medium"]
    timing_s: float = 0.150  # an onset further than this from the expectation is early or late
    hold_s: float = 0.050  # a correct fingering counts once held this long ...
    wrong_hold_s: float = 0.500  # ... a wrong one is an error only once held this long (or the whole note)
    finger_lead_s: float = 0.050  # fingers may settle this long before the onset and still count
    pitch_skip_s: float = 0.050  # the attack (a scoop) left out of the pitch verdict ...
    pitch_span_s: float = 0.030  # ... which takes the median of the voiced frames over the next span
    min_frames: int = 3  # fewer voiced frames than this in the span: wait for more, up to the note's end
    short_fraction: float = 0.5  # a note whose sound stops before this share of its written length is short
    legato_gap_s: float = 0.050  # a next onset this soon after the sound stopped: legato, not short
    breath_after_s: float = 0.300  # a breath whose inhale peaks up to this long after the onset still counts
    breath_wait_s: float = 1.500  # belt time past the onset after which a breath not seen was not taken

    @classmethod
    def for_tolerance(cls, tolerance: str | float) -> GradingRules:
        """The rules with the pitch band of a lesson: "easy", "medium", "hard", or a number of cents."""
        if isinstance(tolerance, str) and tolerance not in TOLERANCE_CENTS:
            raise UsageError(f"unknown tolerance {tolerance!r}: choose easy, medium or hard (or a number of cents)")
        cents = TOLERANCE_CENTS[tolerance] if isinstance(tolerance, str) else float(tolerance)
        if not 0.0 < cents < 600.0:
            raise UsageError(f"a pitch tolerance of {cents} cents is outside (0, 600): give a number like 50")
        return cls(pitch_cents=cents)


def cents_between(hz: float, midi: int) -> float:
    """How far `hz` is from the equal-tempered `midi` note (A4 = 440 Hz), in cents; positive: sharp."""
    return 1200.0 * math.log2(hz / 440.0) - 100.0 * (midi - 69)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def pitch_error(cents: float, tolerance_cents: float) -> str | None:
    """None within the band; "octave" within the band of an octave (or more) above or below; else "pitch"."""
    octaves = round(cents / 1200.0)
    if abs(cents) <= tolerance_cents:
        return None
    if octaves and abs(cents - 1200.0 * octaves) <= tolerance_cents:
        return OCTAVE
    return PITCH


def pitch_reason(where: str, midi: int, cents: float, error: str | None) -> str:
    """ "bar 4, beat 1: E5 played 62 cents flat", "... E5 played an octave high (E6)", "... E5 played as F#5 (+190
    cents)"."""
    name = note_name(midi)
    if error == OCTAVE:
        octaves = round(cents / 1200.0)
        how = "an octave" if abs(octaves) == 1 else f"{abs(octaves)} octaves"
        return f"{where}: {name} played {how} {'high' if octaves > 0 else 'low'} ({note_name(midi + 12 * octaves)})"
    if abs(cents) < 100.0 or error is None:
        return f"{where}: {name} played {abs(cents):.0f} cents {'sharp' if cents > 0 else 'flat'}"
    return f"{where}: {name} played as {note_name(midi + round(cents / 100.0))} ({cents:+.0f} cents)"


def timing_error(onset_error_s: float, timing_s: float) -> str | None:
    if onset_error_s > timing_s:
        return LATE
    if onset_error_s < -timing_s:
        return EARLY
    return None


def timing_reason(where: str, onset_error_s: float) -> str:
    ms = round(abs(onset_error_s) * 1000.0)
    return f"{where}: {ms} ms {'late' if onset_error_s > 0 else 'early'}"


def fingering_reason(where: str, midi: int, played_midi: int | None) -> str:
    played = "a fingering outside the chart" if played_midi is None else note_name(played_midi)
    return f"{where}: {note_name(midi)} fingered as {played}"
