"""What a real ESP32 provides and the simulator replaces: the board clock, the host link and the entry point.

The simulator swaps in its own `chip` module (sim/mpy/chip.py) with the same names; every other firmware file
runs unchanged in both places.
"""

import asyncio
import binascii
import os
import sys
import time

import machine
import micropython

RUNTIME = "micropython-esp32"
ticks_us = time.ticks_us  # microseconds, wraps modulo wire.TICKS_PERIOD (2**30)


def boot_id():
    """A random number drawn at power-on (the chip's hardware RNG): the host tells a reset board by it."""
    return int.from_bytes(os.urandom(4), "little")


def unique_id(pinmap):
    """The chip's factory id (its MAC) in hex: the host tells one board from another by it. `pinmap` is for the
    simulator, which has no factory id and derives a stable one from the pin map it runs."""
    return binascii.hexlify(machine.unique_id()).decode()


class HostLink:
    """The framed protocol over the native USB serial port (stdin/stdout of the REPL).

    Ctrl-C handling is switched off, so a 0x03 byte in a frame is data and not a KeyboardInterrupt.
    """

    def __init__(self):
        micropython.kbd_intr(-1)
        self._reader = asyncio.StreamReader(sys.stdin.buffer)
        self._out = sys.stdout.buffer

    async def read(self):
        """The next bytes from the host (at least one)."""
        return await self._reader.read(256)

    def write(self, data):
        """Send bytes to the host; returns False if they could not be sent."""
        return self._out.write(data) == len(data)

    def trusted(self):
        """A USB host may move the instrument: whoever can open the port (its file permissions on the host, the
        physical cable) is the boundary."""
        return True


def host_link(pinmap):
    """USB unless the pin map says "link": "ble"; link_ble (and aioble) load only then."""
    if pinmap.get("link", "usb") == "ble":
        import link_ble

        return link_ble.BleLink(pinmap.get("ble_name", link_ble.DEFAULT_NAME))
    return HostLink()


_hardware_watchdog = None


def start_watchdog(timeout_ms):
    """Arm the chip's watchdog: if the firmware stops feeding it, the chip resets and every output (the clutch
    among them) returns to its safe power-on level."""
    global _hardware_watchdog
    _hardware_watchdog = machine.WDT(timeout=timeout_ms)


def feed_watchdog():
    if _hardware_watchdog is not None:
        _hardware_watchdog.feed()


def run(main):
    """Start the firmware: the board owns the event loop."""
    asyncio.run(main())
