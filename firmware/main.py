"""Boot entry on a real board: MicroPython runs main.py after boot.py.

Hold the e-stop pressed while the board starts to stay at the REPL instead (for `flutex flash`): once the firmware
runs it turns Ctrl-C off, so mpremote could not interrupt it.
"""

import app
import chip
import peripherals

if not peripherals.Button(peripherals.load_json(peripherals.PINMAP_PATH)["estop"]).pressed():
    chip.run(app.main)
