"""The safety envelope: the one path from any command to a servo or the clutch.

Rules it enforces, whoever asks (host, agent, lesson file):
- nothing moves while disarmed, and arming is refused during an emergency stop;
- targets outside the travel (-1000 lifted .. max_press_permille) are refused, never clamped silently;
- every servo moves at most `max_permille_per_s`;
- without a heartbeat the clutch is released and the servos parked, at the latest `watchdog_ms` after the last
  heartbeat; after that the host must arm again;
- the e-stop (button or ESTOP command) releases everything at once and blocks arming until it clears;
- the clutch is never held engaged longer than `max_engage_ms` at a stretch; a GUIDE lasts at most `max_guide_ms`.
"""

import asyncio
import time

import chip
import wire

LIFTED = -1000  # permille
# Fire this early so scheduling jitter never takes the release past watchdog_ms: 3 ms let about 1 release in 350
# land just past 100 ms on a loaded simulator host (flutex bench watchdog), 8 ms leaves room for that load.
WATCHDOG_MARGIN_US = 8000


class Envelope:
    def __init__(self, peripherals, servos, on_alert, on_change):
        cfg = peripherals.pinmap
        limits = cfg["safety"]
        self._peripherals = peripherals
        self._servos = servos
        self._on_alert = on_alert  # called with (code, reason) when the envelope acts on its own
        self._on_change = on_change  # called when a guide ends (a change of state without an alert)
        self._max_rate = cfg["servos"]["max_permille_per_s"]
        self._servo_period_ms = 1000 // cfg["rates_hz"]["servo"]
        self._timeout_us = cfg["watchdog_ms"] * 1000 - WATCHDOG_MARGIN_US
        self._max_press = limits["max_press_permille"]
        self._max_engage_us = limits["max_engage_ms"] * 1000
        self._max_guide_ms = limits["max_guide_ms"]
        count = len(servos)
        self.targets = [0] * count
        self.positions = [0] * count
        self.armed = False
        self.clutch_engaged = False
        self.watchdog_tripped = False
        self.host_stop = False
        self.button_stop = False
        self._guide_end_us = None
        now = chip.ticks_us()
        self._engaged_since_us = now
        self._last_heartbeat_us = now
        self._last_step_us = now
        self._heartbeat_event = asyncio.Event()

    def flags(self):
        return (
            (wire.FLAG_ARMED if self.armed else 0)
            | (wire.FLAG_CLUTCH if self.clutch_engaged else 0)
            | (wire.FLAG_WATCHDOG if self.watchdog_tripped else 0)
            | (wire.FLAG_ESTOP if self.stopped() else 0)
            | (wire.FLAG_GUIDING if self._guide_end_us is not None else 0)
        )

    def stopped(self):
        return self.host_stop or self.button_stop

    def heartbeat(self):
        self._last_heartbeat_us = chip.ticks_us()
        self._heartbeat_event.set()

    # --- commands: each returns (t_us applied, None) or (None, (code, reason)) ---------------------------------

    def arm(self, armed):
        """Arming clears a watchdog trip; disarming releases everything."""
        if not armed:
            return self._release(), None
        if self.stopped():
            return None, (wire.E_ESTOP, "emergency stop active: release the button or send ESTOP 0, then ARM")
        self.heartbeat()
        self.armed = True
        self.watchdog_tripped = False
        return chip.ticks_us(), None

    def emergency_stop(self, active):
        """The host's stop: latched until the host clears it."""
        self.host_stop = active
        return (self._release() if active else chip.ticks_us()), None

    def set_targets(self, targets):
        refusal = self._check_targets(targets)
        if refusal is not None:
            return None, refusal
        self._guide_end_us = None
        for index, target in enumerate(targets):
            self.targets[index] = target
        return self.step(), None

    def set_clutch(self, engaged):
        if engaged and not self.armed:
            return None, _not_armed()
        self._guide_end_us = None
        return self._write_clutch(engaged), None

    def guide(self, targets, duration_ms, force_permille):
        """Press a fingering with the clutch engaged for a bounded time, at a graded force (press scaled)."""
        refusal = self._check_targets(targets)  # the targets as sent: a scaled-down copy must not hide a bad one
        if refusal is not None:
            return None, refusal
        if not 0 < duration_ms <= self._max_guide_ms:
            return None, (wire.E_LIMIT, "guide of %d ms outside 1..%d ms" % (duration_ms, self._max_guide_ms))
        if force_permille > 1000:
            return None, (wire.E_LIMIT, "force %d outside 0..1000" % force_permille)
        pressed = [target * force_permille // 1000 if target > 0 else target for target in targets]
        for index, target in enumerate(pressed):
            self.targets[index] = target
        self.step()
        applied_us = self._write_clutch(True)
        self._guide_end_us = time.ticks_add(applied_us, duration_ms * 1000)
        return applied_us, None

    def _check_targets(self, targets):
        if not self.armed:
            return _not_armed()
        if len(targets) != len(self.targets):
            return wire.E_BAD_MESSAGE, "expected %d servo targets, got %d" % (len(self.targets), len(targets))
        for index, target in enumerate(targets):
            if target < LIFTED or target > self._max_press:
                return wire.E_LIMIT, "servo %d target %d outside %d..%d" % (index, target, LIFTED, self._max_press)
        return None

    # --- outputs --------------------------------------------------------------------------------------------

    def step(self):
        """Move every servo toward its target, no faster than the rate limit; returns the time the PWM was written."""
        now = chip.ticks_us()
        elapsed_us = time.ticks_diff(now, self._last_step_us)
        self._last_step_us = now
        max_step = self._max_rate * min(elapsed_us, 1000 * self._servo_period_ms) // 1000000
        for index, servo in enumerate(self._servos):
            position = self.positions[index]
            delta = self.targets[index] - position
            if delta:
                position += max(-max_step, min(max_step, delta))
                self.positions[index] = position
                servo.write(position)
        return chip.ticks_us()

    def _write_clutch(self, engaged):
        self._peripherals.write_clutch(engaged)
        applied_us = chip.ticks_us()
        if engaged and not self.clutch_engaged:
            self._engaged_since_us = applied_us
        self.clutch_engaged = engaged
        return applied_us

    def _release(self):
        """Clutch off first (the force goes at once), then park the servos at neutral through the rate limit."""
        released_us = self._write_clutch(False)
        self.armed = False
        self._guide_end_us = None
        for index in range(len(self.targets)):
            self.targets[index] = 0
        self.step()  # homeward now by what the slew limit allows since the last servo tick, not only at the next
        return released_us

    # --- tasks ----------------------------------------------------------------------------------------------

    async def run_servos(self):
        """At the servo rate: slew the servos, watch the e-stop button, end guides, bound engage time, and feed
        the chip's hardware watchdog, which resets the board (clutch released) if this loop ever stops."""
        while True:
            self.step()
            self._supervise()
            chip.feed_watchdog()
            await asyncio.sleep_ms(self._servo_period_ms)

    def _supervise(self):
        pressed = self._peripherals.estop.pressed()
        if pressed != self.button_stop:
            self.button_stop = pressed
            if pressed:
                self._release()
                self._on_alert(wire.E_ESTOP, "e-stop button pressed: everything released")
        now = chip.ticks_us()
        if self._guide_end_us is not None and time.ticks_diff(now, self._guide_end_us) >= 0:
            self._guide_end_us = None
            self._write_clutch(False)
            for index in range(len(self.targets)):
                self.targets[index] = 0
            self._on_change()
        if self.clutch_engaged and time.ticks_diff(now, self._engaged_since_us) >= self._max_engage_us:
            self._write_clutch(False)
            self._on_alert(wire.E_ENGAGE_TIME, "clutch engaged over %d ms: released" % (self._max_engage_us // 1000))

    async def run_watchdog(self):
        """Sleeps until the heartbeat deadline; releases the instrument if no heartbeat came by then."""
        while True:
            remaining_us = self._timeout_us - time.ticks_diff(chip.ticks_us(), self._last_heartbeat_us)
            if remaining_us > 0:
                await asyncio.sleep_ms((remaining_us + 999) // 1000)
            elif self.armed:
                self._release()
                self.watchdog_tripped = True
                self._on_alert(wire.E_WATCHDOG, "no heartbeat in time: clutch released, servos parked; ARM again")
            else:
                self._heartbeat_event.clear()
                await self._heartbeat_event.wait()


def _not_armed():
    return wire.E_NOT_ARMED, "not armed: send ARM first"
