"""The host link over Bluetooth LE: the same framed bytes through the Nordic UART Service (NUS), with `aioble`.

`BleLink` has HostLink's interface (async read() -> bytes, write(data) -> bool), so `link.Link` runs unchanged
over USB or BLE. The host writes to RX (write without response); the board notifies on TX, each notification at
most MTU - 3 bytes, so a frame longer than that goes out in several notifications and the host's stream decoder
joins them at the 0x00 delimiters. The board advertises its name until a host connects, and again after every
disconnect.

UNTESTED WITHOUT A RADIO: the simulator has no radio, so nothing here has run on silicon. What runs in the tests
is the module's import under MicroPython, its compilation by mpy-cross, and `chunks` and the UUIDs, which the host
imports (flutex.ble) and tests over bumble's virtual link. Needs micropython-lib's aioble on the board
(`mpremote mip install aioble`). `aioble` and `bluetooth` are imported when a BleLink is made, not at import time,
so the simulator and CPython can import this module.
"""

import asyncio

NUS_SERVICE = "6E400001-B5A3-F393-E0A9-E50E24DCCA9E"
NUS_RX = "6E400002-B5A3-F393-E0A9-E50E24DCCA9E"  # the host writes frames here
NUS_TX = "6E400003-B5A3-F393-E0A9-E50E24DCCA9E"  # the board notifies frames here
ATT_HEADER_SIZE = 3  # opcode and handle in front of each notification or write: payload = MTU - 3
DEFAULT_MTU = 23  # every BLE link starts at this ATT MTU until the central asks for more
PREFERRED_MTU = 247  # what the board accepts: a 257-byte frame then takes two notifications
ADVERTISE_INTERVAL_US = 100_000
DEFAULT_NAME = "FluteX"  # short: with the 128-bit service UUID it still fits one 31-byte advertisement


def chunks(data, mtu):
    """`data` cut into pieces that each fit one notification or write without response at ATT MTU `mtu`."""
    size = mtu - ATT_HEADER_SIZE
    return [data[start : start + size] for start in range(0, len(data), size)]


class BleLink:
    """HostLink over NUS for one host at a time. Frames written while no host is connected are dropped
    (write returns False), as they would be on an unplugged cable."""

    def __init__(self, name=DEFAULT_NAME):
        import aioble  # only a board with a radio has these two
        import bluetooth

        self._aioble = aioble
        self._name = name
        self._service_uuid = bluetooth.UUID(NUS_SERVICE)
        service = aioble.Service(self._service_uuid)
        # capture: queue every write with its data, so writes that arrive faster than read() are not merged;
        # buffered: the characteristic holds a whole MTU-sized write, not the default 20 bytes
        self._rx = aioble.BufferedCharacteristic(
            service,
            bluetooth.UUID(NUS_RX),
            write=True,
            write_no_response=True,
            capture=True,
            max_len=PREFERRED_MTU - ATT_HEADER_SIZE,
        )
        self._tx = aioble.Characteristic(service, bluetooth.UUID(NUS_TX), notify=True)
        aioble.register_services(service)
        aioble.config(mtu=PREFERRED_MTU)
        self._connection = None
        self._advertiser = None

    async def _serve_connections(self):
        """Forever: advertise, hold the connection until it drops, advertise again."""
        while True:
            connection = await self._aioble.advertise(
                ADVERTISE_INTERVAL_US, name=self._name, services=[self._service_uuid]
            )
            self._connection = connection
            await connection.disconnected(timeout_ms=None)
            self._connection = None

    async def read(self):
        """The next bytes from the host (at least one); starts advertising on the first call."""
        if self._advertiser is None:
            self._advertiser = asyncio.create_task(self._serve_connections())
        while True:
            _connection, data = await self._rx.written()
            if data:
                return data

    def write(self, data):
        """Notify `data` to the connected host in MTU-sized pieces; False if no host or the stack refused."""
        connection = self._connection
        if connection is None:
            return False
        try:
            for piece in chunks(data, connection.mtu or DEFAULT_MTU):
                self._tx.notify(connection, piece)
        except (OSError, ValueError):  # out of stack buffers, or the link dropped between the check and now
            return False
        return True
