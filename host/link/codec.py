"""The meaning of the board's frames: a payload becomes a typed event, read by the field names of `wire.LAYOUTS`.

The codec knows nothing of the link (ports, reconnects, waiting for answers); it unwraps the board's clock, so every
stream of a session shares one time base, and it is the one place where a field name of the protocol meets an event.
"""

from __future__ import annotations

from collections.abc import Callable

from flutex.firmware import wire
from flutex.host.errors import FlutexError
from flutex.host.link.events import (
    BELT_CHANNELS,
    BeltSample,
    BoardAlert,
    BoardInfo,
    CommandResult,
    FluteSample,
    HapticStatus,
)

BELT_FIELDS = tuple(f"{channel}_pa" for channel in BELT_CHANNELS)  # BELT's fields, in BELT_CHANNELS's order
Decoded = FluteSample | BeltSample | HapticStatus | CommandResult | BoardAlert


class ProtocolMismatch(FlutexError):
    """The board speaks another protocol version."""


class BoardClock:
    """Unwraps the board's microsecond clock (modulo 2**30) into one monotonic time base for all streams.

    Each stamp is placed nearest to the previous one, so frames of different streams that arrive slightly out of
    order unwrap correctly. After a board restart its clock begins again near zero: `restart` makes the time base
    carry on from where it was instead of jumping back (or, across a wrap, minutes ahead)."""

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._last_us = 0
        self._restart_at_us: int | None = None

    def unwrap_us(self, raw_us: int) -> int:
        if self._last_raw is not None:
            step = (raw_us - self._last_raw) % wire.TICKS_PERIOD
            if step >= wire.TICKS_PERIOD // 2:
                step -= wire.TICKS_PERIOD
            self._last_us += step
        elif self._restart_at_us is not None:
            self._last_us = self._restart_at_us
        else:
            self._last_us = raw_us
        self._last_raw = raw_us
        return self._last_us

    def restart(self, elapsed_us: int) -> None:
        """The board's clock began again: its next stamp reads `elapsed_us` after the last one seen."""
        if self._last_raw is not None:
            self._restart_at_us = self._last_us + max(0, elapsed_us)
            self._last_raw = None


class Codec:
    """Payloads of the board's streams, answers and alerts to events (BOARD_INFO: `board_info`). `decode` raises
    `wire.WireError` for a malformed payload."""

    def __init__(self) -> None:
        self.clock = BoardClock()
        self._readers: dict[int, Callable[[int, dict], Decoded]] = {
            wire.FLUTE: self._flute,
            wire.BELT: self._belt,
            wire.STATUS: self._status,
            wire.ACK: self._ack,
            wire.ERROR: self._error,
            wire.ALERT: self._alert,
        }

    def decode(self, msg_type: int, seq: int, payload: bytes) -> Decoded | None:
        """The event a frame carries; None for a type the board does not send (an echo of the host's own)."""
        reader = self._readers.get(msg_type)
        return None if reader is None else reader(seq, wire.decode(msg_type, payload))

    def seconds(self, raw_us: int) -> float:
        return self.clock.unwrap_us(raw_us) / 1e6

    def _flute(self, seq: int, fields: dict) -> FluteSample:
        return FluteSample(self.seconds(fields["t_us"]), seq, fields["closed_mask"], float(fields["mouth_pa"]))

    def _belt(self, seq: int, fields: dict) -> BeltSample:
        abdomen, back_waist, ribs_left, ribs_right = (float(fields[name]) for name in BELT_FIELDS)
        return BeltSample(self.seconds(fields["t_us"]), seq, (abdomen, back_waist, ribs_left, ribs_right))

    def _status(self, seq: int, fields: dict) -> HapticStatus:
        flags = fields["flags"]
        return HapticStatus(
            self.seconds(fields["t_us"]),
            seq,
            armed=bool(flags & wire.FLAG_ARMED),
            clutch_engaged=bool(flags & wire.FLAG_CLUTCH),
            watchdog_tripped=bool(flags & wire.FLAG_WATCHDOG),
            emergency_stop=bool(flags & wire.FLAG_ESTOP),
            guiding=bool(flags & wire.FLAG_GUIDING),
            positions=fields["positions"],
            help_held=bool(flags & wire.FLAG_HELP),
        )

    def _ack(self, seq: int, fields: dict) -> CommandResult:
        applied_s = self.seconds(fields["t_us"])
        return CommandResult(message_name(fields["command"]), fields["command_seq"], True, applied_s)

    def _error(self, seq: int, fields: dict) -> CommandResult:
        command = message_name(fields["command"])
        return CommandResult(command, fields["command_seq"], False, code=fields["code"], reason=fields["reason"])

    def _alert(self, seq: int, fields: dict) -> BoardAlert:
        return BoardAlert(self.seconds(fields["t_us"]), fields["code"], fields["reason"])


def board_info(payload: bytes) -> BoardInfo:
    """The answer to HELLO. Its first byte is the version whatever the layout, so a board of another version is
    named as such even when the rest of its BOARD_INFO means nothing to this host."""
    version = payload[0] if payload else 0
    if version != wire.VERSION:
        raise ProtocolMismatch(
            f"the board speaks protocol v{version} and this host v{wire.VERSION}: "
            "flash the firmware that matches this flutex (`flutex flash`), or update flutex"
        )
    fields = wire.decode(wire.BOARD_INFO, payload)
    details = dict(item.split("=", 1) for item in fields["details"].split(";") if "=" in item)
    return BoardInfo(
        protocol_version=version,
        rates_hz={"flute": fields["flute_hz"], "belt": fields["belt_hz"]},
        holes=fields["holes"],
        fingers=fields["fingers"],
        belt_channels=fields["belt_channels"],
        watchdog_ms=fields["watchdog_ms"],
        boot_id=fields["boot_id"],
        details=details,
    )


def message_name(msg_type: int) -> str:
    return wire.NAMES.get(msg_type, hex(msg_type))
