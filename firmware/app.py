"""The firmware: sampling tasks at fixed rates, the command handler, status reports and the safety envelope."""

import asyncio
import time

import chip
import peripherals
import safety
import sensors
import wire
from actuators import FingerServo
from link import Link

FIRMWARE_VERSION = "0.3.1"  # 0.3.1: the help-me input (STATUS flag 0x20)
# A session (opened by a HELLO of our protocol version) ends when the host has sent nothing for this long: the board
# then stops streaming and waits for the next HELLO, so a board never streams to a host that is gone.
SESSION_IDLE_MS = 2000
# The help-me pedal or button is read at this rate and believed when two reads in a row agree: a foot switch
# bounces for a few milliseconds, and a press shorter than 20 ms is no request.
HELP_POLL_HZ = 50
# Over a link that is not trusted (BLE without a bond) the board takes nothing but HELLO, which it refuses, and
# ESTOP: stopping must never need permission. Not even a HEARTBEAT, which would feed the watchdog and keep an old
# host's session (and streams) alive for a stranger who connects as it leaves.
NOT_PAIRED = "not paired: in the pairing window (60 s from power-on, e-stop held in), pair this host with the board"


class Firmware:
    def __init__(self, pinmap, profile):
        self.pinmap = pinmap
        self.peripherals = peripherals.Peripherals(pinmap, profile)
        self.flute = sensors.Flute(self.peripherals)
        self.belt = sensors.Belt(self.peripherals)
        cfg = pinmap["servos"]
        servos = [
            FingerServo(pwm, finger, cfg["min_pulse_us"], cfg["max_pulse_us"])
            for pwm, finger in zip(self.peripherals.servo_pwms, self.peripherals.servo_fingers)
        ]
        self.envelope = safety.Envelope(self.peripherals, servos, self._on_alert, self._report_change)
        self.link = Link(self.peripherals.link)
        self.boot_id = chip.boot_id()
        self.unique_id = chip.unique_id(pinmap)
        self.session = False
        # the envelope's state as the last STATUS told it: a change of flags or targets is reported at once
        self._reported_flags = -1
        self._reported_targets = []
        self.help_held = False
        self._help_read = False
        self._last_host_us = chip.ticks_us()
        self._handlers = {
            wire.HEARTBEAT: self._heartbeat,
            wire.ARM: self._arm,
            wire.SERVO: self._servo,
            wire.CLUTCH: self._clutch,
            wire.ESTOP: self._estop,
            wire.GUIDE: self._guide,
            wire.TARE: self._tare,
        }

    # --- commands -------------------------------------------------------------------------------------------

    def handle(self, msg_type, seq, payload):
        if msg_type == wire.HELLO:  # only its first byte: a host of any version must get a clear answer
            self._hello(seq, payload[0] if payload else 0)
            return
        handler = self._handlers.get(msg_type)
        if handler is None:
            self.link.refuse(msg_type, seq, wire.E_BAD_MESSAGE, "the board does not accept %s" % _name(msg_type))
            return
        if not self.session:
            self.link.refuse(msg_type, seq, wire.E_NO_SESSION, "no session: send HELLO first")
            return
        if msg_type != wire.ESTOP and not self.link.trusted():  # a new connection inside an old host's session
            self.link.refuse(msg_type, seq, wire.E_NOT_PAIRED, NOT_PAIRED)
            return
        try:
            fields = wire.decode(msg_type, payload)
        except wire.WireError as error:
            self.link.refuse(msg_type, seq, wire.E_BAD_MESSAGE, str(error))
            return
        self._last_host_us = chip.ticks_us()
        handler(seq, fields)
        self._report_change()

    def _hello(self, seq, version):
        """Every HELLO starts a new session, disarmed: whoever connects must ARM before anything moves. A host of
        another version, or on a link that is not trusted (BLE without a bond), gets BOARD_INFO, so it can say
        which board refused it and why, and an ERROR, but no session: no streams, no commands."""
        self.envelope.arm(False)
        self.session = version == wire.VERSION and self.link.trusted()
        self._last_host_us = chip.ticks_us()
        if version != wire.VERSION:  # the refusal comes first, so a host knows why before BOARD_INFO ends its wait
            reason = "host speaks protocol v%d, board v%d" % (version, wire.VERSION)
            self.link.refuse(wire.HELLO, seq, wire.E_VERSION, reason)
        elif not self.session:
            self.link.refuse(wire.HELLO, seq, wire.E_NOT_PAIRED, NOT_PAIRED)
        rates = self.pinmap["rates_hz"]
        info = {
            "version": wire.VERSION,
            "flute_hz": rates["flute"],
            "belt_hz": rates["belt"],
            "holes": len(self.peripherals.touch_pads),
            "fingers": len(self.peripherals.servo_pwms),
            "belt_channels": len(self.pinmap["pressure"]["belt"]),
            "watchdog_ms": self.pinmap["watchdog_ms"],
            "boot_id": self.boot_id,
        }
        details = "id=%s;board=%s;profile=%s;firmware=%s;runtime=%s" % (
            self.unique_id,
            self.pinmap["board"],
            self.peripherals.profile["name"],
            FIRMWARE_VERSION,
            chip.RUNTIME,
        )
        self.link.send(wire.BOARD_INFO, wire.ordered(wire.BOARD_INFO, info), details)
        if self.session:
            self.send_status()

    def _end_idle_session(self):
        """The host has been silent for SESSION_IDLE_MS: stop streaming until the next HELLO."""
        if self.session and time.ticks_diff(chip.ticks_us(), self._last_host_us) > SESSION_IDLE_MS * 1000:
            self.session = False
            self.envelope.arm(False)

    def _heartbeat(self, seq, fields):
        self.envelope.heartbeat()

    def _arm(self, seq, fields):
        self._answer(wire.ARM, seq, self.envelope.arm(fields["armed"] != 0))

    def _estop(self, seq, fields):
        self._answer(wire.ESTOP, seq, self.envelope.emergency_stop(fields["stop"] != 0))

    def _guide(self, seq, fields):
        outcome = self.envelope.guide(fields["targets"], fields["duration_ms"], fields["force_permille"])
        self._answer(wire.GUIDE, seq, outcome)

    def _tare(self, seq, fields):
        sensors.tare_all(self.flute, self.belt, self.pinmap["pressure"]["tare_samples"])
        self.link.ack(wire.TARE, seq, chip.ticks_us())

    def _servo(self, seq, fields):
        self._answer(wire.SERVO, seq, self.envelope.set_targets(fields["targets"]))

    def _clutch(self, seq, fields):
        self._answer(wire.CLUTCH, seq, self.envelope.set_clutch(fields["engaged"] != 0))

    def _answer(self, msg_type, seq, outcome):
        applied_us, refusal = outcome
        if refusal is None:
            self.link.ack(msg_type, seq, applied_us)
        else:
            self.link.refuse(msg_type, seq, refusal[0], refusal[1])

    def _on_alert(self, code, reason):
        """The envelope acted on its own (watchdog, e-stop button, engage time): tell the host at once."""
        if self.session:
            self.link.alert(chip.ticks_us(), code, reason)
            self._report_change()

    # --- streams: sent only during a session -------------------------------------------------------------------

    def send_status(self):
        """STATUS at its period; fields in the layout's order (t_us, flags, count; positions)."""
        self._end_idle_session()
        if not self.session:
            return
        envelope = self.envelope
        positions = envelope.positions
        flags = self.flags()
        self.link.send(wire.STATUS, (chip.ticks_us(), flags, len(positions)), positions)
        self._reported_flags = flags
        self._reported_targets = list(envelope.targets)

    def _report_change(self):
        """STATUS at once when a flag or a servo target changed since the last one, not only at the next period."""
        if self.flags() != self._reported_flags or self.envelope.targets != self._reported_targets:
            self.send_status()

    def flags(self):
        """STATUS's flags: the envelope's state, and whether the help-me input is held. The host turns a press into
        guidance through the envelope like any other command; the input itself moves nothing."""
        return self.envelope.flags() | (wire.FLAG_HELP if self.help_held else 0)

    def poll_help(self):
        """Read the help-me input; a change two reads in a row agree on is reported at once."""
        pressed = self.peripherals.help.pressed()
        if pressed == self._help_read:
            self.help_held = pressed
        self._help_read = pressed
        self._report_change()

    def sample_flute(self):
        if not self.session:
            return
        flute = self.flute  # the hot path: fields in the layout's order (t_us, closed_mask, mouth_pa), no dict
        self.link.send(wire.FLUTE, (chip.ticks_us(), flute.closed_mask(), flute.mouth.read_pa()))

    def sample_belt(self):
        if not self.session:
            return
        t_us = chip.ticks_us()
        abdomen, back, left, right = self.belt.read_pa()  # the layout's order, as BELT_CHANNELS on the host
        self.link.send(wire.BELT, (t_us, abdomen, back, left, right))

    async def every(self, rate_hz, action):
        """Run `action` at a fixed rate on absolute deadlines, so lateness in one period is not carried on."""
        period_us = 1000000 // rate_hz
        deadline = chip.ticks_us()
        while True:
            action()
            deadline = time.ticks_add(deadline, period_us)
            wait_us = time.ticks_diff(deadline, chip.ticks_us())
            if wait_us < -period_us:  # a whole period behind: start again from now rather than burst
                deadline = chip.ticks_us()
            await asyncio.sleep_ms((wait_us + 999) // 1000 if wait_us > 0 else 0)

    async def main(self):
        sensors.tare_all(self.flute, self.belt, self.pinmap["pressure"]["tare_samples"])
        chip.start_watchdog(self.pinmap["safety"]["hardware_watchdog_ms"])
        rates = self.pinmap["rates_hz"]
        asyncio.create_task(self.envelope.run_servos())
        asyncio.create_task(self.envelope.run_watchdog())
        asyncio.create_task(self.every(rates["flute"], self.sample_flute))
        asyncio.create_task(self.every(rates["belt"], self.sample_belt))
        asyncio.create_task(self.every(rates["status"], self.send_status))
        asyncio.create_task(self.every(HELP_POLL_HZ, self.poll_help))
        await self.link.serve(self.handle)


def _name(msg_type):
    return wire.NAMES.get(msg_type, "message type 0x%02x" % msg_type)


async def main():
    await Firmware(
        peripherals.load_json(peripherals.PINMAP_PATH), peripherals.load_json(peripherals.PROFILE_PATH)
    ).main()
