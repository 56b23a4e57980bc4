"""The periodicity tables: every periodicity read from them equals the direct definition (a normalised correlation
with linear interpolation), for the plain and the pre-emphasised frame, at whole and fractional lags."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flutex.host.pitch.periodicity import (
    PRE_EMPHASIS,
    autocorrelation,
    emphasised_periodicity_at,
    periodicity_at,
    sliding_sums,
)

SPAN, N_LAGS, HOP = 120, 60, 16


def direct(frame: np.ndarray, lag: float) -> float:
    """c(lag) by the definition: correlate the first SPAN samples with the same samples `lag` later."""
    whole, frac = int(lag), lag - int(lag)
    head = frame[:SPAN]
    later = frame[whole : whole + SPAN + 1]
    shifted = later[:-1] + frac * (later[1:] - later[:-1])
    return 2 * np.dot(head, shifted) / (np.dot(head, head) + np.dot(shifted, shifted))


@given(st.integers(0, 2**32 - 1), st.floats(1.0, N_LAGS - 3.0), st.integers(0, 3))
def test_tables_give_the_defined_periodicity(seed, lag, frame_index):
    rng = np.random.default_rng(seed)
    signal = np.cumsum(rng.standard_normal(4 * HOP + SPAN + N_LAGS + 2))  # strongly correlated, like pink noise
    offset = frame_index * HOP
    frames = [signal[i * HOP :] for i in range(4)]
    autocorrelations = [autocorrelation(frame, SPAN, N_LAGS) for frame in frames]
    sums = sliding_sums(signal, HOP, SPAN, N_LAGS, autocorrelations)[frame_index]
    r, frame = autocorrelations[frame_index], signal[offset:]
    assert periodicity_at(r, sums[0], sums[1], lag) == pytest.approx(direct(frame, lag), abs=1e-9)
    emphasised = frame[1:] - PRE_EMPHASIS * frame[:-1]
    assert emphasised_periodicity_at(r, frame, sums, SPAN, lag) == pytest.approx(direct(emphasised, lag), abs=1e-9)


def test_lags_outside_the_table_are_nan():
    signal = np.sin(np.arange(SPAN + N_LAGS + 2) * 0.3)
    r = autocorrelation(signal, SPAN, N_LAGS)
    s, x, _ = sliding_sums(signal, HOP, SPAN, N_LAGS, [r])[0]
    for lag in (0.5, N_LAGS - 1.0, float("nan")):
        assert np.isnan(periodicity_at(r, s, x, lag))
    assert periodicity_at(r, s, x, 2 * np.pi / 0.3) == pytest.approx(1.0, abs=1e-3)  # one period of the sine
