"""Writes wire.json: one frame per message type with edge values, encoded by CPython.

Run once when the protocol changes (`python tests/vectors/make_wire_vectors.py`); the tests then check that both
CPython and the real MicroPython interpreter produce exactly these bytes.
"""

import json
from pathlib import Path

from flutex.firmware import wire

CASES = [
    (wire.HELLO, 0, [wire.VERSION], None),
    (
        wire.BOARD_INFO,
        65535,
        [wire.VERSION, 200, 100, 6, 6, 4, 100, 0xDEADBEEF],
        "id=7cdfa1e2f3a4;board=esp32s3;profile=six_hole;firmware=0.3.0",
    ),
    (wire.HEARTBEAT, 1, [], None),
    (wire.FLUTE, 513, [wire.TICKS_PERIOD - 1, 0x3F, -32768], None),
    (wire.FLUTE, 0, [0, 0, 0], None),
    (wire.BELT, 7, [1000000, 32767, -1, 0, 256], None),
    (wire.STATUS, 2, [12345, wire.FLAG_ARMED | wire.FLAG_CLUTCH, 6], [1000, -1000, 0, 1, -1, 500]),
    (wire.SERVO, 254, [6], [1000, 0, 0, 0, 0, -1000]),
    (wire.CLUTCH, 255, [1], None),
    (wire.ARM, 256, [0], None),
    (wire.ESTOP, 9, [1], None),
    (wire.GUIDE, 10, [1500, 600, 6], [1000, 1000, 0, -1000, 0, 1000]),
    (wire.TARE, 11, [], None),
    (wire.ACK, 3, [wire.SERVO, 254, 4000000], None),
    (wire.ERROR, 4, [wire.SERVO, 9, wire.E_LIMIT], "servo 5 target -2000 outside -1000..1000 (é)"),
    (wire.ALERT, 5, [wire.TICKS_PERIOD - 1, wire.E_WATCHDOG], "no heartbeat in time"),
    (wire.STATUS, 0x0101, [0x01010101, 3, 118], [257] * 118),  # a long run without zeros
]
# Byte stuffing at the 254-byte block boundary, where COBS implementations go wrong.
COBS_CASES = [bytes([1]) * n for n in (0, 1, 253, 254, 255, 508)] + [b"\x00", b"\x00" * 3, b"a\x00" * 200]


def main() -> None:
    vectors = [
        {"type": t, "seq": seq, "fields": fields, "tail": tail, "frame": wire.encode(t, seq, fields, tail).hex()}
        for t, seq, fields, tail in CASES
    ]
    cobs = [{"raw": raw.hex(), "encoded": wire.cobs_encode(raw).hex()} for raw in COBS_CASES]
    path = Path(__file__).with_name("wire.json")
    path.write_text(json.dumps({"frames": vectors, "cobs": cobs}, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(vectors)} vectors in {path}")


if __name__ == "__main__":
    main()
