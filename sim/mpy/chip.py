"""The simulator's `chip`: the board clock, the host link and the entry point on virtual silicon.

Same names as firmware/chip.py. Bytes cross to JavaScript as hex strings (the fastest path in the WebAssembly
port of MicroPython). The simulator awaits `app.main()` itself, since that port has no `asyncio.run`.
"""

import binascii
import json

import simhw

RUNTIME = "micropython-wasm"
ticks_us = simhw.ticks_us  # microseconds from performance.now(), modulo 2**30 like MicroPython's ticks


boot_id = simhw.boot_id  # drawn once per simulated power-on


def unique_id(pinmap):
    """A virtual chip has no factory id: one derived from its pin map is the same at every power-on of this
    simulated board and differs for a board wired (or named) otherwise."""
    return "sim-%08x" % binascii.crc32(json.dumps(pinmap).encode())


def start_watchdog(timeout_ms):
    """The virtual chip's watchdog: starved, it resets the board (outputs low) and the simulator reports it."""
    simhw.wdt_start(timeout_ms)


feed_watchdog = simhw.wdt_feed


def host_link(pinmap):
    """The simulated board has no radio: its link is always the UART (the BLE path is tested through bumble)."""
    return HostLink()


class HostLink:
    async def read(self):
        return binascii.unhexlify(await simhw.uart_read())

    def write(self, data):
        return simhw.uart_write(binascii.hexlify(data).decode())

    def trusted(self):
        """As on USB by default; a simulated BLE link says whether its connection is encrypted and bonded."""
        return simhw.link_trusted()
