"""The hardware layer: every pin the firmware touches, built from the pin map (pinmap.json) through `machine`."""

import json

import machine
import port

PINMAP_PATH = "pinmap.json"


def load_pinmap(path=PINMAP_PATH):
    with open(path) as f:
        return json.load(f)


class Board:
    """Raw access to sensors and outputs; meaning (pascals, permille, safety) lives in sensors and actuators."""

    def __init__(self, pinmap):
        self.pinmap = pinmap
        self.touch_pads = [machine.TouchPad(machine.Pin(pad["gpio"])) for pad in pinmap["touch"]["pads"]]
        pressure = pinmap["pressure"]
        self.mouth_adc = self._adc(pressure["mouth"]["gpio"])
        self.belt_adcs = [self._adc(channel["gpio"]) for channel in pressure["belt"]]
        servos = pinmap["servos"]
        # duty 0 = no pulses: a hobby servo holds no position and the finger is free until the envelope moves it
        self.servo_pwms = [
            machine.PWM(machine.Pin(finger["gpio"]), freq=servos["pwm_hz"], duty_ns=0)
            for finger in servos["fingers"]
        ]
        clutch = pinmap["clutch"]
        self._clutch_on_level = 1 if clutch["active_high"] else 0
        self.clutch_pin = machine.Pin(clutch["gpio"], machine.Pin.OUT, value=1 - self._clutch_on_level)
        self.link = port.HostLink()

    @staticmethod
    def _adc(gpio):
        return machine.ADC(machine.Pin(gpio), atten=machine.ADC.ATTN_11DB)

    def write_clutch(self, engaged):
        self.clutch_pin.value(self._clutch_on_level if engaged else 1 - self._clutch_on_level)
