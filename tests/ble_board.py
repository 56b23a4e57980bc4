"""A simulated board behind Bluetooth LE: a bumble peripheral serving the Nordic UART Service over a virtual
radio link, its RX writes bridged into the simulated board's UART and the board's bytes notified on TX.

It plays the part of firmware/link_ble.py (which needs a radio the simulator lacks): advertise a name, notify in
pieces of at most MTU - 3 bytes (the same `chunks`), advertise again after a disconnect.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from flutex.firmware import link_ble
from flutex.sim.board import SimBoard
from flutex.transport import SerialTransport

BOARD_NAME = "FluteX"
ADVERTISING_INTERVAL_MS = 20  # bumble's virtual link delivers advertisements on this timer: keep connects fast


def virtual_device(link: LocalLink, address: str) -> Device:
    """A bumble device on its own virtual controller, on `link` (the in-process 'air')."""
    controller = Controller(address, link=link, public_address=address)
    return Device(address=Address(address), host=Host(controller, AsyncPipeSink(controller)))


class BlePeripheral:
    """The NUS peripheral in front of a SimBoard. `notified` and `written` record the size of every notification
    sent and every write received, so tests can check the MTU-sized chunking."""

    def __init__(self, device: Device, board: SimBoard) -> None:
        self.device = device
        self.notified: list[int] = []
        self.written: list[int] = []
        self._uart = SerialTransport(board.port)
        self._tx = Characteristic(link_ble.NUS_TX, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")
        rx = Characteristic(
            link_ble.NUS_RX,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        device.add_service(Service(link_ble.NUS_SERVICE, [rx, self._tx]))
        device.advertising_data = bytes(
            AdvertisingData([(AdvertisingData.Type.COMPLETE_LOCAL_NAME, BOARD_NAME.encode())])
        )

    async def serve(self) -> None:
        """Open the board's UART, advertise (again after every disconnect) and forward the board's bytes."""
        await self._uart.open()
        try:
            await self.device.power_on()
            await self.device.start_advertising(
                auto_restart=True,
                advertising_interval_min=ADVERTISING_INTERVAL_MS,
                advertising_interval_max=ADVERTISING_INTERVAL_MS,
            )
            while True:
                data = await self._uart.read()
                for connection in list(self.device.connections.values()):
                    await self._notify(connection, data)
        finally:
            await self._uart.close()

    def connection(self) -> Connection:
        (connection,) = self.device.connections.values()
        return connection

    async def _notify(self, connection: Connection, data: bytes) -> None:
        for piece in link_ble.chunks(data, connection.att_mtu):
            self.notified.append(len(piece))
            await self.device.notify_subscriber(connection, self._tx, piece)

    def _on_write(self, _connection: Connection, value: bytes) -> None:
        self.written.append(len(value))
        self._uart.write(value)


@contextlib.asynccontextmanager
async def ble_board(board: SimBoard) -> AsyncIterator[tuple[BlePeripheral, Device]]:
    """The board's BLE peripheral, serving, and a central device on the same virtual link for the host."""
    link = LocalLink()
    peripheral = BlePeripheral(virtual_device(link, "F0:F1:F2:F3:F4:F5"), board)
    central = virtual_device(link, "F5:F4:F3:F2:F1:F0")
    task = asyncio.create_task(peripheral.serve())
    try:
        yield peripheral, central
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
