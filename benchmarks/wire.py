"""Per-frame cost of the wire protocol on both sides: CPython (host) and the real MicroPython (board, WebAssembly).

Prints microseconds per FLUTE frame for encode and decode, and each as a ratio to a baseline run in the same
process: the bare struct.pack + CRC-32 of the same message (no byte stuffing, no framing); and the cost of reading
a payload's fields by name (`wire.decode`), which the host's codec adds to each frame.
Usage: python benchmarks/wire.py [--frames N]
"""

import argparse
import json
import subprocess
import sys
import time

from flutex.firmware import FIRMWARE_DIR
from flutex.sim.board import run_micropython

# The same measurement runs in both interpreters; MicroPython's ticks are coarse here, so many frames per timing.
MEASURE = """
import struct, time, wire
from binascii import crc32
def clock_us():
    return time.ticks_us() if hasattr(time, "ticks_us") else int(time.perf_counter() * 1e6)
def per_frame_us(action, n):
    start = clock_us()
    for i in range(n):
        action(i)
    return (clock_us() - start) / n
N = {frames}
frame = wire.encode(wire.FLUTE, 1, (123456, 0x2A, 600))
decoder = wire.StreamDecoder()
payload = wire.decode_frame(frame[:-1])[2]
def baseline(i):
    body = struct.pack("<BHIIh", wire.FLUTE, i & 0xFFFF, i, 0x2A, 600)
    return body + struct.pack("<I", crc32(body))
result = {{
    "baseline_us": per_frame_us(baseline, N),
    "encode_us": per_frame_us(lambda i: wire.encode(wire.FLUTE, i & 0xFFFF, (i, 0x2A, 600)), N),
    "decode_us": per_frame_us(lambda i: decoder.feed(frame), N),
    "names_us": per_frame_us(lambda i: wire.decode(wire.FLUTE, payload), N),
}}
print(json.dumps(result))
"""


def cpython(frames: int) -> dict:
    """The host's side: CPython importing the very same firmware/wire.py."""
    code = "import json\n" + MEASURE.format(frames=frames)
    done = subprocess.run([sys.executable, "-c", code], cwd=FIRMWARE_DIR, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def micropython(frames: int) -> dict:
    code = "import json\n" + MEASURE.format(frames=frames)
    return json.loads(run_micropython({"/wire.py": FIRMWARE_DIR / "wire.py"}, code)[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000, help="frames per timing (default 20000)")
    args = parser.parse_args()
    started = time.perf_counter()
    header = f"{'side':<24}{'encode us':>10}{'decode us':>10}{'baseline us':>12}{'enc/base':>10}{'dec/base':>10}"
    print(header + f"{'by name us':>12}")
    for side, measure in (("host (CPython)", cpython), ("board (MicroPython wasm)", micropython)):
        r = measure(args.frames)
        print(
            f"{side:<24}{r['encode_us']:>10.2f}{r['decode_us']:>10.2f}{r['baseline_us']:>12.2f}"
            f"{r['encode_us'] / r['baseline_us']:>10.2f}{r['decode_us'] / r['baseline_us']:>10.2f}"
            f"{r['names_us']:>12.2f}"
        )
    print(f"({args.frames} FLUTE frames per timing, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
