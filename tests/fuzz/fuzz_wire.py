"""Coverage-guided fuzzing of both ends of the protocol with atheris, for as long as you like.

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python tests/fuzz/fuzz_wire.py firmware -max_total_time=600
    .venv/bin/python tests/fuzz/fuzz_wire.py host -atheris_runs=200000 CORPUS_DIR

`firmware`: bytes from a host into the firmware's link and command handler; `host`: bytes from a board into the
device client. Any exception, or a broken invariant (see targets.py), stops the run with the input that caused
it, as libFuzzer does. Other arguments go to libFuzzer, which prints the executions and the time at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `fuzz.*`, as pytest sees it

from fuzz.targets import FirmwareTarget, HostTarget

TARGETS = {"firmware": FirmwareTarget, "host": HostTarget}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv[1]]()  # loads what it runs (the firmware's modules are loaded here)
    atheris.instrument_all()  # coverage of everything loaded: wire, the firmware or the client, and ours
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()  # libFuzzer's last line: "Done N runs in S second(s)"


if __name__ == "__main__":
    main()
