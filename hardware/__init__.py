"""Hardware data read by both the firmware and the host: the pin map and instrument profiles (JSON).

The firmware reads pinmap.json from its own filesystem; the host reads the same files through `load`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HARDWARE_DIR = Path(__file__).resolve().parent
PINMAP_PATH = HARDWARE_DIR / "pinmap.json"
PROFILES_DIR = HARDWARE_DIR / "profiles"


def load_pinmap() -> dict[str, Any]:
    return json.loads(PINMAP_PATH.read_text())


def load_profile(name: str) -> dict[str, Any]:
    path = PROFILES_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.json")))
        raise ValueError(f"no instrument profile {name!r} (known: {known})")
    return json.loads(path.read_text())
