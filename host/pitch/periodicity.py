"""How periodic a frame is at a given (fractional) lag: the evidence behind voicing and octave choices.

The periodicity of a frame `x` at lag `t` is the normalised correlation between its first `span` samples and the
same samples `t` later (linear interpolation between samples):

    c(t) = 2 * sum(x[j] * x[j + t]) / (sum(x[j]^2) + sum(x[j + t]^2))

It is 1 for a signal exactly periodic at `t`, near 0 for noise, and, for a harmonic tone with period T,
c(T/2) = (even - odd) / (even + odd) harmonic energy: comparing c(T/2) with c(T) tells whether the tone has odd
harmonics of 1/T at all, i.e. whether T or T/2 is its true period.

With `t = w + f` (whole part w, fraction f) and `g = 1 - f`, linear interpolation makes every sum a mix of sums at
whole lags: the cross term is `g R(w) + f R(w + 1)` and the energy of the shifted samples is
`g^2 S(w) + 2 f g X(w) + f^2 S(w + 1)`, where

    R(w) = sum x[j] x[j + w]          (the frame's autocorrelation, one table per frame)
    S(w) = sum x[w + j]^2             (sliding energy)
    X(w) = sum x[w + j] x[w + j + 1]  (sliding lag-one product)
    Y(w) = sum x[w + j] x[w + j + 2]  (lag two: with S and X it gives the sums of a pre-emphasised copy)

all over j < span. The tables cost one C call per frame (`autocorrelation`) and a few per batch of frames
(`sliding_sums`, running sums); reading a periodicity from them (`periodicity_at`) is a handful of float
operations, cheap enough to do in plain Python for every lag a decision needs. Every table entry is computed from
one frame's own samples in a fixed order, so a frame's evidence does not depend on how the stream was cut into
blocks.
"""

from __future__ import annotations

import math

import numpy as np

NAN = math.nan
PRE_EMPHASIS = 0.7  # e[n] = x[n + 1] - 0.7 x[n]: whitens pink noise, keeps white noise fair (voicing evidence)


def autocorrelation(frame: np.ndarray, span: int, n_lags: int) -> list[float]:
    """R(w) for w = 0 .. n_lags - 1 (needs `span + n_lags - 1` samples)."""
    return np.correlate(frame[: span + n_lags - 1], frame[:span], "valid").tolist()


def sliding_sums(
    signal: np.ndarray, hop: int, span: int, n_lags: int, autocorrelations: list[list[float]]
) -> list[list[list[float]]]:
    """[S, X, Y] for w = 0 .. n_lags - 1 of the frames starting every `hop` samples of `signal` (C-contiguous),
    one frame per entry of `autocorrelations` (each frame's R, at least 3 lags, or [] for a frame nobody reads).

    S(0), X(0) and Y(0) are R(0), R(1) and R(2); each step to the next lag adds the pair of samples entering the span
    and removes the pair leaving it. A running sum over each frame's own samples, from its start."""
    n_frames, m = len(autocorrelations), n_lags - 1
    size = signal.itemsize
    # per frame two rows of samples, those leaving the span (from the frame's start) and those entering it (from
    # `span` on), times the same rows shifted by 0, 1 and 2 samples
    strides = (hop * size, span * size, size, size)
    rows = np.ndarray((n_frames, 2, 1, m), signal.dtype, signal, 0, strides)
    shifted = np.ndarray((n_frames, 2, 3, m), signal.dtype, signal, 0, strides)
    products = rows * shifted
    tables = np.empty((n_frames, 3, n_lags))
    tables[:, :, 0] = [r[:3] if r else (0.0, 0.0, 0.0) for r in autocorrelations]
    np.subtract(products[:, 1], products[:, 0], out=tables[:, :, 1:])
    np.add.accumulate(tables, axis=2, out=tables)
    return tables.tolist()


def periodicity_at(r: list[float], s: list[float], x: list[float], lag: float) -> float:
    """c(lag) of the frame whose autocorrelation is `r` and sliding sums `s` and `x`.

    NaN when the lag is not finite, under one sample, or beyond the table (`floor(lag) + 1 >= len(r)`).
    """
    if not lag >= 1.0 or lag + 1.0 >= len(r):  # (also catches NaN)
        return NAN
    w = int(lag)
    f = lag - w
    g = 1.0 - f
    cross = g * r[w] + f * r[w + 1]
    energy = s[0] + g * g * s[w] + 2.0 * f * g * x[w] + f * f * s[w + 1]
    return 2.0 * cross / max(energy, 1e-12)


def emphasised_periodicity_at(
    r: list[float], frame: np.ndarray, sums: list[list[float]], span: int, lag: float
) -> float:
    """c(lag) of the pre-emphasised frame e[n] = x[n + 1] - a x[n] (a = PRE_EMPHASIS), without filtering anything:
    from the plain frame's autocorrelation `r` (one lag longer than `periodicity_at` needs), a few samples of the
    frame and its S, X, Y tables. With x the frame and n = span:

        R_e(w) = Q(w) - a Q(w - 1) - a R(w + 1) + a^2 R(w),  Q(w) = R(w) - x[0] x[w] + x[n] x[n + w]
        S_e(w) = S(w + 1) - 2 a X(w) + a^2 S(w)
        X_e(w) = X(w + 1) - a S(w + 1) - a Y(w) + a^2 X(w)

    NaN when the lag is not finite, under one sample, or beyond the table (`floor(lag) + 2 >= len(r)`).
    """
    if not lag >= 1.0 or lag + 2.0 >= len(r):
        return NAN
    s, x, y = sums
    a = PRE_EMPHASIS
    a2 = a * a
    w = int(lag)
    f = lag - w
    g = 1.0 - f
    x0, xn = float(frame[0]), float(frame[span])
    near = frame[w - 1 : w + 2].tolist()  # x[w - 1], x[w], x[w + 1]
    far = frame[span + w - 1 : span + w + 2].tolist()  # x[n + w - 1], x[n + w], x[n + w + 1]
    q_before = r[w - 1] - x0 * near[0] + xn * far[0]
    q_here = r[w] - x0 * near[1] + xn * far[1]
    q_after = r[w + 1] - x0 * near[2] + xn * far[2]
    cross = g * (q_here - a * q_before - a * r[w + 1] + a2 * r[w]) + f * (
        q_after - a * q_here - a * r[w + 2] + a2 * r[w + 1]
    )
    head = s[1] - 2.0 * a * x[0] + a2 * s[0]
    here = s[w + 1] - 2.0 * a * x[w] + a2 * s[w]
    there = s[w + 2] - 2.0 * a * x[w + 1] + a2 * s[w + 1]
    lag_one = x[w + 1] - a * s[w + 1] - a * y[w] + a2 * x[w]
    energy = head + g * g * here + 2.0 * f * g * lag_one + f * f * there
    return 2.0 * cross / max(energy, 1e-12)
