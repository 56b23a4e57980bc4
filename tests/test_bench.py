"""`flutex bench`: the watchdog release and the sampling rates, measured on the board's clock in the simulator."""

import json

import pytest

from flutex.firmware import wire
from flutex.hardware import load_pinmap
from flutex.host.cli import main
from flutex.host.link.timing import interval_jitter, silence_before_us

RATES_SECONDS = 30.0


def _last_json_line(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_jitter_counts_every_deviation_from_the_period_and_a_lost_frame_as_a_whole_one():
    steady = interval_jitter([0.0, 0.005, 0.010, 0.015], 200)
    assert steady.std_ms == pytest.approx(0, abs=1e-9) and steady.max_ms == pytest.approx(0, abs=1e-9)
    lost = interval_jitter([0.0, 0.005, 0.015, 0.020], 200)
    assert lost.max_ms == pytest.approx(5) and lost.intervals == 3


def test_silence_is_measured_from_the_last_byte_before_the_event_across_a_clock_wrap():
    assert silence_before_us(1_000, [100, 400, 2_000]) == 600
    assert silence_before_us(50, [wire.TICKS_PERIOD - 50, 3_000]) == 100
    assert silence_before_us(50, [60]) is None


def test_bench_watchdog_times_every_host_loss_within_its_bounds(capsys):
    assert main(["bench", "watchdog", "--trials", "5", "--json"]) == 0
    result = _last_json_line(capsys)
    release, park_start, parked = result["release_ms"], result["park_start_ms"], result["parked_ms"]
    assert result["trials"] == 5 and result["failures"] == 0, result
    assert release["min"] >= 90 and release["max"] <= 100, result
    servo_frame_ms = 1000 / load_pinmap()["rates_hz"]["servo"]
    assert park_start["max"] <= release["max"] + servo_frame_ms + 2, "the servos start home at the next frame"
    assert parked["min"] > release["max"], "a pressed finger parks through the slew limit, not at once"


def test_soak_explains_every_lost_frame_through_one_round_of_faults(capsys):
    """One full rotation of the soak's faults (30 s): nothing lost that a fault does not explain, nothing damaged
    taken as good, a reconnect after each silence, unplug and reset, and the watchdog in time."""
    assert main(["bench", "soak", "--minutes", "0.5", "--json"]) == 0
    result = _last_json_line(capsys)
    assert result["frames_lost_unexplained"] == 0 and result["corrupt_frames_accepted"] == 0, result
    assert result["frames_received"] < result["frames_sent"], "the faults did cost frames"
    assert result["reconnects"] >= 3 and result["faults"]["board reset"] == 1, result
    assert result["watchdog_releases"] == 1 and result["watchdog_missed"] == 0, result
    assert 90 <= result["max_release_ms"] <= 100, result


@pytest.mark.slow
def test_rates_hold_for_30_s_of_board_time_under_load_with_little_jitter(capsys):
    assert main(["bench", "rates", "--seconds", str(RATES_SECONDS), "--json"]) == 0
    result = _last_json_line(capsys)
    assert result["frames_lost"] == 0 and result["commands"]["acked"] >= 20, result
    for stream, nominal_hz in (("flute", 200), ("belt", 100)):
        assert abs(result["rates_hz"][stream] - nominal_hz) <= 0.05 * nominal_hz, result
        assert result["frames"][stream] >= 0.95 * RATES_SECONDS * nominal_hz
        assert result["jitter_ms"][stream]["p99"] < 3.0, result
