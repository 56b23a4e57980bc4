"""The simulator's clock truth: when, on the host's monotonic clock, the simulated board's clock read a stamp."""

import time

import numpy as np
import pytest
from device_helpers import next_event

from flutex.firmware import wire
from flutex.host.errors import FlutexError
from flutex.host.link.events import FluteSample
from flutex.sim.world import simulation

SAMPLES = 400  # two seconds of FLUTE frames at 200 Hz
ARRIVAL_P50_MAX_S = 0.005  # board write, pty, client decode and the event loop: a few milliseconds at most


async def test_the_board_clock_starts_while_the_board_powers_on():
    before = time.monotonic()
    async with simulation() as board:
        started = time.monotonic()
        assert before <= board.true_monotonic_s(0) <= started, "the same clock as time.monotonic, not another"


async def test_a_stamped_frame_arrives_after_its_true_time_and_soon_after(client, board):
    events = client.subscribe()
    await next_event(events, FluteSample)
    delays_s = []
    for _ in range(SAMPLES):
        sample = await next_event(events, FluteSample)
        arrived = time.monotonic()
        delays_s.append(arrived - board.true_monotonic_s(round(sample.t_s * 1e6)))
    assert min(delays_s) >= 0, "no frame arrives before the board stamped it"
    assert np.percentile(delays_s, 50) <= ARRIVAL_P50_MAX_S


async def test_a_raw_stamp_is_placed_nearest_to_now():
    async with simulation() as board:
        boot_s = board.true_monotonic_s(0)
        assert board.true_monotonic_s(wire.TICKS_PERIOD) == boot_s, "an unwrapped stamp of the next lap"
        assert board.true_monotonic_s(wire.TICKS_PERIOD - 1000) == pytest.approx(boot_s - 0.001, abs=1e-6), (
            "a stamp just below the wrap, soon after boot, is from before it"
        )


async def test_each_boot_has_its_own_truth():
    async with simulation() as board:
        first_boot_s = board.true_monotonic_s(0)
        before_reset = time.monotonic()
        await board.restart()
        assert board.true_monotonic_s(0) > before_reset > first_boot_s
        assert board.true_monotonic_s(0) <= time.monotonic()
    with pytest.raises(FlutexError, match="not running"):
        board.true_monotonic_s(0)
