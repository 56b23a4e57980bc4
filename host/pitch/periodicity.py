"""How periodic each frame is at given (fractional) lags: the evidence behind voicing and octave choices.

`periodicity(frames, lags, span)` is the normalised correlation between a frame's first `span` samples and
the same samples `lag` later (linear interpolation between samples):

    c = 2 * sum(x[j] * x[j + lag]) / (sum(x[j]^2) + sum(x[j + lag]^2))

It is 1 for a signal exactly periodic at `lag`, near 0 for noise, and, for a harmonic tone with period T,
c(T/2) = (even - odd) / (even + odd) harmonic energy: comparing c(T/2) with c(T) tells whether the tone has odd
harmonics of 1/T at all, i.e. whether T or T/2 is its true period. Everything is vectorised over frames so the
cost per frame stays a few microseconds.
"""

from __future__ import annotations

import numpy as np


def periodicity(frames: np.ndarray, lags: np.ndarray, span: int) -> np.ndarray:
    """Normalised correlation of each frame (row of `frames`) at its lag (`lags`, samples, one per row).

    Rows whose lag is not finite, or does not fit (`lag + span + 1 > frame length`), get NaN.
    """
    n_frames, length = frames.shape
    valid = np.isfinite(lags) & (lags >= 1.0) & (lags + span + 1 <= length)
    out = np.full(n_frames, np.nan, dtype=np.float32)
    if not valid.any():
        return out
    everywhere = bool(valid.all())
    rows = frames if everywhere else frames[valid]
    lag = lags if everywhere else lags[valid]
    whole = np.floor(lag).astype(np.intp)
    frac = (lag - whole).astype(np.float32)[:, None]
    index = whole[:, None] + np.arange(span + 1, dtype=np.intp)[None, :]
    later = np.take_along_axis(rows, index, axis=1)
    shifted = later[:, :-1] + frac * (later[:, 1:] - later[:, :-1])
    head = rows[:, :span]
    cross = np.einsum("ij,ij->i", head, shifted)
    energy = np.einsum("ij,ij->i", head, head) + np.einsum("ij,ij->i", shifted, shifted)
    out[valid] = 2.0 * cross / np.maximum(energy, 1e-12)
    return out


def level_dbfs(frames: np.ndarray) -> np.ndarray:
    """RMS level of each frame in dB relative to an RMS of 1.0 (full scale); -200 dB for digital silence."""
    rms = np.sqrt(np.einsum("ij,ij->i", frames, frames) / frames.shape[1])
    return 20.0 * np.log10(np.maximum(rms, 1e-10))
