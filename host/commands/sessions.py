"""`flutex sessions`: list the recorded sessions, show one, replay one (and say where a damaged one stops).

The recording modules (and the mcap library) are imported by the functions that run, so `--help` loads neither.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flutex.host.errors import UsageError

if TYPE_CHECKING:
    from flutex.host.session.playback import ReplayReport, Summary


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not speed > 0:
        raise argparse.ArgumentTypeError(f"speed must be a number above 0 or 'max', not {text!r}")
    return speed


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "List the recorded sessions, newest first (with no sub-command), show one, or replay one. Recordings are "
        "MCAP files (docs/recording.md) in $XDG_DATA_HOME/flutex/sessions (default ~/.local/share/flutex/sessions)."
    )
    parser.add_argument("--dir", type=Path, default=None, help="folder of recordings (default: the one above)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run_list)
    commands = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = commands.add_parser("list", help="list the recordings, newest first (the default)")
    show = commands.add_parser("show", help="summarize one recording")
    play = commands.add_parser("replay", help="replay one recording and summarize what it published")
    for sub in (listing, show, play):
        # SUPPRESS: an option not given here keeps what was given before the sub-command
        sub.add_argument("--dir", type=Path, default=argparse.SUPPRESS, help="folder of recordings")
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    for sub in (show, play):
        sub.add_argument("path", type=Path, metavar="PATH", help="a recording (a file name is looked up in --dir)")
    play.add_argument(
        "--speed",
        type=_speed,
        default=None,
        help="1 for real time, 2 for twice as fast..., or 'max' for as fast as possible (the default)",
    )
    listing.set_defaults(run=run_list)
    show.set_defaults(run=run_show)
    play.set_defaults(run=run_replay)


def _folder(args: argparse.Namespace) -> Path:
    from flutex.host.session.recording import sessions_dir

    return args.dir if args.dir is not None else sessions_dir()


def _recording_path(args: argparse.Namespace) -> Path:
    return find_recording(args.path, args.dir)


def find_recording(name: Path, folder: Path | None = None) -> Path:
    """The recording `name` names: a file, or one in `folder` (default: the sessions folder), as `flutex sessions`
    lists them."""
    from flutex.host.session.recording import sessions_dir

    for path in (name, (folder if folder is not None else sessions_dir()) / name):
        if path.is_file():
            return path
    raise UsageError(f"no recording at {name}: `flutex sessions` lists them")


def _summary_json(summary: Summary) -> dict[str, Any]:
    info = summary.info
    return {
        "path": str(summary.path),
        "started_at": None if info is None else info.started_at.isoformat(),
        "duration_s": summary.duration_s,
        "board": None if info is None or info.board is None else info.board.details.get("board", ""),
        "profile": None if info is None else info.profile,
        "counts": summary.counts,
        "events": sum(summary.counts.values()),
        "size_bytes": summary.size_bytes,
        "complete": summary.complete,
        "stop": summary.stop,
    }


def _started(summary: Summary) -> str:
    return "(no metadata)      " if summary.info is None else f"{summary.info.started_at:%Y-%m-%d %H:%M:%S}"


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def run_list(args: argparse.Namespace) -> int:
    from flutex.host.session.playback import summarize
    from flutex.host.session.recording import SUFFIX

    folder = _folder(args)
    summaries = [summarize(path) for path in sorted(folder.glob(f"*{SUFFIX}"))] if folder.is_dir() else []
    summaries.sort(key=lambda s: (s.info is not None, s.info.started_at.timestamp() if s.info else 0.0), reverse=True)
    if args.json:
        print(json.dumps([_summary_json(summary) for summary in summaries]))
        return 0
    if not summaries:
        print(f"no recordings in {folder}")
        return 0
    for summary in summaries:
        fields = _summary_json(summary)
        state = "complete" if summary.complete else "cut short"
        print(
            f"{_started(summary)}  {_duration(summary.duration_s):>8}  {fields['board'] or '-'}/"
            f"{fields['profile'] or '-'}  {fields['events']} events  {summary.size_bytes / 1e6:.1f} MB  {state}  "
            f"{summary.path}"
        )
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    for topic, count in sorted(counts.items()):
        print(f"  {topic:<20} {count}")


def run_show(args: argparse.Namespace) -> int:
    from flutex.host.session.playback import summarize

    summary = summarize(_recording_path(args))
    if args.json:
        print(json.dumps(_summary_json(summary)))
        return 0
    info = summary.info
    print(f"{summary.path}  ({summary.size_bytes / 1e6:.1f} MB)")
    if info is not None:
        print(f"started {info.started_at.isoformat()}, flutex {info.flutex_version}, protocol v{info.protocol_version}")
        board = "-" if info.board is None else ", ".join(f"{k} {v}" for k, v in info.board.details.items())
        print(f"board: {board}; profile: {info.profile or '-'}")
    print(f"duration {_duration(summary.duration_s)}, {sum(summary.counts.values())} events:")
    _print_counts(summary.counts)
    print(summary.stop)
    return 0


def _report_json(report: ReplayReport) -> dict[str, Any]:
    return {
        "path": str(report.path),
        "counts": report.counts,
        "events": sum(report.counts.values()),
        "first_t_s": report.first_t_s,
        "last_t_s": report.last_t_s,
        "complete": report.complete,
        "damage": None if report.damage is None else {"offset": report.damage.offset, "reason": report.damage.reason},
        "stop": report.stop,
    }


def run_replay(args: argparse.Namespace) -> int:
    from flutex.host.fanout import Notifier
    from flutex.host.session.events import Stamped
    from flutex.host.session.playback import Recording, replay

    timeline: Notifier[Stamped] = Notifier()
    report = replay(Recording(_recording_path(args)), timeline, speed=args.speed)
    if args.json:
        print(json.dumps(_report_json(report)))
        return 0
    span = "nothing" if report.first_t_s is None else f"t = {report.first_t_s:.3f} .. {report.last_t_s:.3f} s"
    print(f"replayed {sum(report.counts.values())} events of {report.path} ({span}):")
    _print_counts(report.counts)
    print(report.stop)
    return 0
