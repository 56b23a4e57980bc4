"""The firmware files in the real MicroPython: same bytes as CPython, and every file compiles with mpy-cross."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flutex.firmware import FIRMWARE_DIR
from flutex.host.errors import FlutexError
from flutex.sim.board import firmware_files, run_micropython

VECTORS_PATH = Path(__file__).parent / "vectors" / "wire.json"

CHECK_VECTORS = """
import json, binascii, wire
vectors = json.load(open("/vectors.json"))
for v in vectors["frames"]:
    tail = tuple(v["tail"]) if isinstance(v["tail"], list) else v["tail"]
    got = binascii.hexlify(wire.encode(v["type"], v["seq"], v["fields"], tail)).decode()
    named = wire.decode(v["type"], wire.decode_frame(binascii.unhexlify(v["frame"])[:-1])[2])
    print("frame", v["type"], got == v["frame"], list(wire.ordered(v["type"], named)) == v["fields"])
for v in vectors["cobs"]:
    got = binascii.hexlify(wire.cobs_encode(binascii.unhexlify(v["raw"]))).decode()
    print("cobs", len(v["raw"]) // 2, got == v["encoded"])
"""


def test_micropython_produces_the_same_frames_as_cpython():
    files = {"/wire.py": FIRMWARE_DIR / "wire.py", "/vectors.json": VECTORS_PATH}
    lines = run_micropython(files, CHECK_VECTORS)
    vectors = json.loads(VECTORS_PATH.read_text())
    assert len(lines) == len(vectors["frames"]) + len(vectors["cobs"])
    frames, cobs = lines[: len(vectors["frames"])], lines[len(vectors["frames"]) :]
    assert all(line.startswith("frame ") and line.endswith(" True True") for line in frames), frames
    assert all(line.startswith("cobs ") and line.endswith(" True") for line in cobs), cobs


def test_every_firmware_module_imports_under_micropython():
    """Catches CPython-only features (they fail at import, not in mpy-cross)."""
    names = sorted(p.stem for p in FIRMWARE_DIR.glob("*.py") if p.name not in ("__init__.py", "main.py"))
    code = "".join(f"import {name}\n" for name in names) + f"print('imported', {len(names)})\n"
    assert run_micropython(firmware_files(), code) == [f"imported {len(names)}"]


@pytest.mark.parametrize("source", sorted(FIRMWARE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_firmware_compiles_with_mpy_cross(source, tmp_path):
    output = tmp_path / (source.stem + ".mpy")
    done = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "-o", str(output), str(source)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert output.read_bytes()[:1] == b"M"


def test_a_starved_hardware_watchdog_resets_the_simulated_board():
    """The virtual chip models the ESP32's watchdog: when the task that feeds it dies while the rest runs on, the
    board is reset (outputs low). (A firmware that blocks the interpreter outright also blocks the simulator's
    clock, so only the real chip can catch that case.)"""
    start = "import asyncio, chip\nchip.start_watchdog(50)\n"
    starved = start + "await asyncio.sleep_ms(200)\nprint('alive')\n"
    with pytest.raises(FlutexError, match="hardware watchdog reset"):
        run_micropython(firmware_files(), starved)
    fed = start + "for _ in range(10):\n    chip.feed_watchdog()\n    await asyncio.sleep_ms(20)\nprint('alive')\n"
    assert run_micropython(firmware_files(), fed)[-1] == "alive"
