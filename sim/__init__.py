"""Simulator: the real firmware in the real MicroPython interpreter, on virtual silicon, played by a virtual student."""
