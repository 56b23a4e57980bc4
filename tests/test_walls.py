"""The walls between the floors: the import contracts hold, and the command line loads only what a command needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("flutex.sim", "aubio", "schemdraw", "bleak", "sounddevice", "mcap")

PROBE = """
import json, sys
from flutex.host import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.startswith({heavy!r}))))
"""


def loaded_by(*argv: str) -> list[str]:
    """The heavy modules a fresh interpreter has loaded after running `flutex ARGV`."""
    probe = PROBE.format(heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True, cwd=ROOT, timeout=60
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [("--help",), ("flash", "--help"), ("protocol", "--help"), ("sessions", "--help")])
def test_help_loads_neither_the_simulator_nor_aubio(argv: tuple[str, ...]) -> None:
    assert loaded_by(*argv) == []


def test_a_command_loads_what_it_needs() -> None:
    """The probe can see a heavy import: the pitch command does load aubio (else the test above proves nothing)."""
    assert "aubio" in loaded_by("pitch", "--help")


def test_opening_a_device_does_not_load_the_simulator_until_asked() -> None:
    probe = "import sys, flutex.host.link.opener; print(any(n.startswith('flutex.sim') for n in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_import_contracts_hold() -> None:
    """`lint-imports` checks the contracts in pyproject.toml (floors, firmware apart, the one door to sim/)."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
