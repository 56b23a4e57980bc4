"""The safety envelope: the one path from any command to a servo or the clutch.

Rules it enforces, whoever asks: nothing moves while disarmed; targets outside the travel are refused; every servo
moves at most `max_permille_per_s`; without a heartbeat the clutch is released and the servos parked, at the
latest `watchdog_ms` after the last heartbeat; after that the host must arm again.
"""

import asyncio
import time

import port
import wire

TRAVEL = 1000  # permille, both directions from neutral
WATCHDOG_MARGIN_US = 3000  # fire this early so scheduling jitter never takes the release past watchdog_ms


class Envelope:
    def __init__(self, board, servos, on_release):
        cfg = board.pinmap
        self._board = board
        self._servos = servos
        self._on_release = on_release  # called with (t_us) after a watchdog release, to tell the host
        self._max_rate = cfg["servos"]["max_permille_per_s"]
        self._servo_period_ms = 1000 // cfg["rates_hz"]["servo"]
        self._timeout_us = cfg["watchdog_ms"] * 1000 - WATCHDOG_MARGIN_US
        count = len(servos)
        self.targets = [0] * count
        self.positions = [0] * count
        self.armed = False
        self.clutch_engaged = False
        self.watchdog_tripped = False
        self._last_heartbeat_us = port.ticks_us()
        self._last_step_us = self._last_heartbeat_us
        self._heartbeat_event = asyncio.Event()

    def flags(self):
        return (
            (wire.FLAG_ARMED if self.armed else 0)
            | (wire.FLAG_CLUTCH if self.clutch_engaged else 0)
            | (wire.FLAG_WATCHDOG if self.watchdog_tripped else 0)
        )

    def heartbeat(self):
        self._last_heartbeat_us = port.ticks_us()
        self._heartbeat_event.set()

    def arm(self, armed):
        """Arming clears a watchdog trip; disarming releases everything. Returns the time it took effect."""
        if armed:
            self.heartbeat()
            self.armed = True
            self.watchdog_tripped = False
            return port.ticks_us()
        return self._release()

    def set_targets(self, targets):
        """(t_us applied, None) or (None, (code, reason)) for a refusal."""
        if not self.armed:
            return None, (wire.E_NOT_ARMED, "not armed: send ARM first")
        if len(targets) != len(self.targets):
            return None, (wire.E_BAD_MESSAGE, "expected %d servo targets, got %d" % (len(self.targets), len(targets)))
        for index, target in enumerate(targets):
            if target < -TRAVEL or target > TRAVEL:
                return None, (wire.E_LIMIT, "servo %d target %d outside -1000..1000" % (index, target))
        for index, target in enumerate(targets):
            self.targets[index] = target
        return self.step(), None

    def set_clutch(self, engaged):
        if engaged and not self.armed:
            return None, (wire.E_NOT_ARMED, "not armed: send ARM first")
        self.clutch_engaged = engaged
        self._board.write_clutch(engaged)
        return port.ticks_us(), None

    def step(self):
        """Move every servo toward its target, no faster than the rate limit; returns the time the PWM was written."""
        now = port.ticks_us()
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
        return port.ticks_us()

    def _release(self):
        """Clutch off first (the force goes at once), then park the servos at neutral through the rate limit."""
        self._board.write_clutch(False)
        released_us = port.ticks_us()
        self.clutch_engaged = False
        self.armed = False
        for index in range(len(self.targets)):
            self.targets[index] = 0
        return released_us

    async def run_servos(self):
        """Slew task: steps the servos at the servo rate."""
        while True:
            self.step()
            await asyncio.sleep_ms(self._servo_period_ms)

    async def run_watchdog(self):
        """Sleeps until the heartbeat deadline; releases the instrument if no heartbeat came by then."""
        while True:
            remaining_us = self._timeout_us - time.ticks_diff(port.ticks_us(), self._last_heartbeat_us)
            if remaining_us > 0:
                await asyncio.sleep_ms((remaining_us + 999) // 1000)
            elif self.armed:
                released_us = self._release()
                self.watchdog_tripped = True
                self._on_release(released_us)
            else:
                self._heartbeat_event.clear()
                await self._heartbeat_event.wait()
