"""The colours every view shares, so the live window, its screenshots and the HTML report read alike."""

from __future__ import annotations

# Cents off the written note: green within the pass band, through amber, to red at a quarter tone or worse.
IN_TUNE_CENTS = 10.0
OFF_CENTS = 50.0
GREEN, AMBER, RED = (46, 160, 67), (230, 160, 30), (210, 50, 50)
GREY = (140, 140, 140)  # a voiced frame with no written note to compare with
BELT = ((66, 133, 244), (52, 168, 83), (251, 188, 5), (234, 67, 53))  # abdomen, back waist, left ribs, right ribs
PHASES = {"inhale": (120, 170, 255), "exhale": (255, 200, 120), "hold": (200, 200, 200)}
CLEAN, FAULTY = GREEN, RED  # a graded note with no error / with one
GUIDANCE = (150, 90, 220)  # the servos pressing


def cents_colour(cents: float) -> tuple[int, int, int]:
    """The colour of a pitch `cents` off its note: green up to IN_TUNE_CENTS, shading to amber and then red at
    OFF_CENTS; grey when it cannot be told (NaN)."""
    if cents != cents:  # NaN
        return GREY
    off = abs(cents)
    if off <= IN_TUNE_CENTS:
        return GREEN
    share = min(1.0, (off - IN_TUNE_CENTS) / (OFF_CENTS - IN_TUNE_CENTS))
    low, high, k = (GREEN, AMBER, share * 2) if share < 0.5 else (AMBER, RED, share * 2 - 1)
    return tuple(round(a + (b - a) * k) for a, b in zip(low, high, strict=True))  # type: ignore[return-value]


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
