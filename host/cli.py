"""The `flutex` command: one sub-command per module, each registering its own parser.

Only the module of the command being run is imported, so `flutex --help` or `flutex flash` does not load the
simulator, aubio or the diagram library; the one-line help of every command lives here, for the list.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from flutex.host.errors import FlutexError

# Each command NAME is the module flutex.host.commands.NAME, which exposes `configure(parser)`: it describes the
# command and adds its arguments to the parser made here, and sets `run=callable(args) -> int`. name: one-line help.
COMMANDS: dict[str, str] = {
    "demo": "run a session end to end on the simulated board (no hardware, no network)",
    "breath": "analyse a recorded breath-belt CSV",
    "wiring": "draw the wiring diagram (SVG) from hardware/pinmap.json",
    "flash": "compile the firmware and copy it to a board over USB",
    "pitch": "track the pitch of an audio file (CSV on stdout)",
    "calibrate": "calibrate this machine (audio latency)",
    "bench": "measure the board's real-time promises (watchdog, rates, soak under faults, session clock)",
    "sessions": "list recorded sessions, and replay one",
    "protocol": "print the wire protocol's message tables (docs/protocol.md is generated from them)",
    "scores": "list the score library (public-domain pieces to practise)",
    "score": "read a score (MusicXML, MIDI, ABC or a library piece) and fit it to an instrument",
    "listen": "play a score (on sim:// the virtual player does) and have every note graded as it is played",
    "assess": "grade a recorded play-through again, to the same result as live",
    "plan": "write a lesson plan from a commented template, or check one",
    "lesson": "run a whole lesson from a plan: guidance that fades, a report, progress saved",
    "chat": "talk with Flute X GPT, which runs lessons and guidance for you (offline, or any OpenAI-compatible server)",
    "progress": "a student's progress (table, trend, CSV), assignments and the gradebook",
    "view": "the live window (breath, pitch over the score, fingering), a replay with a scrubber, or a screenshot",
    "study": "the simulated study: the dynamic guidance policy against the static baseline",
    "report": "a lesson's recording, or the gradebook, as one self-contained HTML page (opens offline)",
}
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader went away (`flutex pitch take.wav | head`)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full sub-parser of the command `argv` names (all of them when `argv` is None)."""
    parser = argparse.ArgumentParser(
        prog="flutex",
        description="Flute X: real-time tutoring with a haptic flute and a breath belt.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    named = None if argv is None else next((arg for arg in argv if not arg.startswith("-")), "")
    for name, one_line in COMMANDS.items():
        command = subparsers.add_parser(name, help=one_line)
        if named is None or name == named:
            importlib.import_module(f"flutex.host.commands.{name}").configure(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = sys.argv[1:] if argv is None else argv
        args = build_parser(arguments).parse_args(arguments)
        return int(args.run(args) or 0)
    except FlutexError as error:
        print(f"flutex: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("flutex: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point stdout at nothing first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
