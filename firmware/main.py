"""Boot entry on a real board: MicroPython runs main.py after boot.py."""

import app
import port

port.run(app.main)
