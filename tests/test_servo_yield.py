"""The virtual player's fingers yield to the servos: with the clutch engaged, a servo pressed far enough closes
its finger's hole, whatever the player's own finger does, and the hand is the player's again once it lets go."""

import time

from device_helpers import next_event

from flutex.firmware.actuators import FingerServo
from flutex.hardware import load_pinmap
from flutex.hardware.instrument import InstrumentProfile
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import FluteSample
from flutex.host.link.transport import SerialTransport
from flutex.sim.board import OutputChange
from flutex.sim.world import YIELD_PERMILLE, ServoPress, simulation

GUIDE_MS = 600  # longer than one note of the default tune: the player's own fingers move during the guide
SETTLE_S = 0.03  # from a board output to the FLUTE samples that show it: world loop, control pipe, one sample
AFTER_S = 2.0  # how long to watch the player take the hand back
LIGHT_FORCE_PERMILLE = YIELD_PERMILLE * 3 // 5  # a guide whose presses stop short of the yield point


def boehm_press():
    pinmap = load_pinmap()
    pinmap["profile"] = "boehm"
    profile = InstrumentProfile.load("boehm")
    return ServoPress(pinmap, profile), pinmap, profile


def pulse_ns(pinmap, finger, permille):
    servos = pinmap["servos"]
    entry = next(servo for servo in servos["fingers"] if servo["finger"] == finger)
    servo = FingerServo(None, entry, servos["min_pulse_us"], servos["max_pulse_us"])
    return entry["gpio"], servo.pulse_us(permille) * 1000


def test_a_pressed_servo_closes_its_fingers_hole_by_name_only_while_the_clutch_holds():
    press, pinmap, profile = boehm_press()
    clutch = pinmap["clutch"]["gpio"]
    press.on_output(OutputChange(0, *pulse_ns(pinmap, "L1", 1000)))
    assert press.pressed_holes == 0, "a servo without the clutch moves nothing"
    press.on_output(OutputChange(1, clutch, 1))
    assert press.pressed_holes == 1 << profile.holes.index("L1") == 0b10, "L1 is the Boehm flute's second key"
    press.on_output(OutputChange(2, *pulse_ns(pinmap, "R3", YIELD_PERMILLE)))
    assert press.pressed_holes == 1 << profile.holes.index("L1") | 1 << profile.holes.index("R3")
    press.on_output(OutputChange(3, *pulse_ns(pinmap, "R3", YIELD_PERMILLE - 10)))
    press.on_output(OutputChange(4, pulse_ns(pinmap, "L1", 0)[0], 0))  # no pulses: the servo goes limp
    assert press.pressed_holes == 0, "a light press, or a limp servo, does not overcome the finger"
    press.on_output(OutputChange(5, *pulse_ns(pinmap, "L2", 1000)))
    press.release()
    assert press.pressed_holes == 0, "a chip reset drops the clutch"


async def guided_masks(force_permille):
    """Guide C5 (every hole closed) on the simulator while the player plays its own tune; returns the FLUTE
    samples as (true host time, mask), when the servos had all pressed past the yield point (None if never),
    when the clutch let go, and the full mask."""
    profile = InstrumentProfile.load("six_hole")
    pinmap = load_pinmap()
    full, _ = profile.fingering_for(72)
    async with simulation() as board:
        client = DeviceClient(SerialTransport(board.port))
        events = client.subscribe()
        await client.connect()
        assert (await client.arm()).accepted
        while (await next_event(events, FluteSample)).closed_mask == full:
            pass  # start while the player's own fingering leaves a hole open
        start = len(board.output_log)
        guide = await client.guide(profile.servo_targets(full).targets, GUIDE_MS, force_permille)
        assert guide.accepted
        samples = []
        deadline = time.monotonic() + GUIDE_MS / 1000 + AFTER_S
        while time.monotonic() < deadline:
            sample = await next_event(events, FluteSample)
            samples.append((board.true_monotonic_s(round(sample.t_s * 1e6)), sample.closed_mask))
        replay = ServoPress(pinmap, profile)
        pressed_s = released_s = None
        for change in board.output_log[start:]:
            replay.on_output(change)
            if pressed_s is None and replay.pressed_holes == full:
                pressed_s = board.true_monotonic_s(change.t_us)
            if change.gpio == pinmap["clutch"]["gpio"] and change.value == 0 and released_s is None:
                released_s = board.true_monotonic_s(change.t_us)
        await client.close()
    assert released_s is not None, "the guide ends by releasing the clutch"
    return samples, pressed_s, released_s, full


async def test_the_fingers_follow_a_guide_while_the_clutch_holds_and_are_the_players_after():
    samples, pressed_s, released_s, full = await guided_masks(1000)
    assert pressed_s is not None and released_s - pressed_s > GUIDE_MS / 2000
    held = [mask for t_s, mask in samples if pressed_s + SETTLE_S <= t_s <= released_s]
    after = [mask for t_s, mask in samples if t_s > released_s + SETTLE_S]
    assert len(held) >= 40 and all(mask == full for mask in held), "every hole reads closed while guided"
    assert any(mask != full for mask in after), "after the guide the player's own fingering returns"


async def test_a_light_guide_is_felt_but_does_not_close_the_holes():
    samples, pressed_s, released_s, full = await guided_masks(LIGHT_FORCE_PERMILLE)
    assert pressed_s is None
    late_in_guide = [mask for t_s, mask in samples if released_s - GUIDE_MS / 2000 <= t_s <= released_s]
    assert late_in_guide and any(mask != full for mask in late_in_guide), "the servos have long arrived, lightly"
