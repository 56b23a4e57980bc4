"""Every rule of the firmware's safety envelope, exercised on the real firmware in the simulator."""

import asyncio
import json

import pytest_asyncio
from device_helpers import board_shows, next_event

from flutex.firmware import wire
from flutex.hardware import load_pinmap
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import BeltSample, BoardAlert, HapticStatus
from flutex.host.link.transport import SerialTransport
from flutex.sim.world import simulation

TIGHT = {"max_press_permille": 800, "max_engage_ms": 300, "max_guide_ms": 500}


def tight_pinmap(tmp_path):
    pinmap = load_pinmap()
    pinmap["safety"] = {**pinmap["safety"], **TIGHT}
    path = tmp_path / "pinmap.json"
    path.write_text(json.dumps(pinmap))
    return pinmap, path


@pytest_asyncio.fixture
async def rig(tmp_path):
    """(client, board, pinmap) for a board whose safety limits are short enough to test quickly."""
    pinmap, path = tight_pinmap(tmp_path)
    async with simulation(pinmap_path=path) as board:
        client = DeviceClient(SerialTransport(board.port))
        await client.connect()
        yield client, board, pinmap
        await client.close()


def clutch_changes(board, pinmap, since=0):
    gpio = pinmap["clutch"]["gpio"]
    return [c for c in board.output_log[since:] if c.gpio == gpio]


def servo_angle_deg(pulse_ns, pinmap):
    servos = pinmap["servos"]
    return (pulse_ns / 1000 - servos["min_pulse_us"]) * 180 / (servos["max_pulse_us"] - servos["min_pulse_us"])


async def test_the_help_pedal_reaches_the_host_and_moves_nothing(rig):
    client, board, pinmap = rig
    events = client.subscribe()
    pedal = pinmap["help"]["gpio"]
    assert (await client.arm()).accepted
    since = len(board.output_log)
    board.set_inputs({pedal: 0})  # held (active low)
    while not (status := await next_event(events, HapticStatus)).help_held:
        pass
    assert status.armed and not status.clutch_engaged and not status.guiding
    board.set_inputs({pedal: 1})
    while (await next_event(events, HapticStatus)).help_held:
        pass
    assert clutch_changes(board, pinmap, since) == [], "the pedal only asks: the clutch never moved"


async def test_estop_button_releases_everything_and_blocks_arming(rig):
    client, board, pinmap = rig
    events = client.subscribe()
    estop_gpio = pinmap["estop"]["gpio"]
    assert (await client.arm()).accepted and (await client.set_clutch(True)).accepted
    board.set_inputs({estop_gpio: 0})  # pressed (active low)
    alert = await next_event(events, BoardAlert)
    assert alert.code == wire.E_ESTOP
    await board_shows(lambda: clutch_changes(board, pinmap)[-1].value == 0)
    refused = await client.arm()
    assert not refused.accepted and refused.code == wire.E_ESTOP and "button" in refused.reason
    board.set_inputs({estop_gpio: 1})
    while (await next_event(events, HapticStatus)).emergency_stop:
        pass
    assert (await client.arm()).accepted, "once the button is released, the host may arm again"


async def test_estop_command_latches_until_cleared(rig):
    client, board, pinmap = rig
    assert (await client.arm()).accepted and (await client.set_clutch(True)).accepted
    assert (await client.emergency_stop()).accepted
    await board_shows(lambda: clutch_changes(board, pinmap)[-1].value == 0)
    assert (await client.arm()).code == wire.E_ESTOP
    assert (await client.emergency_stop(False)).accepted
    assert (await client.arm()).accepted


async def test_clutch_is_released_after_the_maximum_engage_time(rig):
    client, board, pinmap = rig
    events = client.subscribe()
    await client.arm()
    start = len(board.output_log)
    assert (await client.set_clutch(True)).accepted
    alert = await next_event(events, BoardAlert)
    assert alert.code == wire.E_ENGAGE_TIME
    on, off = clutch_changes(board, pinmap, start)[-2:]
    held_ms = (off.t_us - on.t_us) / 1000
    period_ms = 1000 / pinmap["rates_hz"]["servo"]
    assert (on.value, off.value) == (1, 0)
    assert TIGHT["max_engage_ms"] <= held_ms <= TIGHT["max_engage_ms"] + period_ms + 5


async def test_guide_presses_at_graded_force_for_a_bounded_time(rig):
    client, board, pinmap = rig
    await client.arm()
    start = len(board.output_log)
    answer = await client.guide([800, 0, 0, 0, 0, 0], duration_ms=200, force_permille=500)
    assert answer.accepted
    finger = pinmap["servos"]["fingers"][0]
    gpio = finger["gpio"]
    while True:
        await next_event(client.subscribe(), HapticStatus)
        changes = clutch_changes(board, pinmap, start)
        if len(changes) >= 2:
            break
    on, off = changes[:2]
    period_ms = 1000 / pinmap["rates_hz"]["servo"]
    assert 200 <= (off.t_us - on.t_us) / 1000 <= 200 + period_ms + 5
    pressed = [servo_angle_deg(c.value, pinmap) for c in board.output_log[start:] if c.gpio == gpio]
    half_press = finger["neutral_deg"] + 0.4 * (finger["pressed_deg"] - finger["neutral_deg"])
    assert max(pressed) <= half_press + 0.5, "force 500 presses half of 800 at most"
    too_long = await client.guide([800, 0, 0, 0, 0, 0], duration_ms=TIGHT["max_guide_ms"] + 1)
    assert not too_long.accepted and too_long.code == wire.E_LIMIT


async def test_guide_is_judged_as_sent_and_refused_never_scaled_into_range(rig):
    """A force below 1000 must not launder a target outside the travel, and a GUIDE of 0 ms must not flick the
    clutch: each is refused and nothing moves."""
    client, board, _pinmap = rig
    await client.arm()
    start = len(board.output_log)
    beyond = TIGHT["max_press_permille"] + 1
    for fingering, duration_ms, force in (
        ([2000, 0, 0, 0, 0, 0], 100, 500),
        ([32767] * 6, 100, 30),
        ([32767] * 6, 100, 0),
        ([beyond, 0, 0, 0, 0, 0], 100, 1),
        ([800, 0, 0, 0, 0, 0], 0, 1000),
        ([800, 0, 0, 0, 0, 0], 100, 1001),
    ):
        answer = await client.guide(fingering, duration_ms=duration_ms, force_permille=force)
        assert not answer.accepted and answer.code == wire.E_LIMIT, (fingering, duration_ms, force, answer)
    await asyncio.sleep(0.05)
    assert board.output_log[start:] == [], "a refused GUIDE moves nothing"


async def test_press_beyond_the_boards_limit_is_refused(rig):
    client, _board, _pinmap = rig
    await client.arm()
    answer = await client.set_servos([TIGHT["max_press_permille"] + 1, 0, 0, 0, 0, 0])
    assert not answer.accepted and answer.code == wire.E_LIMIT
    assert (await client.set_servos([TIGHT["max_press_permille"], 0, 0, 0, 0, -1000])).accepted


async def test_tare_zeroes_the_pressure_channels(rig):
    client, _board, _pinmap = rig
    events = client.subscribe()
    # wait for the player to be mid-breath, where the belt reads far from its start-up tare
    while abs((await next_event(events, BeltSample)).channels_pa[0]) < 200:
        pass
    answer = await client.tare()
    assert answer.accepted
    after = await next_event(events, BeltSample)
    while after.t_s <= answer.t_s:
        after = await next_event(events, BeltSample)
    assert abs(after.channels_pa[0]) < 60
