"""The host link over Bluetooth LE: the same framed bytes through the Nordic UART Service (NUS), with `aioble`.

`BleLink` has HostLink's interface (async read() -> bytes, write(data) -> bool, trusted() -> bool), so `link.Link`
runs unchanged over USB or BLE. The host writes to RX (write without response); the board notifies on TX, each
notification at most MTU - 3 bytes, so a frame longer than that goes out in several notifications and the host's
stream decoder joins them at the 0x00 delimiters. The board advertises its name until a host connects, and again
after every disconnect.

Who may move the fingers (docs/security.md): a host is trusted only on an encrypted connection whose keys come from
a bond. Bonds are made with LE Secure Connections ("Just Works": the board has no display or keypad) and kept in
aioble's secrets file, BONDS_FILE. A new bond is accepted only in the pairing window (`may_bond`): within
PAIRING_WINDOW_MS of power-on, while the e-stop button is pressed, and for one new host per power-on. Outside it,
NimBLE still completes a pairing a host asks for, but without a bond (`bond=False`): no key is kept, the connection
is not trusted and the firmware refuses that host's HELLO. MicroPython gives no hook to refuse the pairing request
itself. Already-bonded hosts encrypt with their stored keys when they reconnect. RX stays writable without
encryption on purpose: an unpaired host must get the board's refusal (and a stop must never need permission); the
firmware checks trust per command (app.py). The streams are never notified to a connection that is not trusted.

UNTESTED WITHOUT A RADIO: the simulator has no radio, so nothing here has run on silicon. What runs in the tests
is the module's import under MicroPython, its compilation by mpy-cross, and `chunks`, `frame_type`, `may_bond` and
the UUIDs, which the host imports (flutex.host.link.ble) and tests over bumble's virtual link, where
tests/ble_board.py plays BleLink's part with the same policy. Needs micropython-lib's aioble with its security module
on the board (`mpremote mip install aioble`). `aioble` and `bluetooth` are imported when a BleLink is made, not at
import time, so the simulator and CPython can import this module.
"""

import asyncio
import time

NUS_SERVICE = "6E400001-B5A3-F393-E0A9-E50E24DCCA9E"
NUS_RX = "6E400002-B5A3-F393-E0A9-E50E24DCCA9E"  # the host writes frames here
NUS_TX = "6E400003-B5A3-F393-E0A9-E50E24DCCA9E"  # the board notifies frames here
ATT_HEADER_SIZE = 3  # opcode and handle in front of each notification or write: payload = MTU - 3
DEFAULT_MTU = 23  # every BLE link starts at this ATT MTU until the central asks for more
PREFERRED_MTU = 247  # what the board accepts: a 257-byte frame then takes two notifications
ADVERTISE_INTERVAL_US = 100_000
DEFAULT_NAME = "FluteX"  # short: with the 128-bit service UUID it still fits one 31-byte advertisement
PAIRING_WINDOW_MS = 60_000  # after power-on; see may_bond
PAIRING_POLL_MS = 100  # how often the board looks at the e-stop button while the window may be open
BONDS_FILE = "ble_secrets.json"  # aioble.security keeps the bonds' keys here, on the board's flash
_IRQ_SET_SECRET = 30  # MicroPython bluetooth: the stack stores (or deletes) a key
_SECRET_PEER = 2  # NimBLE's BLE_STORE_OBJ_TYPE_PEER_SEC: the keys a host hands over when it bonds
_IO_NO_INPUT_OUTPUT = 3  # the board can neither show nor take a passkey: LE Secure Connections Just Works


def chunks(data, mtu):
    """`data` cut into pieces that each fit one notification or write without response at ATT MTU `mtu`."""
    size = mtu - ATT_HEADER_SIZE
    return [data[start : start + size] for start in range(0, len(data), size)]


def frame_type(frame):
    """The message type of one encoded frame: a type is never 0, so COBS leaves it as the frame's second byte."""
    return frame[1]


def may_bond(since_power_on_ms, estop_pressed, bonded_since_power_on):
    """Whether the board accepts a new bond now. Only someone at the board opens the window: it is the first
    PAIRING_WINDOW_MS after power-on, and only while the e-stop button is pressed (which also cuts the actuators'
    power). One new host per power-on: a second one, even inside the window, means someone else raced the owner, and
    the owner's failed pairing shows it."""
    return since_power_on_ms < PAIRING_WINDOW_MS and estop_pressed and not bonded_since_power_on


class BleLink:
    """HostLink over NUS for one host at a time. Frames written while no host is connected are dropped
    (write returns False), as they would be on an unplugged cable."""

    def __init__(self, name=DEFAULT_NAME):
        # Here, not at the top: aioble and bluetooth exist only on a board with a radio, and the host imports this
        # module as flutex.firmware.link_ble, where peripherals and wire are not top-level modules.
        import aioble
        import bluetooth
        import peripherals
        import wire
        from aioble import core, security

        self._aioble = aioble
        self._name = name
        self._streams = (wire.FLUTE, wire.BELT, wire.STATUS, wire.ALERT)  # what the board says of its own accord
        self._delimiter = wire.DELIMITER
        self._estop = peripherals.Button(peripherals.load_json(peripherals.PINMAP_PATH)["estop"])
        self._powered_on_ms = time.ticks_ms()
        self._bonded_since_power_on = False
        self._service_uuid = bluetooth.UUID(NUS_SERVICE)
        service = aioble.Service(self._service_uuid)
        # capture: queue every write with its data and its connection, so writes that arrive faster than read() are
        # not merged; buffered: the characteristic holds a whole MTU-sized write, not the default 20 bytes
        self._rx = aioble.BufferedCharacteristic(
            service,
            bluetooth.UUID(NUS_RX),
            write=True,
            write_no_response=True,
            capture=True,
            max_len=PREFERRED_MTU - ATT_HEADER_SIZE,
        )
        self._tx = aioble.Characteristic(service, bluetooth.UUID(NUS_TX), notify=True)
        security.load_secrets(BONDS_FILE)  # before the stack starts, so bonded hosts are known from the first event
        aioble.register_services(service)
        aioble.config(mtu=PREFERRED_MTU, le_secure=True, mitm=False, bond=False, io=_IO_NO_INPUT_OUTPUT)
        self._aioble_irq = core.ble_irq
        core.ble.irq(self._irq)  # every event passes through _irq on its way to aioble
        self._connection = None
        self._writer = None
        self._tasks = None

    def _irq(self, event, data):
        """A host's keys being stored means a new bond (restoring one stores nothing): the window then closes."""
        if event == _IRQ_SET_SECRET and data[0] == _SECRET_PEER and data[2] is not None:
            self._bonded_since_power_on = True
        return self._aioble_irq(event, data)

    async def _serve_connections(self):
        """Forever: advertise, hold the connection until it drops, advertise again."""
        while True:
            connection = await self._aioble.advertise(
                ADVERTISE_INTERVAL_US, name=self._name, services=[self._service_uuid]
            )
            self._connection = connection
            await connection.disconnected(timeout_ms=None)
            self._connection = None

    async def _run_pairing_window(self):
        """Bonding is on exactly while may_bond says so; once the window has closed it stays off until power-off."""
        bonding = False
        while True:
            since_ms = time.ticks_diff(time.ticks_ms(), self._powered_on_ms)
            wanted = may_bond(since_ms, self._estop.pressed(), self._bonded_since_power_on)
            if wanted != bonding:
                bonding = wanted
                self._aioble.config(bond=bonding)
            if since_ms >= PAIRING_WINDOW_MS or self._bonded_since_power_on:
                return  # (bonding is off: may_bond said so just now)
            await asyncio.sleep_ms(PAIRING_POLL_MS)

    async def read(self):
        """The next bytes from the connected host (at least one); starts advertising on the first call. Bytes that
        a previous connection wrote are dropped, and a new connection's bytes start with a delimiter, which ends any
        half frame the previous host left in the decoder: each frame is judged with its own connection's trust."""
        if self._tasks is None:
            self._tasks = [asyncio.create_task(self._serve_connections())]
            self._tasks.append(asyncio.create_task(self._run_pairing_window()))
        while True:
            connection, data = await self._rx.written()
            if not data or connection is None or connection is not self._connection:
                continue
            if connection is not self._writer:
                self._writer = connection
                return self._delimiter + data
            return data

    def trusted(self):
        """Only a host on an encrypted connection with a bond may move the instrument: aioble.security keeps both
        flags from the stack's encryption events (bonded: the keys came from a bond, new or restored)."""
        connection = self._connection
        return connection is not None and connection.encrypted and connection.bonded

    def write(self, data):
        """Notify one frame to the connected host in MTU-sized pieces; False if no host, if the frame is a stream
        and the host is not trusted, or if the stack refused."""
        connection = self._connection
        if connection is None or (frame_type(data) in self._streams and not self.trusted()):
            return False
        try:
            for piece in chunks(data, connection.mtu or DEFAULT_MTU):
                self._tx.notify(connection, piece)
        except (OSError, ValueError):  # out of stack buffers, or the link dropped between the check and now
            return False
        return True
