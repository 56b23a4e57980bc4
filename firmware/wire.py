"""Flute X wire protocol: the one definition, run unchanged by the board (MicroPython) and the host (CPython).

A frame on the wire is COBS(body) followed by one 0x00 delimiter, where

    body = type (u8) | seq (u16 LE) | payload | CRC-32 of everything before it (u32 LE)

`seq` counts per message type and direction, so a receiver counts lost frames per stream. Payloads are
little-endian structs (LAYOUTS); some end in a variable tail: a count-prefixed array of i16 or UTF-8 text.
docs/protocol.md documents every byte; its tables are generated from this file (`flutex protocol`). Only
MicroPython-safe features are used here (no typing, no dataclasses).
"""

import struct
from binascii import crc32

VERSION = 3
MAX_BODY = 255  # bytes of body (type..crc) a receiver accepts
MAX_ENCODED = MAX_BODY + 2  # COBS adds one byte per 254 plus one; the delimiter is not counted
DELIMITER = b"\x00"
HEADER = "<BH"
HEADER_SIZE = 3
CRC_SIZE = 4

# Message types. Host -> board: 0x01-0x0F session, 0x20-0x2F commands. Board -> host: 0x02, 0x10-0x1F streams,
# 0x30-0x3F answers and alerts.
HELLO = 0x01
BOARD_INFO = 0x02
HEARTBEAT = 0x03
FLUTE = 0x10
BELT = 0x11
STATUS = 0x12
SERVO = 0x20
CLUTCH = 0x21
ARM = 0x22
ESTOP = 0x23
GUIDE = 0x24
TARE = 0x25
ACK = 0x30
ERROR = 0x31
ALERT = 0x32

NAMES = {
    HELLO: "HELLO",
    BOARD_INFO: "BOARD_INFO",
    HEARTBEAT: "HEARTBEAT",
    FLUTE: "FLUTE",
    BELT: "BELT",
    STATUS: "STATUS",
    SERVO: "SERVO",
    CLUTCH: "CLUTCH",
    ARM: "ARM",
    ESTOP: "ESTOP",
    GUIDE: "GUIDE",
    TARE: "TARE",
    ACK: "ACK",
    ERROR: "ERROR",
    ALERT: "ALERT",
}

TAIL_NONE = 0
TAIL_I16 = 1  # the last fixed field is the count of i16 values that follow
TAIL_TEXT = 2  # UTF-8 text to the end of the payload

# type: (struct format of the fixed part, tail kind, names of what `parse` returns: the fixed fields, then the tail).
# What each field means is documented host-side (flutex.host.commands.protocol), so the board carries names only.
LAYOUTS = {
    HELLO: ("<B", TAIL_NONE, ("version",)),
    BOARD_INFO: (
        "<BHHBBBHI",
        TAIL_TEXT,
        ("version", "flute_hz", "belt_hz", "holes", "fingers", "belt_channels", "watchdog_ms", "boot_id", "details"),
    ),
    HEARTBEAT: ("<", TAIL_NONE, ()),
    FLUTE: ("<IIh", TAIL_NONE, ("t_us", "closed_mask", "mouth_pa")),
    BELT: ("<Ihhhh", TAIL_NONE, ("t_us", "abdomen_pa", "back_waist_pa", "ribs_left_pa", "ribs_right_pa")),
    STATUS: ("<IBB", TAIL_I16, ("t_us", "flags", "count", "positions")),
    SERVO: ("<B", TAIL_I16, ("count", "targets")),
    CLUTCH: ("<B", TAIL_NONE, ("engaged",)),
    ARM: ("<B", TAIL_NONE, ("armed",)),
    ESTOP: ("<B", TAIL_NONE, ("stop",)),
    GUIDE: ("<HHB", TAIL_I16, ("duration_ms", "force_permille", "count", "targets")),
    TARE: ("<", TAIL_NONE, ()),
    ACK: ("<BHI", TAIL_NONE, ("command", "command_seq", "t_us")),
    ERROR: ("<BHB", TAIL_TEXT, ("command", "command_seq", "code", "reason")),
    ALERT: ("<IB", TAIL_TEXT, ("t_us", "code", "reason")),
}

# Fields that are a yes/no (index into the fixed fields): any value but 0 or 1 is a malformed message, so a stray
# byte can never read as "engage".
BOOLEANS = {CLUTCH: 0, ARM: 0, ESTOP: 0}

# STATUS flags
FLAG_ARMED = 0x01
FLAG_CLUTCH = 0x02
FLAG_WATCHDOG = 0x04  # the watchdog has released the instrument since the last ARM
FLAG_ESTOP = 0x08  # an emergency stop (button or ESTOP command) is active
FLAG_GUIDING = 0x10  # a GUIDE is pressing a fingering
FLAG_HELP = 0x20  # the help-me pedal or button is held (the student's request: it moves nothing by itself)

# ERROR codes (answers to a command) and ALERT codes (the board acted on its own) share one numbering
E_BAD_MESSAGE = 1  # wrong length or unknown type
E_VERSION = 2  # protocol version mismatch
E_NOT_ARMED = 3  # actuator command while disarmed
E_LIMIT = 4  # value outside the safety envelope (refused, not clamped)
E_WATCHDOG = 5  # no heartbeat in time: clutch released, servos parked
E_ESTOP = 6  # emergency stop active: everything released until it clears and the host arms again
E_ENGAGE_TIME = 7  # the clutch was engaged longer than allowed: released
E_NO_SESSION = 8  # a message before a successful HELLO (or after the session ended): say HELLO first
E_NOT_PAIRED = 9  # a command that can move the instrument, over a link that is not encrypted and bonded (BLE)

TICKS_PERIOD = 1 << 30  # board clock t_us wraps modulo this (MicroPython's ticks period)


class WireError(ValueError):
    """The documented failure of decoding: a frame or payload that is not valid protocol."""


class CrcError(WireError):
    """A frame whose CRC does not match: corrupted on the way."""


def cobs_encode(data):
    """Byte-stuff `data` (bytes) so it contains no 0x00. Uses bytes.find so the cost is per zero, not per byte."""
    out = bytearray()
    start = 0
    size = len(data)
    while True:
        zero = data.find(b"\x00", start)
        end = size if zero < 0 else zero
        while end - start >= 254:
            out.append(0xFF)
            out += data[start : start + 254]
            start += 254
        out.append(end - start + 1)
        out += data[start:end]
        if zero < 0:
            return bytes(out)
        start = zero + 1


def cobs_decode(data):
    """Inverse of cobs_encode for one frame without its delimiter; raises WireError on malformed input."""
    out = bytearray()
    pos = 0
    size = len(data)
    while pos < size:
        code = data[pos]
        if code == 0:
            raise WireError("zero byte inside a frame")
        end = pos + code
        if end > size:
            raise WireError("COBS block runs past the frame")
        out += data[pos + 1 : end]
        pos = end
        if code != 0xFF and pos < size:
            out.append(0)
    return bytes(out)


def encode(msg_type, seq, fields=(), tail=None):
    """One complete frame (delimiter included) for a message: `fields` in the layout's order (see `ordered`),
    `tail` a tuple of ints or a str per LAYOUTS."""
    fmt, tail_kind, _names = LAYOUTS[msg_type]
    body = struct.pack(HEADER, msg_type, seq & 0xFFFF) + struct.pack(fmt, *fields)
    if tail_kind == TAIL_I16:
        body += struct.pack("<%dh" % len(tail), *tail)
    elif tail_kind == TAIL_TEXT:
        body += tail.encode("utf-8")
    body += struct.pack("<I", crc32(body))
    if len(body) > MAX_BODY:
        raise WireError("message too long")
    return cobs_encode(body) + DELIMITER


def decode_frame(encoded):
    """(type, seq, payload) of one frame without its delimiter; raises WireError if it is not a valid frame."""
    if len(encoded) > MAX_ENCODED:
        raise WireError("frame too long")
    body = cobs_decode(encoded)
    if len(body) < HEADER_SIZE + CRC_SIZE:
        raise WireError("frame too short")
    if len(body) > MAX_BODY:
        raise WireError("frame too long")
    if crc32(body[:-CRC_SIZE]) != struct.unpack("<I", body[-CRC_SIZE:])[0]:
        raise CrcError("CRC mismatch")
    msg_type, seq = struct.unpack_from(HEADER, body, 0)
    return msg_type, seq, body[HEADER_SIZE:-CRC_SIZE]


def parse(msg_type, payload):
    """The fields of a payload as a tuple; with a tail, the tail (tuple of ints or str) is the last item."""
    layout = LAYOUTS.get(msg_type)
    if layout is None:
        raise WireError("unknown message type 0x%02x" % msg_type)
    fmt, tail_kind, _names = layout
    fixed = struct.calcsize(fmt)
    if len(payload) < fixed:
        raise WireError("%s payload too short" % NAMES[msg_type])
    fields = struct.unpack_from(fmt, payload, 0)
    flag = BOOLEANS.get(msg_type)
    if flag is not None and fields[flag] > 1:
        raise WireError("%s value %d is not 0 or 1" % (NAMES[msg_type], fields[flag]))
    rest = payload[fixed:]
    if tail_kind == TAIL_NONE:
        if rest:
            raise WireError("%s payload too long" % NAMES[msg_type])
        return fields
    if tail_kind == TAIL_I16:
        count = fields[-1]
        if len(rest) != 2 * count:
            raise WireError("%s array length does not match its count" % NAMES[msg_type])
        return fields + (struct.unpack("<%dh" % count, rest),)
    return fields + (_text(rest),)


def decode(msg_type, payload):
    """The fields of a payload by name (dict), tail included: for code that reads a message rather than
    forwarding it. Raises WireError as `parse` does."""
    return dict(zip(LAYOUTS[msg_type][2], parse(msg_type, payload)))


def ordered(msg_type, values):
    """The fixed fields of a message in its layout's order, from a dict of them by name (for `encode`); KeyError
    names a missing field."""
    _fmt, tail_kind, names = LAYOUTS[msg_type]
    fixed = names if tail_kind == TAIL_NONE else names[:-1]
    return tuple(values[name] for name in fixed)


def _text(data):
    """UTF-8 text; bytes that are not valid UTF-8 read as "?" rather than failing, so a garbled reason still
    answers its command (MicroPython's str() has no errors="replace")."""
    try:
        return str(data, "utf-8")
    except UnicodeError:
        return "".join(chr(byte) if byte < 0x80 else "?" for byte in data)


class StreamDecoder:
    """Splits a byte stream into frames. Never raises: bad frames are counted and skipped, and decoding
    resynchronises at the next delimiter."""

    def __init__(self):
        self._pending = b""
        self._overflowing = False
        self.crc_errors = 0
        self.framing_errors = 0

    def feed(self, data):
        """Return the list of (type, seq, payload) of the frames completed by `data` (bytes)."""
        frames = []
        buf = self._pending + data if self._pending else bytes(data)
        start = 0
        while True:
            end = buf.find(DELIMITER, start)
            if end < 0:
                break
            if self._overflowing:
                self._overflowing = False
            elif end > start:
                self._take(buf[start:end], frames)
            start = end + 1
        self._pending = buf[start:]
        if len(self._pending) > MAX_ENCODED:
            self._pending = b""
            if not self._overflowing:
                self.framing_errors += 1
            self._overflowing = True
        return frames

    def restart(self):
        """Forget a frame cut off half-way (the link was opened again); the error counts go on."""
        self._pending = b""
        self._overflowing = False

    def _take(self, encoded, frames):
        try:
            frames.append(decode_frame(encoded))
        except CrcError:
            self.crc_errors += 1
        except WireError:
            self.framing_errors += 1
