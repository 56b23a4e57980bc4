"""The link to a board: transports (serial, BLE), the device client, its typed events, and the URL opener."""
