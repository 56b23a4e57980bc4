"""The subset of MicroPython's `machine` module the firmware uses, on the simulator's virtual pins.

Inputs (touch, ADC) read values the simulated world wrote; outputs (pin levels, PWM duty) are reported to it.
"""

import simhw


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 1

    def __init__(self, gpio, mode=IN, pull=None, value=None):
        self.gpio = gpio
        if value is not None:
            self.value(value)

    def value(self, level=None):
        if level is None:
            return simhw.pin_read(self.gpio)
        simhw.pin_write(self.gpio, 1 if level else 0)
        return None


class TouchPad:
    def __init__(self, pin):
        self._gpio = pin.gpio

    def read(self):
        return simhw.pin_read(self._gpio)


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin, atten=ATTN_11DB):
        self._gpio = pin.gpio

    def read_u16(self):
        return simhw.pin_read(self._gpio)


class PWM:
    """Duty is reported to the world in nanoseconds of pulse width (what a servo responds to)."""

    def __init__(self, pin, freq=50, duty_ns=0):
        self._gpio = pin.gpio
        self.freq = freq
        self.duty_ns(duty_ns)

    def duty_ns(self, ns=None):
        if ns is None:
            return self._ns
        self._ns = ns
        simhw.pin_write(self._gpio, ns)
        return None
