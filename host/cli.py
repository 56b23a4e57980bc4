"""The `flutex` command: one sub-command per module, each registering its own parser."""

from __future__ import annotations

import argparse
import importlib
import sys

from flutex.errors import FlutexError

# Each module exposes `register(subparsers)`, which adds one sub-command and sets `run=callable(args) -> int`.
COMMAND_MODULES = (
    "flutex.demo",
    "flutex.breath.cli",
    "flutex.wiring",
    "flutex.flash",
    "flutex.pitch.command",
    "flutex.audio.calibrate_command",
    "flutex.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flutex",
        description="Flute X: real-time tutoring with a haptic flute and a breath belt.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except FlutexError as error:
        print(f"flutex: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("flutex: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
