"""The `flutex` sub-commands, one module each (see flutex.host.cli)."""
