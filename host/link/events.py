"""Typed, timestamped events that the device client yields: what the instrument sensed or did.

Times are board time in seconds (`t_s`), unwrapped on the host from the board's microsecond clock, so every
stream of one session shares one time base. `seq` is the stream's sequence number as sent by the board. What the
link itself went through (`LinkLost`, `LinkRestored`) happens on the host: `host_s` is `time.monotonic()`.
"""

from __future__ import annotations

from dataclasses import dataclass

BELT_CHANNELS = ("abdomen", "back_waist", "ribs_left", "ribs_right")


@dataclass(frozen=True, slots=True)
class FluteSample:
    """One sample of the flute: which holes are closed and the mouth (breath) pressure."""

    t_s: float
    seq: int
    closed_mask: int  # bit i set = hole i of the profile is closed
    mouth_pa: float  # pressure above ambient, pascals


@dataclass(frozen=True, slots=True)
class BeltSample:
    """One sample of the breath belt, channels in the order of BELT_CHANNELS, pascals above the tare."""

    t_s: float
    seq: int
    channels_pa: tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """What the board said about itself in answer to HELLO."""

    protocol_version: int
    rates_hz: dict[str, int]
    holes: int
    fingers: int
    belt_channels: int
    watchdog_ms: int
    boot_id: int  # drawn at random when the board powered on: a new one means the board restarted
    details: dict[str, str]  # id (the chip's unique id), board, profile, firmware, runtime


@dataclass(frozen=True, slots=True)
class HapticStatus:
    """The safety envelope's state: armed, clutch, watchdog release, e-stop, guiding, servo positions (permille); and
    whether the student holds the help-me pedal or button (a request for the tutor, not a safety state)."""

    t_s: float
    seq: int
    armed: bool
    clutch_engaged: bool
    watchdog_tripped: bool
    emergency_stop: bool
    guiding: bool
    positions: tuple[int, ...]
    help_held: bool = False  # recordings made before the help input read as not held


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The board's answer to one command: applied at board time `t_s`, or refused with a reason."""

    command: str
    seq: int
    accepted: bool
    t_s: float | None = None  # when the board applied it
    code: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BoardAlert:
    """Something the board did on its own, at board time `t_s`, such as a watchdog release (`code`: wire.E_*)."""

    t_s: float
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The link to the board went away (port closed, or the board fell silent or forgot the session); `final` once
    the client has given up reconnecting (or a different board answered)."""

    host_s: float  # time.monotonic() when the client noticed
    reason: str
    final: bool = False


@dataclass(frozen=True, slots=True)
class LinkRestored:
    """The board answers again. `rebooted`: it is the same board after a restart (a new boot id), so its streams
    and clock began again; otherwise the link came back to a board that ran on. Either way it must be armed again."""

    host_s: float  # time.monotonic() when the board answered again
    info: BoardInfo
    rebooted: bool


@dataclass(frozen=True, slots=True)
class LinkTiming:
    """One timing sample of the link, for relating board time to host time: a stream frame (`sent_s` None) or an
    ACK (`board_t_s` when the board applied the command, `sent_s` when the host wrote it). `received_s` is
    `time.monotonic()` taken once per transport read, before decoding; all in seconds."""

    board_t_s: float
    received_s: float
    sent_s: float | None


Event = FluteSample | BeltSample | HapticStatus | CommandResult | BoardAlert | LinkLost | LinkRestored
