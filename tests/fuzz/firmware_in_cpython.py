"""The firmware's receiving side in CPython, for fuzzers: the unchanged firmware files on stand-in silicon.

Coverage-guided fuzzing (atheris) instruments CPython code, and a property test wants thousands of inputs a second;
the real MicroPython in the simulator runs the same files, but neither fast enough nor where atheris can see. So
this module stands in for what the simulator's JavaScript provides (`simhw`: clock, pins, UART) and for the two
MicroPython extensions of `time` the firmware uses, then imports the firmware's `app` exactly as the board does,
with the simulator's `machine` and `chip`. Nothing of the firmware is replaced: only the chip under it.
"""

from __future__ import annotations

import sys
import time
import types
from typing import Any

from flutex.firmware import FIRMWARE_DIR, wire
from flutex.hardware import load_pinmap, load_profile
from flutex.sim.board import SIM_DIR

TICKS_PERIOD = wire.TICKS_PERIOD


class Chip:
    """The silicon under the firmware: a clock the fuzzer advances, pins, and a UART that keeps what was sent."""

    def __init__(self) -> None:
        self.now_us = 0
        self.pins: dict[int, int] = {}
        self.sent = bytearray()

    def module(self) -> types.ModuleType:
        simhw = types.ModuleType("simhw")
        simhw.ticks_us = lambda: self.now_us % TICKS_PERIOD
        simhw.boot_id = lambda: 0x5EED
        simhw.pin_read = lambda pin: self.pins.get(pin, 0)
        simhw.pin_write = self.pins.__setitem__
        simhw.uart_write = self._uart_write
        simhw.link_trusted = lambda: True
        simhw.wdt_start = simhw.wdt_feed = lambda *args: None
        return simhw

    def _uart_write(self, hex_text: str) -> bool:
        self.sent += bytes.fromhex(hex_text)
        return True


def _ticks_add(ticks: int, delta: int) -> int:
    return (ticks + delta) % TICKS_PERIOD


def _ticks_diff(newer: int, older: int) -> int:
    return (newer - older + TICKS_PERIOD // 2) % TICKS_PERIOD - TICKS_PERIOD // 2


def load_firmware(chip: Chip, pinmap: dict[str, Any] | None = None) -> Any:
    """A fresh `Firmware` on `chip`, built from the pin map (the shipped one unless given) and its profile as a
    board builds it."""
    sys.modules["simhw"] = chip.module()
    time.ticks_add = _ticks_add  # type: ignore[attr-defined]  # MicroPython's, on CPython's module
    time.ticks_diff = _ticks_diff  # type: ignore[attr-defined]
    for path in (str(FIRMWARE_DIR), str(SIM_DIR / "mpy")):  # the sim's machine.py and chip.py end up first
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    for name in ("chip", "machine", "peripherals", "app", "safety", "sensors", "link", "actuators", "wire"):
        sys.modules.pop(name, None)  # each firmware starts from its own fresh modules, as after a reset
    import app

    pinmap = pinmap or load_pinmap()
    return app.Firmware(pinmap, load_profile(pinmap["profile"]))
