"""Actuator drivers: a finger servo positioned in permille, and the clutch. Only safety.Envelope calls these."""


class FingerServo:
    """A hobby servo on PWM; position in permille of travel: -1000 lifted, 0 neutral (released), 1000 pressed."""

    def __init__(self, pwm, finger, min_pulse_us, max_pulse_us):
        self._pwm = pwm
        self._lifted = finger["lifted_deg"]
        self._neutral = finger["neutral_deg"]
        self._pressed = finger["pressed_deg"]
        self._min_us = min_pulse_us
        self._span_us = max_pulse_us - min_pulse_us

    def pulse_us(self, permille):
        """Pulse width for a position, interpolating the finger's calibrated angles (0-180 degrees)."""
        end = self._pressed if permille >= 0 else self._lifted
        angle_milli_deg = self._neutral * 1000 + (end - self._neutral) * abs(permille)
        return self._min_us + self._span_us * angle_milli_deg // 180000

    def write(self, permille):
        self._pwm.duty_ns(self.pulse_us(permille) * 1000)
