"""`flutex scores`: the pieces that ship with Flute X, by name (each one `flutex score NAME` opens)."""

from __future__ import annotations

import argparse
import dataclasses
import json


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "List the score library: public-domain melodies written out for Flute X. Open one with `flutex score NAME`."
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, last line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from flutex.tutor.score.fit import note_name
    from flutex.tutor.score.library import entries

    listed = entries()
    if args.json:
        rows = [{**dataclasses.asdict(entry), "file": str(entry.file)} for entry in listed]
        print(json.dumps({"scores": rows}))
        return 0
    for entry in listed:
        print(
            f"{entry.name:22} {entry.title} ({entry.composer}); {entry.key}, {entry.bars} bars, "
            f"{note_name(entry.lowest)} to {note_name(entry.highest)}"
        )
    return 0
