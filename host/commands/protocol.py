"""`flutex protocol`: the wire protocol's message tables, generated from `firmware/wire.py`.

The bytes and the field names are defined once, in `wire.py`, which the board runs; what each one means is here,
on the host, so the board does not carry the prose in its RAM. `docs/protocol.md` holds the tables between two
marker comments: `--write` regenerates them, `--check` fails when they are stale (as `flutex wiring --check`).
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

from flutex.firmware import FIRMWARE_DIR, wire
from flutex.host.commands.generated import write_or_check
from flutex.host.errors import FlutexError

PROTOCOL_DOC_PATH = FIRMWARE_DIR.parent / "docs" / "protocol.md"
BEGIN = "<!-- protocol-tables: generated from firmware/wire.py by `flutex protocol --write`; do not edit -->"
END = "<!-- protocol-tables: end -->"
HOST_TO_BOARD = "H"
BOARD_TO_HOST = "B"
TYPE_NAMES = {"B": "u8", "H": "u16", "I": "u32", "h": "i16"}
TRAVEL = "permille of the finger's travel: -1000 lifted, 0 neutral (released), +1000 pressed"

# message name: (direction, what it is for)
MESSAGES: dict[str, tuple[str, str]] = {
    "HELLO": (HOST_TO_BOARD, "open a session; answered by BOARD_INFO (and ERROR if refused)"),
    "BOARD_INFO": (BOARD_TO_HOST, "the board describes itself, in answer to every HELLO"),
    "HEARTBEAT": (HOST_TO_BOARD, "keeps the watchdog fed while armed; never answered"),
    "FLUTE": (BOARD_TO_HOST, "the flute's holes and mouth pressure, at `flute_hz`"),
    "BELT": (BOARD_TO_HOST, "the breath belt's pressures, at `belt_hz`"),
    "STATUS": (BOARD_TO_HOST, "the safety envelope's state, at 10 Hz and at once on every change"),
    "SERVO": (HOST_TO_BOARD, "set every finger servo's target"),
    "CLUTCH": (HOST_TO_BOARD, "engage or release the clutch"),
    "ARM": (HOST_TO_BOARD, "arm (actuator commands accepted) or disarm (everything released)"),
    "ESTOP": (HOST_TO_BOARD, "the host's emergency stop"),
    "GUIDE": (HOST_TO_BOARD, "press a fingering with the clutch engaged for a bounded time"),
    "TARE": (HOST_TO_BOARD, "take the ambient reading of every pressure channel again (instrument at rest)"),
    "ACK": (BOARD_TO_HOST, "a command was carried out"),
    "ERROR": (BOARD_TO_HOST, "a command (or HELLO) was refused"),
    "ALERT": (BOARD_TO_HOST, "the board acted on its own (watchdog, e-stop button, engage time)"),
}

# message name: {field name: meaning}; every field of every layout, the tail included
FIELDS: dict[str, dict[str, str]] = {
    "HELLO": {"version": "the host's protocol version"},
    "BOARD_INFO": {
        "version": "the board's protocol version (always the first byte, whatever the version)",
        "flute_hz": "FLUTE frames per second",
        "belt_hz": "BELT frames per second",
        "holes": "holes of the instrument profile (bits of `closed_mask`)",
        "fingers": "finger servos (values in SERVO, GUIDE and STATUS)",
        "belt_channels": "pressure channels of the belt",
        "watchdog_ms": "the watchdog's timeout: armed, the board releases this long after the last HEARTBEAT",
        "boot_id": "drawn at random at power-on: a new one means the board restarted",
        "details": "`key=value;...`: `id` (the chip's unique id, hex), `board`, `profile`, `firmware`, `runtime`",
    },
    "FLUTE": {
        "t_us": "board time of the sample, µs modulo 2^30",
        "closed_mask": "bit i set = hole i of the profile is closed",
        "mouth_pa": "mouth (breath) pressure, Pa above ambient",
    },
    "BELT": {
        "t_us": "board time of the sample, µs modulo 2^30",
        "abdomen_pa": "abdomen channel, Pa above the tare",
        "back_waist_pa": "back waist channel, Pa above the tare",
        "ribs_left_pa": "left ribs channel, Pa above the tare",
        "ribs_right_pa": "right ribs channel, Pa above the tare",
    },
    "STATUS": {
        "t_us": "board time of the report, µs modulo 2^30",
        "flags": "STATUS flags (below)",
        "count": "servo positions that follow (the board's fingers)",
        "positions": f"each servo's position now, {TRAVEL}",
    },
    "SERVO": {
        "count": "targets that follow: must equal the board's fingers",
        "targets": f"one target per finger, {TRAVEL}; accepted -1000 .. `max_press_permille` (pin map)",
    },
    "CLUTCH": {"engaged": "1 engage (armed only), 0 release"},
    "ARM": {"armed": "1 arm, 0 disarm"},
    "ESTOP": {"stop": "1 stop now (latched), 0 clear the host's stop"},
    "GUIDE": {
        "duration_ms": "how long to hold the fingering: 1 .. `max_guide_ms`",
        "force_permille": "scales the presses: 0 .. 1000",
        "count": "targets that follow: must equal the board's fingers",
        "targets": f"the fingering, {TRAVEL}; checked as sent, then presses scaled by force",
    },
    "ACK": {
        "command": "type of the command carried out",
        "command_seq": "its seq",
        "t_us": "board time when it was applied, µs modulo 2^30",
    },
    "ERROR": {
        "command": "type of the refused message",
        "command_seq": "its seq",
        "code": "why (codes below)",
        "reason": "why, in words (UTF-8)",
    },
    "ALERT": {
        "t_us": "board time when the board acted, µs modulo 2^30",
        "code": "what happened (codes below)",
        "reason": "what happened, in words (UTF-8)",
    },
}

FLAGS: dict[str, str] = {
    "FLAG_ARMED": "armed",
    "FLAG_CLUTCH": "clutch engaged",
    "FLAG_WATCHDOG": "the watchdog released the instrument since the last ARM",
    "FLAG_ESTOP": "an emergency stop is active (button or ESTOP)",
    "FLAG_GUIDING": "a GUIDE is pressing a fingering",
    "FLAG_HELP": "the help-me pedal or button is held (a request for the tutor; it moves nothing)",
}

CODES: dict[str, str] = {
    "E_BAD_MESSAGE": "wrong length, wrong number of servo targets, or a type the board does not accept",
    "E_VERSION": "the host's protocol version differs (answers HELLO)",
    "E_NOT_ARMED": "an actuator command while disarmed",
    "E_LIMIT": "a value outside the safety envelope (refused, never clamped)",
    "E_WATCHDOG": "ALERT: no heartbeat in time: clutch released, servos parked; ARM again",
    "E_ESTOP": "emergency stop active: everything released; ARM is refused until the button is up and ESTOP 0 sent",
    "E_ENGAGE_TIME": "ALERT: the clutch was engaged longer than `max_engage_ms` at a stretch: released",
    "E_NO_SESSION": "a message other than HELLO outside a session (after power-on, a reset, or 2 s of silence)",
    "E_NOT_PAIRED": "a link the board does not trust (BLE without a bond): only ESTOP is taken",
}


def constants(prefix: str) -> dict[str, int]:
    """wire's constants whose names start with `prefix` (FLAG_, E_), by value."""
    found = {name: value for name, value in vars(wire).items() if name.startswith(prefix) and isinstance(value, int)}
    return dict(sorted(found.items(), key=lambda item: item[1]))


def _field_rows(msg_type: int) -> list[tuple[str, str, str]]:
    """(offset in the payload, name, type) of each field of a message, the tail last."""
    fmt, tail_kind, names = wire.LAYOUTS[msg_type]
    rows = []
    offset = 0
    for code, name in zip(fmt[1:], names, strict=False):
        rows.append((str(offset), name, TYPE_NAMES[code]))
        offset += struct.calcsize("<" + code)
    if tail_kind == wire.TAIL_I16:
        rows.append((str(offset), names[-1], "count x i16"))
    elif tail_kind == wire.TAIL_TEXT:
        rows.append((str(offset), names[-1], "UTF-8 to the end"))
    return rows


def render_tables() -> str:
    """The generated part of docs/protocol.md (markers excluded): the same wire.py always gives the same text."""
    lines = [
        f"Protocol version **{wire.VERSION}** (`wire.VERSION`). Direction: H = host to board, B = board to host.",
        "",
        "| type | name | dir | payload bytes | what for |",
        "|---|---|---|---|---|",
    ]
    for msg_type, name in sorted(wire.NAMES.items()):
        direction, meaning = MESSAGES[name]
        fmt, tail_kind, _names = wire.LAYOUTS[msg_type]
        size = str(struct.calcsize(fmt)) + ("" if tail_kind == wire.TAIL_NONE else " + tail")
        lines.append(f"| 0x{msg_type:02X} | {name} | {direction} | {size} | {meaning} |")
    lines += ["", "Fields, little-endian, at their offset in the payload:", ""]
    lines += ["| message | offset | field | type | meaning |", "|---|---|---|---|---|"]
    for msg_type, name in sorted(wire.NAMES.items()):
        rows = _field_rows(msg_type)
        if not rows:
            lines.append(f"| {name} | | | | (no payload) |")
        for offset, field, kind in rows:
            lines.append(f"| {name} | {offset} | `{field}` | {kind} | {FIELDS[name][field]} |")
    lines += ["", "**STATUS flags**", "", "| bit | name | meaning |", "|---|---|---|"]
    lines += [f"| 0x{value:02X} | {name} | {FLAGS[name]} |" for name, value in constants("FLAG_").items()]
    lines += ["", "**ERROR and ALERT codes**", "", "| code | name | meaning |", "|---|---|---|"]
    lines += [f"| {value} | {name} | {CODES[name]} |" for name, value in constants("E_").items()]
    return "\n".join(lines) + "\n"


def updated_doc(doc: str, tables: str) -> str:
    """`doc` with the text between the markers replaced by `tables`; FlutexError if the markers are missing."""
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise FlutexError(
            f"the protocol doc lacks the marker lines {BEGIN!r} and {END!r}: put them back around the tables"
        )
    return doc[: start + len(BEGIN)] + "\n" + tables + doc[end:]


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = "Print the wire protocol's message tables, or write or check them in docs/protocol.md."
    parser.add_argument("--doc", type=Path, default=PROTOCOL_DOC_PATH, help="the doc (default docs/protocol.md)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="update the tables in --doc")
    action.add_argument("--check", action="store_true", help="write nothing; exit 1 if --doc's tables are stale")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tables = render_tables()
    if not (args.write or args.check):
        print(tables, end="")
        return 0
    if not args.doc.is_file():
        raise FlutexError(f"{args.doc} does not exist: give the protocol doc with --doc")
    updated = updated_doc(args.doc.read_text(), tables)
    return write_or_check(
        args.doc, updated, args.check, "firmware/wire.py", f"flutex protocol --write --doc {args.doc}"
    )
