"""A simulated board behind Bluetooth LE: a bumble peripheral serving the Nordic UART Service over a virtual
radio link, its RX writes bridged into the simulated board's UART and the board's frames notified on TX.

It plays the part of firmware/link_ble.py (which needs a radio the simulator lacks), with the same rules and, where
they are shared, the same code (`chunks`, `frame_type`, `may_bond`):

- advertise a name, notify each frame in pieces of at most MTU - 3 bytes, advertise again after a disconnect;
- pairing: LE Secure Connections, Just Works, a bond only while `may_bond` allows it (the e-stop pressed within
  PAIRING_WINDOW_MS of power-on, one new host per power-on). Outside the window a pairing ends without a bond and
  its keys are dropped, as NimBLE does with `bond=False`. A legacy (not LE SC) pairing makes no bond either: this
  models a MicroPython build without legacy pairing (see docs/security.md);
- `bonds` is the board's secrets file: a bonded host that reconnects encrypts with the keys kept there;
- trust (encrypted, with a bond's keys) goes to the simulated firmware through `SimBoard.set_link_trusted` whenever
  it changes: the firmware asks link.trusted() just as it asks BleLink.trusted() on a board;
- a write from a connection that is no longer the current one is dropped; a new connection's first write is
  preceded by a delimiter; stream frames are never notified to a connection that is not trusted.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.keys import MemoryKeyStore, PairingKeys
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

from flutex.firmware import link_ble, wire
from flutex.hardware import load_pinmap
from flutex.host.link.client import STREAMS
from flutex.host.link.transport import SerialTransport
from flutex.sim.board import SimBoard

BOARD_NAME = "FluteX"
BOARD_ADDRESS = "F0:F1:F2:F3:F4:F5"
HOST_ADDRESS = "F5:F4:F3:F2:F1:F0"
STRANGER_ADDRESS = "C0:DE:C0:DE:C0:DE"
ADVERTISING_INTERVAL_MS = 20  # bumble's virtual link delivers advertisements on this timer: keep connects fast


def virtual_device(link: LocalLink, address: str) -> tuple[Device, Controller]:
    """A bumble device on its own virtual controller, on `link` (the in-process 'air'). Without a public address
    the identity a device hands over when pairing is the address it uses on the air, so each side finds the other's
    keys under the address of the next connection."""
    controller = Controller(address, link=link)
    return Device(address=Address(address), host=Host(controller, AsyncPipeSink(controller))), controller


class BlePeripheral:
    """The NUS peripheral in front of a SimBoard. `notified` has the size of every notification sent, `written`
    every value a host wrote to RX (as it was written), `pairings` says of every completed pairing whether it made a
    bond; `trusted` is what the firmware was last told."""

    def __init__(self, device: Device, board: SimBoard) -> None:
        self.device = device
        self.board = board
        self.notified: list[int] = []
        self.written: list[bytes] = []
        self.pairings: list[bool] = []
        self.bonds = MemoryKeyStore()
        self.powered_on_s = time.monotonic()  # a test moves it back to be past the pairing window
        self.estop_pressed = False
        self.trusted = False
        self._bonded_since_power_on = False
        self._bonded: set[int] = set()  # handles of connections encrypted with a bond's keys
        self._connection: Connection | None = None
        self._writer: Connection | None = None
        self._unfinished = b""  # the board's bytes after the last delimiter
        self._uart = SerialTransport(board.port)
        self._tx = Characteristic(link_ble.NUS_TX, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")
        rx: Characteristic[bytes] = Characteristic(
            link_ble.NUS_RX,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        device.add_service(Service(link_ble.NUS_SERVICE, [rx, self._tx]))
        device.advertising_data = bytes(
            AdvertisingData([(AdvertisingData.Type.COMPLETE_LOCAL_NAME, BOARD_NAME.encode())])
        )
        device.keystore = self.bonds
        device.pairing_config_factory = self._pairing_config
        device.on(Device.EVENT_CONNECTION, self._on_connection)

    async def serve(self) -> None:
        """Open the board's UART, advertise (again after every disconnect) and forward the board's frames."""
        self.board.set_link_trusted(False)  # no host yet: the simulated UART is otherwise trusted, like USB
        await self._uart.open()
        try:
            await self.device.power_on()
            await self.device.start_advertising(
                auto_restart=True,
                advertising_interval_min=ADVERTISING_INTERVAL_MS,
                advertising_interval_max=ADVERTISING_INTERVAL_MS,
            )
            while True:
                *frames, self._unfinished = (self._unfinished + await self._uart.read()).split(wire.DELIMITER)
                for frame in frames:
                    if frame:
                        await self._notify(frame + wire.DELIMITER)
        finally:
            await self._uart.close()

    def connection(self) -> Connection:
        assert self._connection is not None, "no host is connected"
        return self._connection

    def set_estop(self, pressed: bool) -> None:
        """Press or release the e-stop button: the firmware sees it on its pin, the pairing window here."""
        estop = load_pinmap()["estop"]
        level = int(pressed) ^ int(estop["active_low"])  # active low: pressed reads 0
        self.board.set_inputs({estop["gpio"]: level})
        self.estop_pressed = pressed

    def _pairing_config(self, _connection: Connection) -> PairingConfig:
        """Asked when a host's pairing request arrives, as NimBLE reads link_ble's `bond` setting then."""
        since_power_on_ms = (time.monotonic() - self.powered_on_s) * 1000
        bonding = link_ble.may_bond(since_power_on_ms, self.estop_pressed, self._bonded_since_power_on)
        delegate = PairingDelegate(PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT)
        return PairingConfig(sc=True, mitm=False, bonding=bonding, delegate=delegate)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        connection.on(Connection.EVENT_CONNECTION_ENCRYPTION_CHANGE, lambda: self._on_encryption(connection))
        connection.on(Connection.EVENT_PAIRING, lambda keys: self._on_pairing(connection, keys))
        connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(connection))
        self._report_trust()

    def _on_encryption(self, connection: Connection) -> None:
        """Without a pairing on this connection, encryption can only have used stored keys: a bond's."""
        if connection.handle not in self.device.smp_manager.sessions:
            self._bonded.add(connection.handle)
        self._report_trust()

    def _on_pairing(self, connection: Connection, _keys: PairingKeys) -> None:
        """A pairing completed (bumble has stored its keys): keep them only if it made an LE SC bond."""
        session = self.device.smp_manager.sessions[connection.handle]
        bonded = session.bonding and session.sc
        self.pairings.append(bonded)
        if bonded:
            self._bonded_since_power_on = True
            self._bonded.add(connection.handle)
        else:
            self.bonds.all_keys.pop(str(connection.peer_address), None)
        self._report_trust()

    def _on_disconnection(self, connection: Connection) -> None:
        self._bonded.discard(connection.handle)  # (the next connection may get the same handle)
        if connection is self._connection:
            self._connection = None
        self._report_trust()

    def _report_trust(self) -> None:
        connection = self._connection
        trusted = connection is not None and connection.is_encrypted and connection.handle in self._bonded
        if trusted != self.trusted:
            self.trusted = trusted
            self.board.set_link_trusted(trusted)

    async def _notify(self, frame: bytes) -> None:
        connection = self._connection
        if connection is None or (link_ble.frame_type(frame) in STREAMS and not self.trusted):
            return
        for piece in link_ble.chunks(frame, connection.att_mtu):
            self.notified.append(len(piece))
            await self.device.notify_subscriber(connection, self._tx, piece)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        if connection is not self._connection:
            return
        self.written.append(bytes(value))
        if connection is not self._writer:
            self._writer = connection
            value = wire.DELIMITER + value
        self._uart.write(value)


class Air:
    """The virtual radio: the board's peripheral on it, and centrals added at will (a host, a stranger)."""

    def __init__(self, link: LocalLink, peripheral: BlePeripheral) -> None:
        self.link = link
        self.peripheral = peripheral
        self._controllers: dict[Device, Controller] = {}

    def central(self, address: str = HOST_ADDRESS) -> Device:
        device, controller = virtual_device(self.link, address)
        self._controllers[device] = controller
        return device

    def leave(self, device: Device) -> None:
        """Take a central off the air (its address is then free for another)."""
        self.link.remove_controller(self._controllers.pop(device))


@contextlib.asynccontextmanager
async def ble_board(board: SimBoard) -> AsyncIterator[Air]:
    """The board's BLE peripheral, serving on a fresh virtual link."""
    link = LocalLink()
    device, _controller = virtual_device(link, BOARD_ADDRESS)
    peripheral = BlePeripheral(device, board)
    task = asyncio.create_task(peripheral.serve())
    try:
        yield Air(link, peripheral)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
