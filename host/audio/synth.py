"""Synthesized test audio: harmonic tones with chosen harmonic weights, vibrato, noise, and melodies of them.

Used by the tests (no FluidSynth needed) and as a signal source for demos. Frequencies in Hz, times in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLUTE_LIKE = (1.0, 0.5, 0.3, 0.15, 0.08)
# A weak fundamental: the tone repeats almost every half period, which tempts trackers an octave up.
WEAK_FUNDAMENTAL = (0.12, 1.0, 0.45, 0.35, 0.2)


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def harmonic_sum(
    phase: np.ndarray, f0_hz: float | np.ndarray, harmonics: Sequence[float], sample_rate_hz: int
) -> np.ndarray:
    """Sum over k of harmonics[k - 1] * sin(k * phase), leaving out partials at or above Nyquist (per sample when
    `f0_hz` is an array, so a changing pitch never aliases)."""
    nyquist = sample_rate_hz / 2
    tone = np.zeros(len(phase))
    for k, amplitude in enumerate(harmonics, 1):
        tone += np.where(k * np.asarray(f0_hz) < nyquist, amplitude * np.sin(k * phase), 0.0)
    return tone


def harmonic_tone(
    f0_hz: float,
    duration_s: float,
    sample_rate_hz: int = 44100,
    harmonics: Sequence[float] = FLUTE_LIKE,
    vibrato_cents: float = 0.0,
    vibrato_hz: float = 5.5,
    fade_s: float = 0.01,
) -> np.ndarray:
    """A tone of `harmonics` (amplitude of harmonic 1, 2, ...) with optional sinusoidal vibrato, peak 0.5."""
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    inst_hz = f0_hz * 2.0 ** (vibrato_cents / 1200.0 * np.sin(2 * np.pi * vibrato_hz * t))
    phase = 2 * np.pi * np.cumsum(inst_hz) / sample_rate_hz
    tone = harmonic_sum(phase, f0_hz, harmonics, sample_rate_hz)
    ramp = min(int(fade_s * sample_rate_hz), len(t) // 2)
    if ramp:
        envelope = np.ones(len(t))
        envelope[:ramp] = np.linspace(0, 1, ramp)
        envelope[-ramp:] = np.linspace(1, 0, ramp)
        tone *= envelope
    return (0.5 * tone / max(np.abs(tone).max(), 1e-12)).astype(np.float32)


def add_noise(signal: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """White noise at `snr_db` below the signal's RMS (over its non-silent part)."""
    rng = np.random.default_rng(seed)
    active = signal[np.abs(signal) > 1e-4]
    rms = float(np.sqrt(np.mean(active**2))) if len(active) else 0.1
    noise = rng.standard_normal(len(signal)) * rms * 10 ** (-snr_db / 20)
    return (signal + noise).astype(np.float32)


def melody(
    notes: Sequence[tuple[float | None, float]],
    sample_rate_hz: int = 44100,
    harmonics: Sequence[float] = FLUTE_LIKE,
    vibrato_cents: float = 0.0,
) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """Concatenate (midi or None for a rest, duration_s) notes; returns the signal and (onset_s, offset_s, midi)."""
    parts, truth, t = [], [], 0.0
    for midi, duration_s in notes:
        n = int(duration_s * sample_rate_hz)
        if midi is None:
            parts.append(np.zeros(n, dtype=np.float32))
        else:
            parts.append(harmonic_tone(midi_to_hz(midi), n / sample_rate_hz, sample_rate_hz, harmonics, vibrato_cents))
            truth.append((t, t + n / sample_rate_hz, float(midi)))
        t += n / sample_rate_hz
    return np.concatenate(parts), truth
