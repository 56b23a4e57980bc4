"""`flutex flash`: put the firmware on a real board: compile with mpy-cross, copy with mpremote.

Compiled .mpy files load faster and use less RAM on the board than .py sources (no parsing at import). main.py
stays source, because MicroPython only runs a file named main.py at boot. The board also gets pinmap.json.
The copy itself needs a board on USB, so tests cover the file list, the compile step and mpremote's failure on a
missing port, never a real copy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flutex.firmware import board_files as board_sources
from flutex.hardware import load_pinmap
from flutex.host.errors import FlutexError

ENTRY_FILE = "main.py"  # the one firmware file MicroPython looks for by name
TOOL_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class BoardFile:
    """A file for the board's filesystem: `source` in this repo becomes `target` (a name in the board's root)."""

    source: Path
    target: str

    @property
    def compiled(self) -> bool:
        return self.target.endswith(".mpy")


def board_files() -> list[BoardFile]:
    """What the board gets: every firmware module (compiled, except main.py), the pin map and the profile."""
    return [
        BoardFile(path, f"{path.stem}.mpy" if path.suffix == ".py" and name != ENTRY_FILE else name)
        for name, path in board_sources().items()
    ]


def build(files: list[BoardFile], build_dir: Path) -> list[Path]:
    """Lay the files out in `build_dir` under their board names, compiling with mpy-cross; returns their paths."""
    built = []
    for file in files:
        output = build_dir / file.target
        if file.compiled:
            command = [sys.executable, "-m", "mpy_cross", "-o", str(output), str(file.source)]
            _run(command, f"mpy-cross {file.source.name}")
        else:
            output.write_bytes(file.source.read_bytes())
        built.append(output)
    return built


def mpremote_command(port: str, files: list[BoardFile], built: list[Path], ble: bool = False) -> list[str]:
    """One mpremote session: remove stale sources that would shadow the new .mpy files (MicroPython imports
    name.py before name.mpy), copy everything into the board's root, install aioble from micropython-lib if the
    board talks BLE (the one step that needs the network), then reset so main.py starts."""
    stale = [file.source.name for file in files if file.compiled]
    remove_stale = (
        f"import os\nfor name in {stale!r}:\n    try:\n        os.remove(name)\n    except OSError:\n        pass\n"
    )
    return [
        sys.executable, "-m", "mpremote", "connect", port,
        "exec", remove_stale, "+",
        "fs", "cp", *map(str, built), ":", "+",
        *(["mip", "install", "aioble", "+"] if ble else []),
        "reset",
    ]  # fmt: skip


def flash(port: str) -> list[BoardFile]:
    """Compile and copy the firmware to the board on `port` (needs a board: not covered by the tests)."""
    files = board_files()
    with tempfile.TemporaryDirectory(prefix="flutex-flash-") as build_dir:
        built = build(files, Path(build_dir))
        _run(
            mpremote_command(port, files, built, ble=load_pinmap().get("link", "usb") == "ble"),
            f"mpremote on {port}",
            hint=(
                ". Is the board plugged in and running MicroPython? If Flute X firmware already runs on it, hold "
                "the e-stop pressed while you reset the board (it then stays at the REPL) and flash again."
            ),
        )
    return files


def dry_run() -> list[tuple[BoardFile, int]]:
    """Each file with the size in bytes it would take on the board (compiles, copies nothing)."""
    files = board_files()
    with tempfile.TemporaryDirectory(prefix="flutex-flash-") as build_dir:
        built = build(files, Path(build_dir))
        return [(file, path.stat().st_size) for file, path in zip(files, built, strict=True)]


def _run(command: list[str], what: str, hint: str = "") -> None:
    """Run a tool; its failure becomes a FlutexError with the tool's last output line and `hint`."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FlutexError(f"{what}: no answer within {TOOL_TIMEOUT_S:.0f} s{hint}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise FlutexError(f"{what} failed: {lines[-1] if lines else f'exit code {done.returncode}'}{hint}")


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Compile the firmware with mpy-cross (main.py stays source) and copy it with hardware/pinmap.json "
        "to a board running MicroPython 1.27, using mpremote. The board resets and starts the firmware."
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--port", help="the board's serial port, e.g. /dev/ttyACM0")
    target.add_argument("--dry-run", action="store_true", help="list what would be copied (source, target, size)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dry_run:
        for file, size in dry_run():
            print(f"{file.source}  ->  :{file.target}  {size} bytes")
        return 0
    files = flash(args.port)
    print(f"copied {len(files)} files to {args.port} and reset the board")
    return 0
