"""The pieces that ship with Flute X (tutor/score/library/, public-domain melodies written out for it), by name.

A name is the file's stem (`ode_to_joy`); `resolve` lets every command take a name or a file path alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flutex.tutor.score.load import ScoreError, load_score

LIBRARY_DIR = Path(__file__).resolve().parent / "library"


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    name: str
    title: str
    composer: str
    key: str
    bars: int
    lowest: int  # MIDI
    highest: int  # MIDI
    file: Path


def library_files() -> dict[str, Path]:
    """Each piece's name and file, sorted by name."""
    return {path.stem: path for path in sorted(LIBRARY_DIR.glob("*.musicxml"))}


def entries() -> list[LibraryEntry]:
    """Every piece, read from its file (so the list can never disagree with what `flutex score NAME` loads)."""
    listed = []
    for name, path in library_files().items():
        score = load_score(path)
        pitches = [note.midi for note in score.sounding if note.midi is not None]
        listed.append(
            LibraryEntry(name, score.title, score.composer, score.key, score.bars, min(pitches), max(pitches), path)
        )
    return listed


def resolve(name_or_path: str) -> Path:
    """The file a command argument names: an existing file, else a library piece; raises ScoreError naming both."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    files = library_files()
    if name_or_path in files:
        return files[name_or_path]
    raise ScoreError(
        f"{name_or_path}: no such file and no such piece in the library ({', '.join(files)}): see `flutex scores`"
    )
