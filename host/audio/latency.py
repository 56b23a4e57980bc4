"""Input latency measurement: play clicks, hear them back, find the delay; check that repeated runs agree.

The algorithm is pure (`click_track`, `estimate_click_delays`, `measure`) and runs against any `RoundTrip`:
a function that plays a signal and returns what the input recorded from the same instant. On a real machine
that is `sounddevice.playrec` (see `flutex.host.commands.calibrate`); the tests use a software loopback with a
known delay, because the development machines have no sound card.

A round trip is output latency + acoustic path + input latency. Assessment needs the input part (how late a
played note shows up in the input stream), which no loopback can separate from the output part; `measure` splits
the measured round trip in the proportion of the input and output latencies the audio system reports
(`input_share`). The round trip itself is measured; the split is the audio system's estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flutex.host.errors import FlutexError

RoundTrip = Callable[[np.ndarray], np.ndarray]
# (recorded, click onsets s, sample rate) -> delay of each click, s
Detector = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
CLICK_S = 0.004
MAX_DELAY_S = 0.5
AGREE_MS = 2.0  # repeated runs must agree this well
MIN_CLARITY = 4.0  # click correlation peak over the strongest other peak


def click(sample_rate_hz: int) -> np.ndarray:
    """A short windowed upward chirp (1-6 kHz): sharp autocorrelation, survives small speakers and mics."""
    t = np.arange(int(CLICK_S * sample_rate_hz)) / sample_rate_hz
    sweep = 1000.0 * t + (5000.0 / (2 * CLICK_S)) * t**2
    return (np.hanning(len(t)) * np.sin(2 * np.pi * sweep)).astype(np.float32)


def click_track(sample_rate_hz: int, clicks: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A signal of `clicks` clicks at irregular intervals (so the delay is unambiguous) and their onsets (s)."""
    rng = np.random.default_rng(seed)
    onsets_s = 0.2 + np.cumsum(rng.uniform(0.55, 0.8, clicks))
    signal = np.zeros(int((onsets_s[-1] + 0.4 + MAX_DELAY_S) * sample_rate_hz), dtype=np.float32)
    pulse = click(sample_rate_hz)
    for onset in onsets_s:
        start = round(onset * sample_rate_hz)
        signal[start : start + len(pulse)] += 0.5 * pulse
    return signal, onsets_s


def estimate_click_delays(
    recorded: np.ndarray, onsets_s: np.ndarray, sample_rate_hz: int, max_delay_s: float = MAX_DELAY_S
) -> np.ndarray:
    """Delay (s) of each click in `recorded`, by matched filtering in a window after its onset.

    Raises FlutexError if a click cannot be told apart from the noise around it.
    """
    pulse = click(sample_rate_hz)
    search = int(max_delay_s * sample_rate_hz)
    delays = []
    for onset in onsets_s:
        start = round(onset * sample_rate_hz)
        segment = recorded[start : start + search + len(pulse)]
        if len(segment) < len(pulse) + 1:
            raise FlutexError("the recording stopped early; run the calibration again")
        score = np.abs(np.correlate(segment, pulse, mode="valid"))
        peak = int(np.argmax(score))
        guard = len(pulse)
        others = np.concatenate([score[: max(0, peak - guard)], score[peak + guard :]])
        clarity = score[peak] / max(float(others.max()) if len(others) else 0.0, 1e-12)
        if clarity < MIN_CLARITY:
            raise FlutexError(
                "could not hear the clicks clearly; turn the speaker up, move the microphone closer, "
                "or use `--method tap`"
            )
        delays.append(peak / sample_rate_hz)
    return np.asarray(delays)


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """What a calibration found: per-run round trips, and the input latency assessment should subtract."""

    runs_s: tuple[float, ...]  # median round-trip delay of each run
    roundtrip_s: float  # median of the runs that agree
    spread_s: float  # largest difference between the runs that agree
    outliers: int  # runs that did not agree with the majority (the audio stack changed its buffering)
    input_share: float  # part of the round trip attributed to the input (from the audio system's estimates)
    input_latency_s: float


def measure(
    roundtrip: RoundTrip,
    sample_rate_hz: int,
    runs: int = 5,
    input_share: float = 0.5,
    agree_ms: float = AGREE_MS,
    detect: Detector | None = None,
) -> LatencyResult:
    """Run the calibration `runs` times; a strict majority of runs must agree within `agree_ms`.

    Each run opens a new stream. Some audio stacks (PulseAudio through ALSA, measured here) start a stream with
    one buffer period more or less of delay now and then; such a run is an outlier, counted in the result so the
    user hears about it, and a calibration without a clear majority is refused. `detect` finds the delays in each
    recording: `estimate_click_delays` (default) or `tap_delays`.
    """
    if runs < 2:
        raise FlutexError("use at least 2 runs, so that they can be checked against each other")
    detect = detect or estimate_click_delays
    results = []
    for run in range(runs):
        signal, onsets_s = click_track(sample_rate_hz, seed=run)
        per_click = detect(roundtrip(signal), onsets_s, sample_rate_hz)
        results.append(float(np.median(per_click)))
    agree_s = agree_ms / 1000
    majority = max(([r for r in results if abs(r - centre) <= agree_s / 2] for centre in results), key=len)
    if len(majority) * 2 <= runs:
        runs_ms = ", ".join(f"{r * 1000:.1f}" for r in results)
        raise FlutexError(
            f"runs disagree ({runs_ms} ms; no majority within {agree_ms:g} ms); close other audio programs, "
            "use a wired headset or a larger block size, and run the calibration again"
        )
    roundtrip_s = float(np.median(majority))
    return LatencyResult(
        tuple(results),
        roundtrip_s,
        max(majority) - min(majority),
        runs - len(majority),
        input_share,
        roundtrip_s * input_share,
    )


def tap_delays(recorded: np.ndarray, beat_onsets_s: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Tap-along fallback: the delay of the loudest transient after each beat the user tapped along to.

    Less precise than clicks (people tap 10-30 ms early or late), so it is only used when no speaker can be
    heard by the microphone; the agreement check across runs still applies.
    """
    frame = max(1, int(0.001 * sample_rate_hz))
    energy = np.convolve(recorded.astype(np.float64) ** 2, np.ones(frame), mode="same")
    onset_strength = np.maximum(np.diff(energy, prepend=energy[0]), 0.0)
    search = int(MAX_DELAY_S * sample_rate_hz)
    delays = []
    for onset in beat_onsets_s:
        start = round(onset * sample_rate_hz)
        window = onset_strength[start : start + search]
        if len(window) == 0 or window.max() <= 0:
            raise FlutexError("no taps heard; tap the microphone (or the table next to it) on each click")
        delays.append(int(np.argmax(window)) / sample_rate_hz)
    return np.asarray(delays)
