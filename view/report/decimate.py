"""Fewer points that look the same: what keeps a report of a long lesson small.

A chart column a pixel wide cannot show more than its lowest and highest value, so a belt channel is reduced to that
envelope per column, and the pitch contour to the median pitch of the voiced frames of each column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flutex.host.pitch.notes import hz_to_midi


def envelope(times: np.ndarray, values: np.ndarray, t0_s: float, t1_s: float, columns: int) -> tuple[np.ndarray, ...]:
    """(times, rows) with, per column of [t0, t1] split in `columns`, the lowest then the highest row of each
    channel (rows are (n, channels)); the samples themselves when there are no more than two per column."""
    if len(times) <= 2 * columns:
        return times, values
    starts = _column_starts(times, t0_s, t1_s, columns)
    centres = times[starts] if len(starts) else times[:0]
    lows = np.minimum.reduceat(values, starts, axis=0)
    highs = np.maximum.reduceat(values, starts, axis=0)
    paired_times = np.repeat(centres, 2)
    paired_rows = np.empty((2 * len(starts), values.shape[1]))
    paired_rows[0::2], paired_rows[1::2] = lows, highs
    return paired_times, paired_rows


@dataclass(frozen=True, slots=True)
class PitchPoints:
    """The contour in columns: each voiced column's time, its median pitch (fractional MIDI number), and the
    median cents off the written note (NaN: no note written then)."""

    times: np.ndarray
    midi: np.ndarray
    cents: np.ndarray


def pitch_points(times: np.ndarray, hz: np.ndarray, cents: np.ndarray, column_s: float) -> PitchPoints:
    """The voiced frames (hz > 0) reduced to one point per `column_s` of time (the lower median of each)."""
    voiced = hz > 0.0
    times, hz, cents = times[voiced], hz[voiced], cents[voiced]
    if not len(times):
        return PitchPoints(times, hz, cents)
    column = np.floor((times - times[0]) / column_s).astype(np.int64)
    starts = np.flatnonzero(np.diff(column, prepend=-1))
    last = np.append(starts[1:], len(times)) - 1
    midi = hz_to_midi(hz)
    return PitchPoints(
        (times[starts] + times[last]) / 2.0, _medians(midi, column, starts), _medians(cents, column, starts)
    )


def _medians(values: np.ndarray, column: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The lower median of the known (not NaN) values of each column, NaN where none is known: sorted by column
    then value, with NaN last within its column, the median of a column of k known values is its ((k - 1) // 2)th."""
    order = np.lexsort((values, column))
    known = np.add.reduceat((~np.isnan(values)).astype(np.int64), starts)
    picked = values[order[starts + np.maximum(known - 1, 0) // 2]]
    return np.where(known > 0, picked, np.nan)


def _column_starts(times: np.ndarray, t0_s: float, t1_s: float, columns: int) -> np.ndarray:
    """Index of the first sample of each column that holds one (times sorted, all within [t0, t1])."""
    edges = np.linspace(t0_s, t1_s, columns + 1)
    starts = np.searchsorted(times, edges[:-1], side="left")
    ends = np.searchsorted(times, edges[1:], side="left")
    ends[-1] = len(times)
    return starts[starts < ends]
