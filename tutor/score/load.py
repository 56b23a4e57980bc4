"""Read a score file (MusicXML, compressed MusicXML, MIDI, ABC) into our `Score`, through music21.

music21 does the reading; this module guards it (size, encoding, XML depth, note count, MIDI range), so that any
file a user names ends in a `Score` or in a `ScoreError` naming the file (and the bar, where there is one), never in
a traceback. It then turns one part into a single line of notes and rests: ties merged, chords reduced to their top
note, bars and 1-based beats, the tempo map, breath marks, and phrase segments (see docs/scores.md).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flutex.host.errors import UsageError
from flutex.tutor.score.model import Score, ScoreNote, Segment, TempoChange

FORMATS = {
    ".musicxml": "musicxml",
    ".xml": "musicxml",
    ".mxl": "musicxml",
    ".mid": "midi",
    ".midi": "midi",
    ".abc": "abc",
}
MAX_BYTES = 5_000_000  # a melody to practise is a few kB; a file this big is not one
MAX_UNPACKED_BYTES = 20_000_000  # what a compressed .mxl may hold once unpacked (a zip bomb is refused)
MAX_NOTES = 10_000  # notes and rests in the chosen part
MAX_XML_DEPTH = 40  # real MusicXML nests about 8 deep
DEFAULT_BPM = 100.0
PHRASE_BARS = 4  # without slurs, breath marks or long rests, a phrase is this many bars
LONG_REST_BEATS = 1.0  # a rest this long (quarter notes) or longer ends a phrase


class ScoreError(UsageError):
    """A score file that cannot be read or used; the message names the file (and the bar, where there is one)."""


@dataclass(frozen=True, slots=True)
class _Event:
    """One note or rest of the chosen part, as music21 placed it, before phrases are worked out."""

    midi: int | None
    onset_beats: float
    duration_beats: float
    bar: int
    beat: float
    breath_after: bool


def load_score(path: Path, part: int | None = None) -> Score:
    """The score in `path`, reduced to one line: part `part` (1-based) of a file with several parts, which is
    required then. Raises ScoreError for a file that is missing, too big, of an unknown kind, not text where text
    is expected, malformed or truncated, polyphonic without `part`, or with notes outside the MIDI range."""
    path = Path(path)
    kind = _check_file(path)
    parsed = _parse(path, kind)
    parts = list(parsed.parts) or [parsed]
    chosen = _choose_part(path, parts, part)
    warnings: list[str] = []
    line = _one_line(path, chosen, warnings)
    events = _events(path, line, warnings)
    return _score(path, parsed, line, events, warnings)


def _check_file(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ScoreError(f"{path}: unknown kind of score; give a {', '.join(sorted(FORMATS))} file")
    if not path.is_file():
        raise ScoreError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ScoreError(f"{path}: {size / 1e6:.1f} MB is too big for a score (at most {MAX_BYTES / 1e6:g} MB)")
    data = path.read_bytes()
    if path.suffix.lower() == ".mxl":
        _check_mxl(path, data)
    elif kind != "midi":
        _check_text(path, data)
        if kind == "musicxml":
            _check_xml(path, data)
    return kind


def _check_text(path: Path, data: bytes) -> None:
    """ABC and MusicXML must be UTF-8 text: UTF-16, binary data or another encoding is refused up front (music21
    would otherwise read it as garbage, or fail somewhere deep inside)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise ScoreError(f"{path}: not UTF-8 text (UTF-16 or binary data); save it as UTF-8")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScoreError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None


def _check_xml(path: Path, data: bytes) -> None:
    """Well-formed and not absurdly deep: ElementTree's expat parser is not recursive, but a file nested thousands
    deep is no score, and a truncated one should say where it stops."""
    depth = 0
    try:
        for event, _ in ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
            depth += 1 if event == "start" else -1
            if depth > MAX_XML_DEPTH:
                raise ScoreError(f"{path}: XML nested deeper than {MAX_XML_DEPTH} levels is not a score")
    except ElementTree.ParseError as error:
        line, column = error.position
        raise ScoreError(f"{path}: malformed or truncated XML at line {line}, column {column}") from None


def _check_mxl(path: Path, data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise ScoreError(f"{path}: unpacks to more than {MAX_UNPACKED_BYTES / 1e6:g} MB")
            for member in members:
                if member.filename.lower().endswith((".xml", ".musicxml")):
                    inner = archive.read(member)
                    _check_text(Path(f"{path}:{member.filename}"), inner)
                    _check_xml(Path(f"{path}:{member.filename}"), inner)
    except (zipfile.BadZipFile, EOFError, OSError):
        raise ScoreError(f"{path}: not a compressed MusicXML file (a damaged or truncated zip)") from None


def _parse(path: Path, kind: str) -> Any:
    from music21 import converter

    try:
        # forceSource: never read or write music21's pickle cache; the file is the only truth
        return converter.parse(path, format=kind, forceSource=True)
    except RecursionError:
        raise ScoreError(f"{path}: nested too deeply to read") from None
    except Exception as error:  # music21 raises many kinds; each is the file's fault, named below
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise ScoreError(f"{path}: cannot read this {kind} file ({reason})") from None


def _part_name(part: Any, number: int) -> str:
    name = part.partName or getattr(part.getInstrument(returnDefault=False), "instrumentName", None)
    return f"{number}: {name}" if name else f"{number}"


def _choose_part(path: Path, parts: list[Any], part: int | None) -> Any:
    names = ", ".join(_part_name(p, n) for n, p in enumerate(parts, 1))
    if part is None:
        if len(parts) > 1:
            raise ScoreError(f"{path} has {len(parts)} parts ({names}); choose one with --part N")
        return parts[0]
    if not 1 <= part <= len(parts):
        raise ScoreError(f"{path} has no part {part}; its parts: {names}")
    return parts[part - 1]


def _one_line(path: Path, part: Any, warnings: list[str]) -> Any:
    """The part as one line of notes and rests, ties merged: voices are folded together (chordified) and then every
    chord is read as its top note, as a melody instrument would play it."""
    from music21 import stream

    if not part.hasMeasures():
        part = part.makeMeasures()
    measures = list(part.getElementsByClass(stream.Measure))
    if measures and measures[0].number == 0 and not measures[0].paddingLeft:
        for measure in measures:  # music21 numbers ABC bars from 0 even without a pickup: bar 1 is the first full bar
            measure.number += 1
    if any(measure.voices for measure in measures):
        warnings.append(f"{path.name}: the part has several voices; following their top line")
        part = part.chordify()
    _breaths_to_tie_starts(part)
    return part.stripTies()


def _breaths_to_tie_starts(part: Any) -> None:
    """A breath mark written on the last note of a tie belongs to the merged note: stripTies keeps only the first
    note's articulations, so move it there first."""
    from music21 import articulations

    start = None
    for element in part.recurse().notes:
        tie = element.tie.type if element.tie is not None else None
        if tie == "start":
            start = element
        elif tie in ("continue", "stop") and start is not None:
            marks = [mark for mark in element.articulations if isinstance(mark, articulations.BreathMark)]
            start.articulations += marks
            element.articulations = [mark for mark in element.articulations if mark not in marks]


def _events(path: Path, line: Any, warnings: list[str]) -> list[_Event]:
    from music21 import articulations, chord, meter, note

    events: list[_Event] = []
    chord_bars: list[int] = []
    for element in line.recurse().notesAndRests:
        if element.duration.isGrace or element.quarterLength <= 0:
            continue  # grace notes take no time of their own
        if len(events) >= MAX_NOTES:
            raise ScoreError(f"{path}: more than {MAX_NOTES} notes and rests in the part; too long to practise")
        bar = element.measureNumber if element.measureNumber is not None else 1
        signature = element.getContextByClass(meter.TimeSignature)
        denominator = signature.denominator if signature is not None else 4
        measure_offset = float(element.offset) + float(element.activeSite.paddingLeft or 0.0)
        midi = None
        if isinstance(element, chord.Chord):
            if not element.pitches:
                continue
            chord_bars.append(bar)
            midi = _midi(path, bar, max(element.pitches, key=lambda pitch: pitch.ps))
        elif isinstance(element, note.Note):
            midi = _midi(path, bar, element.pitch)
        elif not isinstance(element, note.Rest):
            continue  # unpitched (percussion) sounds are no melody
        breath = any(isinstance(mark, articulations.BreathMark) for mark in element.articulations)
        events.append(
            _Event(
                midi,
                float(element.getOffsetInHierarchy(line)),
                float(element.quarterLength),
                bar,
                1.0 + measure_offset * denominator / 4.0,
                breath,
            )
        )
    if chord_bars:
        bars = sorted(set(chord_bars))
        shown = ", ".join(str(bar) for bar in bars[:8]) + (" ..." if len(bars) > 8 else "")
        warnings.append(f"{path.name}: chords in bars {shown}; took the top note of each")
    if not any(event.midi is not None for event in events):
        raise ScoreError(f"{path}: the part has no notes")
    return _merge_rests(events)


def _midi(path: Path, bar: int, pitch: Any) -> int:
    midi = round(pitch.ps)
    if not 0 <= midi <= 127:
        raise ScoreError(f"{path}, bar {bar}: {pitch.nameWithOctave} is outside the MIDI range (C-1 to G9)")
    return midi


def _merge_rests(events: list[_Event]) -> list[_Event]:
    """Adjacent rests become one (MIDI files split them at bar lines): a rest is a silence, however it is written."""
    merged: list[_Event] = []
    for event in events:
        before = merged[-1] if merged else None
        if event.midi is None and before is not None and before.midi is None:
            length = event.onset_beats + event.duration_beats - before.onset_beats
            merged[-1] = _Event(None, before.onset_beats, length, before.bar, before.beat, before.breath_after)
        else:
            merged.append(event)
    return merged


def _tempos(path: Path, parsed: Any, warnings: list[str]) -> tuple[TempoChange, ...]:
    from music21 import tempo

    by_beat: dict[float, float] = {}
    for mark in parsed.recurse().getElementsByClass(tempo.MetronomeMark):
        bpm = mark.getQuarterBPM()
        if bpm is None:
            continue
        if not 1.0 <= bpm <= 1000.0:
            raise ScoreError(f"{path}: a tempo of {bpm:g} quarter notes a minute is not playable")
        by_beat[float(mark.getOffsetInHierarchy(parsed))] = round(float(bpm), 3)
    if not by_beat:
        warnings.append(f"{path.name}: no tempo in the file; {DEFAULT_BPM:g} quarter notes a minute assumed")
        return (TempoChange(0.0, DEFAULT_BPM),)
    beats = sorted(by_beat)
    changes = [TempoChange(0.0, by_beat[beats[0]])]  # the first tempo holds from the start
    changes += [TempoChange(beat, by_beat[beat]) for beat in beats[1:] if by_beat[beat] != changes[-1].bpm]
    return tuple(changes)


def _phrase_starts(line: Any, events: list[_Event]) -> set[int]:
    """Indices of the notes that start a phrase (the first note excluded): where a slur starts, else after a breath
    mark, else after a rest of a beat or more, else every PHRASE_BARS bars."""
    from music21 import spanner

    sounding = [i for i, event in enumerate(events) if event.midi is not None]
    first = sounding[0]

    def note_at_or_after(beats: Iterable[float]) -> set[int]:
        starts = set()
        for beat in beats:
            later = [i for i in sounding if events[i].onset_beats >= beat - 1e-6]
            if later and later[0] != first:
                starts.add(later[0])
        return starts

    slurs = line.recurse().getElementsByClass(spanner.Slur)
    slur_starts = note_at_or_after(
        float(slur.getFirst().getOffsetInHierarchy(line)) for slur in slurs if slur.getFirst() is not None
    )
    if slur_starts:
        return slur_starts
    breaths = note_at_or_after(e.onset_beats + e.duration_beats for e in events if e.breath_after)
    if breaths:
        return breaths
    rests = note_at_or_after(
        e.onset_beats + e.duration_beats for e in events if e.midi is None and e.duration_beats >= LONG_REST_BEATS
    )
    if rests:
        return rests
    first_bar = events[first].bar
    return {
        i for i in sounding if i != first and (events[i].bar - first_bar) % PHRASE_BARS == 0 and _starts_bar(i, events)
    }


def _starts_bar(i: int, events: list[_Event]) -> bool:
    """Whether note i is the first sounding note of its bar."""
    return not any(events[j].midi is not None and events[j].bar == events[i].bar for j in range(i))


def _score(path: Path, parsed: Any, line: Any, events: list[_Event], warnings: list[str]) -> Score:
    from music21 import key, meter

    tempos = _tempos(path, parsed, warnings)
    starts = _phrase_starts(line, events)
    breath_after = {i + 1 for i, event in enumerate(events) if event.breath_after}
    notes: list[ScoreNote] = []
    segment = 0
    breath_pending = False
    for i, event in enumerate(events):
        breath_pending = breath_pending or i in breath_after
        is_note = event.midi is not None
        segment += i in starts
        breath = is_note and (breath_pending or i in starts)
        breath_pending = breath_pending and not is_note
        notes.append(
            ScoreNote(i, event.midi, event.onset_beats, event.duration_beats, event.bar, event.beat, breath, segment)
        )
    signature = line.recurse().getElementsByClass(meter.TimeSignature).first()
    if signature is None:
        warnings.append(f"{path.name}: no time signature; 4/4 assumed")
    signature_key = line.recurse().getElementsByClass(key.KeySignature).first()
    metadata = parsed.metadata
    return Score(
        title=(metadata.bestTitle if metadata is not None and metadata.bestTitle else path.stem),
        notes=tuple(notes),
        tempos=tempos,
        beats_per_bar=float(signature.numerator) if signature is not None else 4.0,
        beat_unit=signature.denominator if signature is not None else 4,
        segments=_segments(notes),
        source=str(path),
        composer=(metadata.composer or "") if metadata is not None else "",
        key=_key_name(signature_key),
        warnings=tuple(warnings),
    )


def _key_name(signature: Any) -> str:
    if signature is None:
        return ""
    found = signature.asKey() if not hasattr(signature, "tonic") else signature
    return f"{found.tonic.name.replace('-', 'b')} {found.mode}"


def _segments(notes: list[ScoreNote]) -> tuple[Segment, ...]:
    segments = []
    for index in range(notes[-1].segment + 1):
        bars = [note.bar for note in notes if note.segment == index]
        segments.append(Segment(index, min(bars), max(bars)))
    return tuple(segments)
