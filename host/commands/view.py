"""`flutex view`: the live window on a board (`--device URL`: breath, pitch, fingering as they happen; nothing is
moved: the board is never armed), or on a recording (`--replay SESSION`, at 1x or faster, with a scrubber), or a
PNG of a recording at one moment (`--screenshot out.png --at SECONDS`, drawn offscreen: no screen needed).

A lesson's own window, with its score, grades, mastery and the chat, is `flutex lesson PLAN --view`. Qt loads only
when a window opens, so `--help` is quick.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from flutex.host.commands.arguments import positive_seconds
from flutex.host.commands.recorded import read_recorded
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.opener import URL_HELP

if TYPE_CHECKING:
    from flutex.view.picture import Picture

SPEEDS = (1.0, 2.0, 4.0, 8.0, 16.0)


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Open the live window: on a board (--device URL; it only reads: the board is never armed), or on a "
        "recorded session (--replay SESSION, with a scrubber, at 1x or faster). With --screenshot, draw the "
        "recording at one moment to a PNG instead, offscreen. A lesson's window, with its score and chat, is "
        "`flutex lesson PLAN --view`."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--device", metavar="URL", help=f"watch this board live: {URL_HELP}")
    source.add_argument(
        "--replay", metavar="SESSION", type=Path, help="a recording: its path or its name in the sessions folder"
    )
    parser.add_argument("--dir", type=Path, help="folder of recordings (default: see flutex sessions)")
    parser.add_argument(
        "--speed", type=_speed, default=1.0, help=f"replay speed, one of {', '.join(f'{s:g}' for s in SPEEDS)}"
    )
    parser.add_argument(
        "--at", type=float, metavar="SECONDS", help="the moment on the session's timeline: where a replay starts, "
        "or what the screenshot shows (default: the start; a screenshot, the middle of the first attempt)"
    )  # fmt: skip
    parser.add_argument("--screenshot", type=Path, metavar="PNG", help="write the recording at --at to this PNG")
    parser.add_argument("--size", type=_size, default=(1600, 1000), help="the screenshot's WIDTHxHEIGHT (1600x1000)")
    parser.add_argument("--microphone", metavar="NAME", help="sound card on a real board (needs the `live` extra)")
    parser.add_argument("--seconds", type=positive_seconds, help="close the window after this long")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.device is not None:
        if args.screenshot is not None or args.at is not None:
            raise UsageError("--screenshot and --at are for a recording: use them with --replay SESSION")
        return _watch(args.device, args.microphone, args.seconds)
    recorded = read_recorded(args.replay, args.dir)
    picture, path = recorded.picture, recorded.path
    if recorded.cut_short is not None:
        print(f"flutex: {path.name} {recorded.cut_short}", file=sys.stderr)
    if args.screenshot is not None:
        from flutex.view.qt.app import screenshot

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a PNG needs no screen
        at_s = args.at if args.at is not None else _first_attempt_middle(picture)
        try:
            screenshot(picture, at_s, args.screenshot, args.size)
        except (ValueError, OSError) as error:  # a moment outside the recording, a folder that is not there
            raise UsageError(str(error)) from None
        print(f"wrote {args.screenshot} ({path.name} at t = {at_s:.2f} s)")
        return 0
    from flutex.host.commands.viewing import needs_a_screen
    from flutex.view.qt.app import run_replay

    needs_a_screen()
    run_replay(picture, title=f"Flute X: {path.name}", speed=args.speed, start_s=args.at, seconds=args.seconds)
    return 0


def _watch(url: str, microphone: str | None, seconds: float | None) -> int:
    """The window on a board, live, until it is closed: a session that reads, with nothing armed."""
    from flutex.hardware.instrument import InstrumentProfile
    from flutex.host.commands.viewing import LiveWindow, needs_a_screen, until_closed
    from flutex.host.link.opener import open_instrument
    from flutex.host.session.session import Session

    needs_a_screen()
    window = LiveWindow(f"Flute X: {url}", seconds=seconds)

    async def watch() -> None:
        simulated = url.startswith("sim:")
        async with open_instrument(url, microphone="simulated" if simulated else microphone) as instrument:
            assert instrument.client.info is not None  # connected
            session = Session(
                instrument.client,
                profile=InstrumentProfile.load(instrument.client.info.details.get("profile", "six_hole")),
                audio=instrument.audio,
                sample_rate_hz=instrument.sample_rate_hz,
                input_latency_s=0.0 if simulated else None,
                audio_device=microphone or "default",
                breath_calibration=instrument.belt_calibration,
            )
            window.open(session)
            try:
                async with session:
                    await until_closed(window)
            finally:
                window.close()

    asyncio.run(watch())
    if window.error is not None:
        raise FlutexError(f"the window stopped: {window.error}")
    stats = window.stats or {"frames": 0, "wall_s": 0.0}
    rate = stats["frames"] / stats["wall_s"] if stats["wall_s"] else 0.0
    print(f"shown {stats['wall_s']:.1f} s: {stats['frames']} frames ({rate:.0f} per second)", file=sys.stderr)
    return 0


def _first_attempt_middle(picture: Picture) -> float:
    """A moment worth a picture: halfway through the first attempt's notes (the recording's middle without one)."""
    targets = [target.note for target in picture.targets if target.attempt == picture.targets[0].attempt]
    if targets:
        return (targets[0].onset_s + targets[-1].end_s) / 2
    assert picture.start_s is not None and picture.end_s is not None
    return (picture.start_s + picture.end_s) / 2


def _speed(text: str) -> float:
    try:
        speed = float(text.removesuffix("x"))
    except ValueError:
        speed = 0.0
    if speed not in SPEEDS:
        raise argparse.ArgumentTypeError(f"speed must be one of {', '.join(f'{s:g}' for s in SPEEDS)}, not {text!r}")
    return speed


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and 320 <= int(width) <= 7680 and 240 <= int(height) <= 4320):
        raise argparse.ArgumentTypeError(f"a size is WIDTHxHEIGHT, 320x240 to 7680x4320, not {text!r}")
    return int(width), int(height)
