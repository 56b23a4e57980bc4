"""Latency calibration against a software loopback whose delay is known.

The development machines have no sound card, so the round trip is simulated: the played signal comes back
delayed, attenuated, slightly filtered and noisy. The real path (`sounddevice.playrec`) only swaps the loopback.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.host.audio.latency import click_track, measure, tap_delays
from flutex.host.audio.latency_store import ENV_VAR, LatencyStore
from flutex.host.cli import main
from flutex.host.errors import FlutexError

SR = 48000


def loopback(delay_s: float, gain: float = 0.2, noise: float = 0.003, seed: int = 0):
    rng = np.random.default_rng(seed)

    def roundtrip(signal: np.ndarray) -> np.ndarray:
        shift = round(delay_s * SR)
        heard = np.concatenate([np.zeros(shift, np.float32), signal])[: len(signal)] * gain
        heard = np.convolve(heard, [0.5, 0.3, 0.2], mode="same")  # a small speaker/mic colouring
        return (heard + noise * rng.standard_normal(len(heard))).astype(np.float32)

    return roundtrip


@settings(max_examples=8)
@given(st.floats(0.003, 0.3))
def test_known_delay_is_measured_to_a_fraction_of_a_millisecond(delay_s):
    result = measure(loopback(delay_s), SR, runs=2, input_share=0.4)
    assert abs(result.roundtrip_s - delay_s) < 0.0003
    assert result.input_latency_s == pytest.approx(0.4 * result.roundtrip_s)
    assert result.spread_s < 0.0003


def test_runs_without_a_majority_are_refused():
    delays = iter([0.020, 0.024, 0.028])
    with pytest.raises(FlutexError, match="disagree"):
        measure(lambda signal: loopback(next(delays))(signal), SR, runs=3)


def test_a_run_with_an_extra_buffer_of_delay_is_an_outlier_not_the_answer():
    # as measured through PulseAudio: now and then a stream opens one buffer period (here 11.6 ms) later
    delays = iter([0.0233, 0.0349, 0.0233, 0.0233, 0.0233])
    result = measure(lambda signal: loopback(next(delays))(signal), SR, runs=5)
    assert result.outliers == 1
    assert abs(result.roundtrip_s - 0.0233) < 0.0003


def test_silence_or_noise_only_is_refused():
    with pytest.raises(FlutexError, match="could not hear the clicks"):
        measure(loopback(0.02, gain=0.0, noise=0.05), SR, runs=2)


def test_tap_along_fallback_finds_taps_after_each_click():
    signal, onsets_s = click_track(SR)
    recorded = np.zeros_like(signal)
    rng = np.random.default_rng(1)
    for onset in onsets_s:  # the user taps 40 ms (+-3 ms) after each click they hear
        start = round((onset + 0.040 + rng.uniform(-0.003, 0.003)) * SR)
        recorded[start : start + 200] += np.hanning(200).astype(np.float32)
    delays = tap_delays(recorded, onsets_s, SR)
    assert np.all(np.abs(delays - 0.040) < 0.005)


def test_store_keeps_one_entry_per_device_and_honours_the_env_override(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "latency.json"
    monkeypatch.setenv(ENV_VAR, str(path))
    store = LatencyStore()
    assert store.path == path and store.input_latency_s("USB mic") is None
    store.save("USB mic", measure(loopback(0.030), SR, runs=2), "clicks")
    store.save("Built-in", measure(loopback(0.012), SR, runs=2), "clicks")
    assert store.input_latency_s("USB mic") == pytest.approx(0.015, abs=3e-4)
    assert set(json.loads(path.read_text())) == {"USB mic", "Built-in"}


def test_show_lists_stored_calibrations(tmp_path, capsys):
    path = tmp_path / "latency.json"
    LatencyStore(path).save("USB mic", measure(loopback(0.030), SR, runs=2), "clicks")
    assert main(["calibrate", "latency", "--show", "--store", str(path)]) == 0
    assert "USB mic: input 15.0 ms (round trip 30.0 ms" in capsys.readouterr().out


def test_corrupt_store_says_what_to_do(tmp_path):
    path = tmp_path / "latency.json"
    path.write_text("{not json")
    with pytest.raises(FlutexError, match="delete it"):
        LatencyStore(path).input_latency_s("x")
