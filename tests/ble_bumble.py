"""A `BleBackend` on bumble, a Bluetooth stack written in Python: the central the tests run over bumble's virtual
link. bumble is a development dependency (`pip install -e '.[dev]'`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy
from bumble.hci import Address, HCI_Error
from bumble.pairing import PairingConfig

from flutex.firmware import link_ble
from flutex.host.link.ble import PAIRING_HINT
from flutex.host.link.transport import DeviceNotFound, TransportClosed

SCAN_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0


class BumbleCentral:
    """Scans for the board by its advertised name, connects, secures the link, asks for `mtu`, and subscribes to
    NUS TX.

    Securing comes first, before any byte of the protocol, because the board judges every command by the link it
    came on. With a bond in the device's key store the link is encrypted with the stored keys (a bond the board no
    longer has is forgotten); without one, and if `pair`, the device pairs: LE Secure Connections, bonding, Just
    Works. The board makes a bond only in its pairing window; a pairing outside it ends without one and the board
    then refuses the HELLO (BoardRefused). With `pair=False` and no bond the link stays unencrypted."""

    def __init__(self, device: Device, name: str, mtu: int = link_ble.PREFERRED_MTU, pair: bool = True) -> None:
        self.description = f"BLE device {name!r}"
        self.name = name
        self.mtu = mtu
        self.pair = pair
        self._device = device
        self._connection: Connection | None = None
        self._rx: CharacteristicProxy[bytes] | None = None
        device.pairing_config_factory = lambda _connection: PairingConfig(sc=True, mitm=False, bonding=True)

    async def connect(self, on_data: Callable[[bytes], None], on_lost: Callable[[str], None]) -> int:
        if not self._device.powered_on:
            await self._device.power_on()
        address = await self._find()
        try:
            connection = await self._device.connect(address, timeout=CONNECT_TIMEOUT_S)
            connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._lost(connection, on_lost, reason))
            self._connection = connection
            await self._secure(connection)
            peer = Peer(connection)
            mtu = await peer.request_mtu(self.mtu)
            services = await peer.discover_service(link_ble.NUS_SERVICE)
            if not services:
                raise DeviceNotFound(f"{self.description} has no Nordic UART Service: is it a Flute X board?")
            characteristics = {c.uuid: c for c in await services[0].discover_characteristics()}
            self._rx = characteristics[UUID(link_ble.NUS_RX)]
            await characteristics[UUID(link_ble.NUS_TX)].subscribe(lambda value: on_data(bytes(value)))
        except (BaseBumbleError, TimeoutError, KeyError) as error:
            await self.disconnect()
            raise DeviceNotFound(f"could not open the UART service of {self.description}: {error!r}") from None
        except DeviceNotFound:
            await self.disconnect()
            raise
        return mtu

    async def send(self, chunk: bytes) -> None:
        if self._rx is None:
            raise TransportClosed(f"{self.description} is not connected")
        try:
            await self._rx.write_value(chunk, with_response=False)
        except BaseBumbleError as error:
            raise TransportClosed(f"writing to {self.description} failed: {error!r}") from None

    async def disconnect(self) -> None:
        connection, self._connection, self._rx = self._connection, None, None
        if connection is not None and connection.handle in self._device.connections:
            await connection.disconnect()

    async def _secure(self, connection: Connection) -> None:
        keystore = self._device.keystore
        peer = str(connection.peer_address)
        if keystore is not None and await keystore.get(peer) is not None:
            try:
                await connection.encrypt()
                return
            except HCI_Error:  # the board has no such bond (erased, or it never kept the keys)
                await keystore.delete(peer)
        if self.pair:
            try:
                await connection.pair()
            except BaseBumbleError as error:
                raise DeviceNotFound(f"{self.description} would not pair ({error}): {PAIRING_HINT}") from None

    def _lost(self, connection: Connection, on_lost: Callable[[str], None], reason: int) -> None:
        """Only the current connection's end counts: an old one may report its end after a reconnect."""
        if connection is self._connection:
            self._connection, self._rx = None, None
            on_lost(f"disconnected, HCI reason 0x{reason:02x}")

    async def _find(self) -> Address:
        found: asyncio.Future[Address] = asyncio.get_running_loop().create_future()

        def on_advertisement(advertisement: Advertisement) -> None:
            name = advertisement.data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME)
            if name == self.name and not found.done():
                found.set_result(advertisement.address)

        self._device.on(Device.EVENT_ADVERTISEMENT, on_advertisement)
        await self._device.start_scanning(filter_duplicates=True)
        try:
            return await asyncio.wait_for(found, SCAN_TIMEOUT_S)
        except TimeoutError:
            raise DeviceNotFound(
                f"no BLE device named {self.name!r} advertised within {SCAN_TIMEOUT_S:g} s: is it powered, in range "
                "and not connected to another host?"
            ) from None
        finally:
            self._device.remove_listener(Device.EVENT_ADVERTISEMENT, on_advertisement)
            await self._device.stop_scanning()
