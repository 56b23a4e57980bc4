"""A fingering becomes servo targets by hole name: each finger's servo presses the hole the profile names, open
holes follow an explicit policy, and closed holes without a servo are reported, never dropped."""

import copy

import pytest

from flutex.hardware import PROFILES_DIR, load_profile
from flutex.hardware.instrument import PRESSED, InstrumentProfile, OpenPolicy

PROFILES = sorted(path.stem for path in PROFILES_DIR.glob("*.json"))
BOEHM = InstrumentProfile.load("boehm")


def targets_by_finger(profile, midi, open_policy=OpenPolicy.RELEASE):
    result = profile.servo_targets(profile.fingering_for(midi)[0], open_policy)
    return dict(zip(profile.fingers, result.targets, strict=True)), result.unguided


def test_boehm_c5_presses_only_the_first_finger_and_names_the_pinky_key():
    """C5 closes L1 and the E-flat key (R4): hole bit 1 is finger 0 on the Boehm flute, not finger 1."""
    targets, unguided = targets_by_finger(BOEHM, 72)
    assert targets == {"L1": PRESSED, "L2": 0, "L3": 0, "R1": 0, "R2": 0, "R3": 0}
    assert unguided == ("R4",)


def test_boehm_d5_leaves_the_first_finger_up_and_the_thumb_unguided():
    targets, unguided = targets_by_finger(BOEHM, 74)
    assert targets == {"L1": 0, "L2": PRESSED, "L3": PRESSED, "R1": PRESSED, "R2": PRESSED, "R3": PRESSED}
    assert unguided == ("LT",)


def test_boehm_g_sharp_reports_every_key_without_a_servo():
    targets, unguided = targets_by_finger(BOEHM, 68)
    assert [finger for finger, target in targets.items() if target == PRESSED] == ["L1", "L2", "L3"]
    assert unguided == ("LT", "L4", "R4")


def test_the_lift_policy_holds_open_fingers_up():
    targets, _ = targets_by_finger(BOEHM, 72, OpenPolicy.LIFT)
    assert targets == {"L1": PRESSED, **dict.fromkeys(("L2", "L3", "R1", "R2", "R3"), OpenPolicy.LIFT.value)}


def test_a_light_press_presses_the_same_fingers_less():
    light = BOEHM.servo_targets(BOEHM.fingering_for(74)[0], press_permille=400).targets
    full = BOEHM.servo_targets(BOEHM.fingering_for(74)[0]).targets
    assert light == tuple(400 if target == PRESSED else target for target in full)
    for press in (0, PRESSED + 1):
        with pytest.raises(ValueError, match=r"outside 1\.\.1000"):
            BOEHM.servo_targets(0, press_permille=press)


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("policy", list(OpenPolicy))
def test_every_fingering_maps_to_targets_that_account_for_every_closed_hole(name, policy):
    profile = InstrumentProfile.load(name)
    for fingering in profile.fingerings:
        result = profile.servo_targets(fingering.closed_mask, policy)
        assert len(result.targets) == len(profile.fingers)
        assert set(result.targets) <= {PRESSED, policy.value}
        pressing = [finger for finger, target in enumerate(result.targets) if target == PRESSED]
        unguided_mask = sum(1 << profile.holes.index(hole) for hole in result.unguided)
        assert profile.holes_pressed_by(pressing) & unguided_mask == 0, "a hole is either guided or not"
        assert profile.holes_pressed_by(pressing) | unguided_mask == fingering.closed_mask, f"MIDI {fingering.midi}"


@pytest.mark.parametrize("name", PROFILES)
def test_each_servo_presses_the_hole_its_profile_names(name):
    data = load_profile(name)
    profile = InstrumentProfile.from_data(data)
    for finger, finger_name in enumerate(profile.fingers):
        assert profile.holes_pressed_by([finger]) == 1 << profile.holes.index(data["servo_holes"][finger_name])


def test_a_mask_beyond_the_profile_is_refused():
    with pytest.raises(ValueError, match="does not have"):
        BOEHM.servo_targets(1 << len(BOEHM.holes))


def broken(change):
    data = copy.deepcopy(load_profile("boehm"))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data["servo_holes"].update(L1="L9"), r"holes \['L9'\] that are not in holes"),
        (lambda data: data["servo_holes"].pop("R3"), "must name exactly the fingers"),
        (lambda data: data["servo_holes"].update(thumb="LT"), "must name exactly the fingers"),
        (lambda data: data["servo_holes"].update(L2="L1"), "two fingers the same hole"),
        (lambda data: data["holes_without_servo"].remove("R4"), "holes_without_servo must list exactly"),
        (lambda data: data["holes_without_servo"].append("L1"), "holes_without_servo must list exactly"),
        (lambda data: data["fingerings"][0]["closed"].append("RT"), r"MIDI 62 closes unknown holes \['RT'\]"),
    ],
)
def test_a_profile_that_names_an_unknown_or_unassigned_hole_is_refused(change, message):
    with pytest.raises(ValueError, match=message) as refused:
        InstrumentProfile.from_data(broken(change))
    assert "'boehm'" in str(refused.value), "the message names the profile to fix"
