"""Host-side view of the firmware folder: the host imports the shared `wire` module from here, and
`board_files` says what a board's filesystem holds. This file is not deployed: the board imports modules flat."""

from __future__ import annotations

import json
from pathlib import Path

from flutex.hardware import PINMAP_PATH, PROFILES_DIR

FIRMWARE_DIR = Path(__file__).resolve().parent


def board_files(pinmap_path: Path = PINMAP_PATH) -> dict[str, Path]:
    """Board file name -> source in this repository: every firmware module, the pin map, and the instrument
    profile the pin map names, as profile.json."""
    files = {path.name: path for path in sorted(FIRMWARE_DIR.glob("*.py")) if path.name != "__init__.py"}
    files["pinmap.json"] = pinmap_path
    profile = json.loads(pinmap_path.read_text())["profile"]
    files["profile.json"] = PROFILES_DIR / f"{profile}.json"
    return files
