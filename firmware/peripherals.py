"""The board's peripherals: every pin, ADC, PWM and the host link the firmware touches, built from the pin map
(pinmap.json) through `machine` (and `chip` for the link)."""

import json

import chip
import machine

PINMAP_PATH = "pinmap.json"
PROFILE_PATH = "profile.json"  # the instrument profile the pin map names, copied here at deploy time


def load_json(path):
    with open(path) as f:
        return json.load(f)


def by_name(items, key, names, what):
    """The items whose `key` is each of `names`, in that order: the profile decides the order, the pin map where."""
    found = {item[key]: item for item in items}
    for name in names:
        if name not in found:
            raise ValueError("the %s %s has no entry in the pin map" % (what, name))
    return [found[name] for name in names]


class Button:
    """A contact read on one input pin, as the pin map's entry says (gpio, active_low): the e-stop's sense contact
    (its other contact cuts the actuators' power in hardware) and the help-me pedal or button."""

    def __init__(self, entry):
        self._pin = machine.Pin(entry["gpio"], machine.Pin.IN, machine.Pin.PULL_UP)
        self._pressed_level = 0 if entry["active_low"] else 1

    def pressed(self):
        return self._pin.value() == self._pressed_level


class TouchButton:
    """A spare touch pad used as a button: touched when its reading rises above the pin map's touch threshold (as a
    hole's pad reads closed)."""

    def __init__(self, gpio, threshold):
        self._pad = machine.TouchPad(machine.Pin(gpio))
        self._threshold = threshold

    def pressed(self):
        return self._pad.read() > self._threshold


class AnyButton:
    """Pressed while any of its buttons is."""

    def __init__(self, buttons):
        self._buttons = buttons

    def pressed(self):
        return any(button.pressed() for button in self._buttons)


def help_input(pinmap, profile):
    """The help-me input: the pedal (or button) on its pin, and, when the pin map's entry names one (`touch_pad`),
    a spare touch pad: one the profile does not use as a hole, so playing never asks for help."""
    entry = pinmap["help"]
    spare = entry.get("touch_pad")
    if spare is None:
        return AnyButton([Button(entry)])
    if spare in profile["holes"]:
        raise ValueError("the help pad %s is a hole of the %s profile: name a spare pad" % (spare, profile["name"]))
    pad = by_name(pinmap["touch"]["pads"], "hole", [spare], "help pad")[0]
    return AnyButton([Button(entry), TouchButton(pad["gpio"], pinmap["touch"]["threshold"])])


class Peripherals:
    """Raw access to sensors and outputs; meaning (pascals, permille, safety) lives in sensors and actuators.

    Touch pads are ordered by the profile's holes (bit i of the closed mask = hole i) and servos by its fingers;
    pads and servos the profile does not use are left alone."""

    def __init__(self, pinmap, profile):
        self.pinmap = pinmap
        self.profile = profile
        pads = by_name(pinmap["touch"]["pads"], "hole", profile["holes"], "profile's hole")
        self.touch_pads = [machine.TouchPad(machine.Pin(pad["gpio"])) for pad in pads]
        pressure = pinmap["pressure"]
        self.mouth_adc = self._adc(pressure["mouth"]["gpio"])
        self.belt_adcs = [self._adc(channel["gpio"]) for channel in pressure["belt"]]
        servos = pinmap["servos"]
        self.servo_fingers = by_name(servos["fingers"], "finger", profile["fingers"], "profile's finger")
        # duty 0 = no pulses: a hobby servo holds no position and the finger is free until the envelope moves it
        self.servo_pwms = [
            machine.PWM(machine.Pin(finger["gpio"]), freq=servos["pwm_hz"], duty_ns=0) for finger in self.servo_fingers
        ]
        clutch = pinmap["clutch"]
        self._clutch_on_level = 1 if clutch["active_high"] else 0
        self.clutch_pin = machine.Pin(clutch["gpio"], machine.Pin.OUT, value=1 - self._clutch_on_level)
        self.estop = Button(pinmap["estop"])
        self.help = help_input(pinmap, profile)
        self.link = chip.host_link(pinmap)

    @staticmethod
    def _adc(gpio):
        return machine.ADC(machine.Pin(gpio), atten=machine.ADC.ATTN_11DB)

    def write_clutch(self, engaged):
        self.clutch_pin.value(self._clutch_on_level if engaged else 1 - self._clutch_on_level)
