"""Instrument profiles are data: the firmware, the simulator and the host all follow the active one."""

import json

import pytest
from device_helpers import next_event

from flutex.hardware import PROFILES_DIR, load_pinmap
from flutex.hardware.instrument import InstrumentProfile
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import FluteSample
from flutex.host.link.transport import SerialTransport
from flutex.sim.player import VirtualPlayer
from flutex.sim.world import simulation

PROFILES = sorted(path.stem for path in PROFILES_DIR.glob("*.json"))


@pytest.mark.parametrize("name", PROFILES)
def test_every_playable_note_has_one_fingering_that_reads_back(name):
    profile = InstrumentProfile.load(name)
    assert len(profile.playable) >= 12
    for midi in profile.playable:
        mask, overblown = profile.fingering_for(midi)
        assert profile.midi_for(mask, overblown) == midi


def test_boehm_second_register_fingerings_are_their_own():
    boehm = InstrumentProfile.load("boehm")
    d5_mask, overblown = boehm.fingering_for(74)
    assert overblown and d5_mask != boehm.fingering_for(62)[0]
    assert boehm.midi_for(boehm.fingering_for(64)[0], overblown=True) == 76  # E5 is E4 overblown


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValueError, match="boehm"):
        InstrumentProfile.load("bagpipe")


async def test_the_board_follows_the_active_profile(tmp_path):
    pinmap = load_pinmap()
    pinmap["profile"] = "boehm"
    path = tmp_path / "pinmap.json"
    path.write_text(json.dumps(pinmap))
    melody = [(62, 0.3), (68, 0.3), (74, 0.3)]  # D4, G#4 (the pinky key), D5 (its own fingering)
    player = VirtualPlayer(melody, pinmap=pinmap)
    expected = {player.profile.fingering_for(midi)[0] for midi, _ in melody}
    async with simulation(player, pinmap_path=path) as board:
        client = DeviceClient(SerialTransport(board.port))
        events = client.subscribe()
        info = await client.connect()
        assert (info.holes, info.fingers, info.details["profile"]) == (9, 6, "boehm")
        seen = set()
        while not expected <= seen:
            seen.add((await next_event(events, FluteSample, 3.0)).closed_mask)
        assert seen == expected, "every mask the board reports is one of the melody's Boehm fingerings"
        await client.close()


@pytest.mark.parametrize("name", PROFILES)
def test_every_guided_finger_has_a_servo_over_a_hole_with_a_pad(name):
    """The pin map wires servos by finger and pads by hole; the profile ties the two by name."""
    pinmap = load_pinmap()
    profile = InstrumentProfile.load(name)
    servo_fingers = {servo["finger"] for servo in pinmap["servos"]["fingers"]}
    pad_holes = {pad["hole"] for pad in pinmap["touch"]["pads"]}
    assert set(profile.fingers) <= servo_fingers
    assert {profile.holes[hole] for hole in profile.servo_holes} <= pad_holes
