"""Where measured input latencies live: one small JSON file, one entry per audio device.

Default path: $XDG_CONFIG_HOME/flutex/latency.json (~/.config/flutex/latency.json); the FLUTEX_LATENCY_STORE
environment variable or a `--store` flag overrides it. Assessment reads `input_latency_s(device)` and subtracts it
from note times.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from flutex.host.audio.latency import LatencyResult
from flutex.host.errors import UsageError

ENV_VAR = "FLUTEX_LATENCY_STORE"


def default_path() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "flutex" / "latency.json"


class LatencyStore:
    """Read and write calibrations keyed by device name."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot read latency store {self.path}: {error}; delete it and calibrate again") from None
        if not isinstance(data, dict):
            raise UsageError(f"latency store {self.path} is not a JSON object; delete it and calibrate again")
        return data

    def save(self, device: str, result: LatencyResult, method: str) -> None:
        data = self.load()
        data[device] = {
            "input_latency_s": round(result.input_latency_s, 6),
            "roundtrip_s": round(result.roundtrip_s, 6),
            "input_share": round(result.input_share, 4),
            "runs_s": [round(r, 6) for r in result.runs_s],
            "outliers": result.outliers,
            "method": method,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        temporary.replace(self.path)  # never leave a half-written store behind

    def input_latency_s(self, device: str) -> float | None:
        """The stored input latency of `device` (seconds), or None if it was never calibrated."""
        entry = self.load().get(device)
        return float(entry["input_latency_s"]) if entry else None
