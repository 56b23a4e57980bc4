"""Timing analysis on the board's clock: sampling jitter of a stream and silence before an event.

Pure functions over recorded times, so the benchmarks and the tests judge the firmware's real-time promises the
same way, from the same numbers.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from flutex.firmware import wire


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """The `percent`-th percentile (inclusive method) of values already sorted; NaN for none."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[int(percent) - 1]


@dataclass(frozen=True, slots=True)
class Jitter:
    """How far a stream's inter-frame intervals stray from the nominal period, in milliseconds."""

    std_ms: float
    p99_ms: float  # of the absolute deviation
    max_ms: float  # of the absolute deviation
    intervals: int


def interval_jitter(times_s: Sequence[float], nominal_hz: float) -> Jitter:
    """Deviations of consecutive frame intervals from 1/`nominal_hz`. A lost frame shows as one interval of two
    periods, so it counts as a full period of jitter rather than hiding."""
    period_s = 1 / nominal_hz
    deviations_ms = [(after - before - period_s) * 1000 for before, after in itertools.pairwise(times_s)]
    if not deviations_ms:
        raise ValueError("jitter needs at least two frames")
    absolute = sorted(abs(deviation) for deviation in deviations_ms)
    return Jitter(statistics.pstdev(deviations_ms), percentile(absolute, 99), absolute[-1], len(deviations_ms))


def silence_before_us(event_t_us: int, heard_times_us: Sequence[int]) -> int | None:
    """Microseconds from the last time the board heard the host (e.g. its last heartbeat) before `event_t_us` to
    the event, on the board clock (modulo 2**30, so a wrap between the two is measured right); None if it heard
    nothing before it."""
    gaps = ((event_t_us - t_us) % wire.TICKS_PERIOD for t_us in heard_times_us)
    return min((gap for gap in gaps if 0 < gap < wire.TICKS_PERIOD // 2), default=None)


def spread(sorted_values: Sequence[float]) -> dict[str, float | None]:
    """Min, median, 99th percentile and max, rounded for printing; all None if there are none."""
    if not sorted_values:
        return dict.fromkeys(("min", "p50", "p99", "max"))
    return {
        "min": round(sorted_values[0], 3),
        "p50": round(percentile(sorted_values, 50), 3),
        "p99": round(percentile(sorted_values, 99), 3),
        "max": round(sorted_values[-1], 3),
    }
