"""A session's recording read for people to look at: found by path or by name, read into the views' picture (with
the instrument it was recorded on), and whatever cut it short said. `flutex view --replay` and `flutex report`
read recordings through this one door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flutex.host.commands.sessions import find_recording
from flutex.host.errors import UsageError

if TYPE_CHECKING:
    from flutex.view.picture import Picture


@dataclass(frozen=True)
class Recorded:
    picture: Picture
    path: Path
    started_at: datetime | None  # wall clock at the session's start (None: its metadata is lost)
    cut_short: str | None  # where and why reading stopped early (None: the file is whole)


def read_recorded(name: Path, folder: Path | None = None) -> Recorded:
    """The recording `name` names (a path, or a name in `folder`, by default the sessions folder), read whole or
    up to its damage; a recording with no event at all is refused."""
    from flutex.hardware.instrument import InstrumentProfile
    from flutex.host.session.playback import Recording
    from flutex.view.picture import VIEW_TYPES, Picture

    path = find_recording(name, folder)
    recording = Recording(path, VIEW_TYPES)
    profile_name = (recording.info.profile if recording.info is not None else "") or "six_hole"
    try:
        profile = InstrumentProfile.load(profile_name)
    except (OSError, KeyError, ValueError):
        raise UsageError(
            f"{path.name} was recorded on an instrument this version does not know: {profile_name}"
        ) from None
    picture = Picture(profile)
    picture.feed_all(recording)
    cut_short = None if recording.complete else recording.stop_description()
    if picture.start_s is None:
        raise UsageError(f"nothing to show in {path}: {cut_short or 'it holds no events'}")
    return Recorded(picture, path, None if recording.info is None else recording.info.started_at, cut_short)
