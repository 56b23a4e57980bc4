"""A `BleBackend` on bleak, the host's real radio on Linux (BlueZ), macOS and Windows.

UNTESTED: no test here has a radio. The same `BleTransport` above it is tested over bumble's virtual link
(tests/test_ble.py); this adapter only maps bleak's calls onto `BleBackend` and is exercised by hand on hardware.

Pairing: the board moves the instrument only for a host with a bond (docs/security.md). bleak pairs on connect when
this computer has none with the board (`pair=True`: BlueZ's Device1.Pair, which needs a Bluetooth agent, then
Connect); a bonded board is reconnected as is and BlueZ encrypts the link with the stored keys. macOS pairs only
when a characteristic demands encryption, which the board's does not: pairing from macOS is not supported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from flutex.firmware import link_ble
from flutex.host.link.ble import PAIRING_HINT
from flutex.host.link.transport import DeviceNotFound, TransportClosed

SCAN_TIMEOUT_S = 10.0
CONNECT_ATTEMPTS = 4  # bleak-retry-connector backs off between attempts on transient errors


class BleakBackend:
    """Finds the board by its advertised name and connects through bleak-retry-connector, pairing first if this
    computer has no bond with it."""

    def __init__(self, name: str) -> None:
        self.description = f"BLE device {name!r}"
        self.name = name
        self._client: BleakClient | None = None

    async def connect(self, on_data: Callable[[bytes], None], on_lost: Callable[[str], None]) -> int:
        try:
            device = await BleakScanner.find_device_by_name(self.name, timeout=SCAN_TIMEOUT_S)
        except (BleakError, OSError) as error:  # no adapter, adapter off, or no BlueZ (D-Bus) on Linux
            raise DeviceNotFound(
                f"cannot scan for BLE devices ({error or type(error).__name__}): is Bluetooth on and is there an "
                "adapter? On Linux, bluetoothd must be running"
            ) from None
        if device is None:
            raise DeviceNotFound(
                f"no BLE device named {self.name!r} advertised within {SCAN_TIMEOUT_S:g} s: is the board powered, "
                "in range, flashed with the BLE link, and not connected to another host?"
            )

        def disconnected(client: BleakClient) -> None:
            if client is self._client:  # an old client may report its end after a reconnect
                self._client = None
                on_lost("disconnected")

        def notified(_characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
            on_data(bytes(data))

        try:
            client = await establish_connection(
                BleakClient,
                device,
                self.name,
                disconnected_callback=disconnected,
                max_attempts=CONNECT_ATTEMPTS,
                pair=True,
            )
        except (BleakError, TimeoutError) as error:
            if "Authentication" in str(error):  # BlueZ's org.bluez.Error.Authentication*: the pairing failed
                raise DeviceNotFound(
                    f"{self.description} would not pair ({error}): {PAIRING_HINT}. On Linux a Bluetooth agent must "
                    f"answer (your desktop's, or `bluetoothctl` with `agent on`); to start over from scratch: "
                    f"`bluetoothctl remove {device.address}`"
                ) from None
            raise DeviceNotFound(f"could not connect to {self.description}: {error}") from None
        self._client = client
        try:
            # a new connection has no subscription: subscribe every time, not once
            await client.start_notify(link_ble.NUS_TX, notified)
            rx = client.services.get_characteristic(link_ble.NUS_RX)
        except (BleakError, TimeoutError) as error:
            await self.disconnect()
            raise DeviceNotFound(f"could not connect to {self.description}: {error}") from None
        if rx is None:
            await self.disconnect()
            raise DeviceNotFound(f"{self.description} has no Nordic UART Service: is it a Flute X board?")
        # bleak reports the usable write size per characteristic; BlueZ's mtu_size is always 23
        return rx.max_write_without_response_size + link_ble.ATT_HEADER_SIZE

    async def send(self, chunk: bytes) -> None:
        client = self._client
        if client is None:
            raise TransportClosed(f"{self.description} is not connected")
        try:
            await client.write_gatt_char(link_ble.NUS_RX, chunk, response=False)
        except BleakError as error:
            raise TransportClosed(f"writing to {self.description} failed: {error}") from None

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(BleakError):  # already gone: nothing left to release
                await client.disconnect()
