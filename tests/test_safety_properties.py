"""No sequence of host commands can drive a servo outside its limits or faster than its slew rate, nor keep the
clutch engaged past the watchdog. Hypothesis writes the sequences; the real firmware in the simulator obeys them."""

import asyncio
import bisect
import contextlib
import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_safety import servo_angle_deg, tight_pinmap

from flutex.host.link.client import DeviceClient
from flutex.host.link.transport import SerialTransport
from flutex.sim.world import simulation

# Five fingers inside the tight pin map's travel (-1000 lifted .. 800 pressed), one anywhere, often at an edge.
edge = st.one_of(st.sampled_from([-1001, -1000, 0, 799, 800, 801, 1000]), st.integers(-1500, 1500))
targets = st.builds(
    lambda inside, finger, value: [*inside[:finger], value, *inside[finger + 1 :]],
    st.lists(st.integers(-1000, 800), min_size=6, max_size=6),
    st.integers(0, 5),
    edge,
)
actions = st.one_of(
    st.tuples(st.just("arm"), st.booleans()),
    st.tuples(st.just("servos"), targets),
    st.tuples(st.just("clutch"), st.booleans()),
    st.tuples(st.just("guide"), targets, st.integers(0, 800), st.integers(0, 1200)),
    st.tuples(st.just("estop"), st.booleans()),
    st.tuples(st.just("silence"), st.integers(0, 250)),  # the host hangs: no heartbeat, no command
    st.tuples(st.just("wait"), st.integers(0, 150)),
)


async def play(client: DeviceClient, script) -> None:
    for action, *args in script:
        if action == "arm":
            await client.arm(*args)
        elif action == "servos":
            await client.set_servos(*args)
        elif action == "clutch":
            await client.set_clutch(*args)
        elif action == "guide":
            await client.guide(*args)
        elif action == "estop":
            await client.emergency_stop(*args)
        elif action == "silence":
            await client.pause_heartbeats()
            await asyncio.sleep(args[0] / 1000)
            client.resume_heartbeats()
        else:
            await asyncio.sleep(args[0] / 1000)
    await asyncio.sleep(0.2)


class BoardInThread:
    """One simulated board (tight limits) with a connected client, on an event loop of its own thread, so that every
    example runs on it without paying for a board's start-up: each example starts by clearing the e-stop."""

    def __init__(self, pinmap_path) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._stack = contextlib.AsyncExitStack()
        self.board, self.client = self.run(self._start(pinmap_path))

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    async def _start(self, pinmap_path):
        board = await self._stack.enter_async_context(simulation(pinmap_path=pinmap_path))
        client = DeviceClient(SerialTransport(board.port), reply_timeout_s=2.0)
        await client.connect()
        self._stack.push_async_callback(client.close)
        return board, client

    def close(self) -> None:
        self.run(self._stack.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    pinmap, path = tight_pinmap(tmp_path_factory.mktemp("pinmap"))
    rig = BoardInThread(path)
    yield rig, pinmap
    rig.close()


def check_servos(log, pinmap, max_press):
    servos = pinmap["servos"]
    for finger in servos["fingers"]:
        moves = [c for c in log if c.gpio == finger["gpio"] and c.value]
        lowest = finger["lifted_deg"] - 0.5
        highest = finger["neutral_deg"] + (finger["pressed_deg"] - finger["neutral_deg"]) * max_press / 1000 + 0.5
        for change in moves:
            assert lowest <= servo_angle_deg(change.value, pinmap) <= highest
        max_deg_per_s = (
            servos["max_permille_per_s"]
            / 1000
            * max(finger["pressed_deg"] - finger["neutral_deg"], finger["neutral_deg"] - finger["lifted_deg"])
        )
        for before, after in itertools.pairwise(moves):
            step = abs(servo_angle_deg(after.value, pinmap) - servo_angle_deg(before.value, pinmap))
            assert step <= max_deg_per_s * (after.t_us - before.t_us) / 1e6 * 1.1 + 0.5


def check_clutch_never_outlives_the_host(log, heartbeats_us, pinmap):
    """While the clutch is engaged, the last heartbeat the board heard is never more than watchdog_ms old. The
    worst moments of an engaged stretch are just before each heartbeat arrives and at the release."""
    gpio = pinmap["clutch"]["gpio"]
    limit_us = pinmap["watchdog_ms"] * 1000
    engaged_since = None
    for change in (c for c in log if c.gpio == gpio):
        if change.value and engaged_since is None:
            engaged_since = change.t_us
        elif not change.value and engaged_since is not None:
            moments = [t for t in heartbeats_us if engaged_since < t <= change.t_us] + [change.t_us]
            for moment in moments:
                last = heartbeats_us[bisect.bisect_left(heartbeats_us, moment) - 1]
                assert moment - last <= limit_us, f"clutch engaged {(moment - last) / 1000:.1f} ms after a heartbeat"
            engaged_since = None
    assert engaged_since is None, "the clutch was still engaged at the end of the script"


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(actions, min_size=1, max_size=10))
def test_no_command_sequence_escapes_the_envelope(rig, script):
    board_rig, pinmap = rig
    board, client = board_rig.board, board_rig.client
    start = len(board.output_log)
    board_rig.run(play(client, [("estop", False), ("arm", True), *script, ("silence", 150)]))
    log, heartbeats_us = board_rig.run(_since(board, start))
    check_servos(log, pinmap, pinmap["safety"]["max_press_permille"])
    check_clutch_never_outlives_the_host(log, heartbeats_us, pinmap)


async def _since(board, start):
    """The board's outputs since `start` and its heartbeat times, read on its own thread."""
    return board.output_log[start:], sorted(board.heartbeat_times_us)
