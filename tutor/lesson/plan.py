"""Lesson plans: the TOML a teacher writes, read into plain frozen settings the rest of the tutor uses.

`tomllib` reads the text and pydantic checks its shape (unknown keys, types, ranges); then the checks that need the
piece (bars that exist, segments in order) run against the score itself. Every problem becomes one line
`FILE:LINE: what is wrong; what is allowed`, all of them at once, in a `PlanError`: a teacher fixes a plan in one
go, and never sees a traceback. pydantic reports *where* as a path of keys; `_Locator` turns that path back into a
line of the text. The format, with every key, is in docs/lessons.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from flutex.hardware import PROFILES_DIR
from flutex.host.errors import UsageError
from flutex.tutor.assess.rules import TOLERANCE_CENTS
from flutex.tutor.lesson.modes import ADVANCE_RULES, FREE, GUIDED, MODES
from flutex.tutor.progress.rows import LessonPlanRef
from flutex.tutor.score.library import library_files
from flutex.tutor.score.load import ScoreError, load_score

PLANS_DIR = Path(__file__).resolve().parent / "plans"  # the plans that ship with Flute X
MAX_BYTES = 100_000  # a plan is a few kB; anything this big is not one
MAX_DEPTH = 6  # brackets nested in a plan: [[segments]] and bars = [1, 2] need 2
MAX_KEY_PARTS = 8  # dotted key parts (tempo.target_bpm has 2); tomllib slows down quadratically on long ones
INSTRUMENTS = ("flute", "voice")
POLICIES = ("dynamic", "static")

Location = tuple[str | int, ...]  # a path of keys (and segment indices), as pydantic reports one


class PlanError(UsageError):
    """A plan that cannot be used: one `FILE:LINE: problem` line per problem found."""


# The plan as the tutor uses it. Defaults live here, once; the schema below reads them.


@dataclass(frozen=True)
class PlanSegment:
    name: str
    first_bar: int
    last_bar: int
    notes: str = ""


@dataclass(frozen=True)
class TempoRamp:
    target_bpm: float | None  # None: the score's own tempo
    start_percent: int = 70  # first attempt at this % of target
    step_percent: int = 10  # up by this after a clean pass (to 100), down by this after a failed unguided one
    floor_percent: int = 50  # never below (the Flute X GPT system's floor too)

    def bpm(self, percent: int, score_bpm: float) -> float:
        """The tempo of an attempt at `percent` of the target (the score's own `score_bpm` when none is set)."""
        return (self.target_bpm or score_bpm) * percent / 100.0


@dataclass(frozen=True)
class PassCriteria:
    tolerance: str = "medium"  # pitch band: easy / medium / hard (flutex.tutor.assess.rules.TOLERANCE_CENTS)
    timing_ms: int = 150
    fingering: bool = True  # judge fingerings (False: only the sound)
    breath: bool = False  # judge breath marks (needs the belt)
    mastery_passes: int = 3  # clean unguided passes for a segment to count as mastered


@dataclass(frozen=True)
class GuidanceSettings:
    modes: tuple[str, ...] = MODES  # allowed modes (a subset of MODES; voice plans: only FREE)
    start: str = GUIDED  # first mode of a new segment (must be in modes)
    advance: str = "perfect"  # ADVANCE_RULES
    policy: str = "dynamic"  # "dynamic" (adaptive, fading) or "static" (the paper's baseline)
    # hint's first force, weakening by hint_step_permille per repetition while it still closes a hole (500); the
    # default is felt but never places the finger: a nudge, not guidance in all but name (docs/teaching.md)
    hint_force_permille: int = 450
    hint_step_permille: int = 150
    lead_ms: int = 130  # guided: a press starts this long before its note: the servo's travel, so the hole closes on it
    max_attempts: int = 8  # attempts at one segment before the lesson moves on regardless
    help: bool = True  # the "help me" input is live


@dataclass(frozen=True)
class ReviewSettings:
    desired_retention: float = 0.9  # fsrs


@dataclass(frozen=True)
class LessonPlan:
    path: Path | None
    title: str
    piece: str  # a library name or a file path (resolved relative to the plan)
    instrument: str  # "flute" or "voice"
    profile: str | None
    part: int | None
    transpose: int
    segments: tuple[PlanSegment, ...]  # in order; bars checked against the score (1..score.bars)
    tempo: TempoRamp
    passing: PassCriteria
    guidance: GuidanceSettings
    review: ReviewSettings
    teacher_notes: str
    click: bool = True
    count_in_beats: int = 4
    minutes: float | None = None

    def score_path(self) -> Path:
        """The piece's file: a file next to the plan, else a library piece (the plan was checked to name one)."""
        return piece_path(self.piece, None if self.path is None else self.path.parent)


def resolve_plan(name_or_path: str) -> Path:
    """The plan file a command argument names: an existing file, else a shipped plan's name (`first_lesson`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = {plan.stem: plan for plan in sorted(PLANS_DIR.glob("*.toml"))}
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise PlanError(f"{name_or_path}:1: no such file, and no shipped plan of that name ({', '.join(shipped)})")


def plan_ref(plan: LessonPlan) -> LessonPlanRef:
    """The plan as the progress store knows it. The digest covers what the segments are (the piece, how it is
    played, each segment's bars), since mastery and review cards are kept per segment: a new title or new notes
    keep a student's progress, new bars start it again."""
    taught = {
        "piece": plan.piece,
        "instrument": plan.instrument,
        "part": plan.part,
        "transpose": plan.transpose,
        "segments": [[segment.first_bar, segment.last_bar] for segment in plan.segments],
    }
    digest = hashlib.sha256(json.dumps(taught, sort_keys=True).encode()).hexdigest()[:16]
    path = "" if plan.path is None else str(plan.path)
    return LessonPlanRef(plan.title, path, digest)


def piece_path(piece: str, folder: Path | None) -> Path:
    """The file `piece` names: relative to `folder` (the plan's), else a library piece; ScoreError otherwise."""
    candidate = Path(piece) if folder is None else folder / piece
    if candidate.is_file():
        return candidate
    files = library_files()
    if piece in files:
        return files[piece]
    where = f"no file {candidate}" if folder is not None else "no such file"
    raise ScoreError(
        f"{where} and no library piece {piece!r}; library pieces: {', '.join(files)} (see `flutex scores`)"
    )


# The schema: what the TOML may hold. Each description says what is allowed; error messages quote it.


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Segment(_Table):
    name: str = Field("", max_length=100, description='a short name, e.g. "the first phrase"')
    bars: list[int] = Field(min_length=2, max_length=2, description="[FIRST, LAST], whole bar numbers of the piece")
    notes: str = Field("", max_length=2000, description="text for the student")


class _Tempo(_Table):
    target_bpm: float | None = Field(
        None, ge=20, le=300, description="quarter notes a minute, 20 to 300 (leave it out: the piece's own tempo)"
    )
    start_percent: int = Field(TempoRamp.start_percent, ge=10, le=100, description="a whole percent, 10 to 100")
    step_percent: int = Field(TempoRamp.step_percent, ge=1, le=50, description="a whole percent, 1 to 50")
    floor_percent: int = Field(TempoRamp.floor_percent, ge=10, le=100, description="a whole percent, 10 to 100")


class _Pass(_Table):
    tolerance: Literal[tuple(TOLERANCE_CENTS)] = Field(  # type: ignore[valid-type]
        PassCriteria.tolerance, description=f"one of {', '.join(TOLERANCE_CENTS)}"
    )
    timing_ms: int = Field(PassCriteria.timing_ms, ge=20, le=1000, description="whole milliseconds, 20 to 1000")
    fingering: bool = Field(PassCriteria.fingering, description="true or false")
    breath: bool = Field(PassCriteria.breath, description="true or false")
    mastery_passes: int = Field(PassCriteria.mastery_passes, ge=1, le=20, description="a whole number, 1 to 20")


class _Guidance(_Table):
    modes: list[Literal[MODES]] = Field(  # type: ignore[valid-type]
        list(GuidanceSettings.modes), min_length=1, description=f"a list of {', '.join(MODES)}"
    )
    start: Literal[MODES] = Field(GuidanceSettings.start, description=f"one of {', '.join(MODES)}")  # type: ignore[valid-type]
    advance: Literal[ADVANCE_RULES] = Field(  # type: ignore[valid-type]
        GuidanceSettings.advance, description=f"one of {', '.join(ADVANCE_RULES)}"
    )
    policy: Literal[POLICIES] = Field(GuidanceSettings.policy, description=f"one of {', '.join(POLICIES)}")  # type: ignore[valid-type]
    hint_force_permille: int = Field(
        GuidanceSettings.hint_force_permille, ge=100, le=1000, description="a whole number, 100 to 1000"
    )
    hint_step_permille: int = Field(
        GuidanceSettings.hint_step_permille, ge=0, le=500, description="a whole number, 0 to 500"
    )
    lead_ms: int = Field(GuidanceSettings.lead_ms, ge=0, le=1000, description="whole milliseconds, 0 to 1000")
    max_attempts: int = Field(GuidanceSettings.max_attempts, ge=1, le=100, description="a whole number, 1 to 100")
    help: bool = Field(GuidanceSettings.help, description="true or false")


class _Review(_Table):
    desired_retention: float = Field(
        ReviewSettings.desired_retention, ge=0.7, le=0.99, description="a number, 0.7 to 0.99"
    )


class _Plan(_Table):
    title: str = Field(min_length=1, max_length=200, description="text: the lesson's name, as the student sees it")
    piece: str = Field(
        min_length=1, max_length=1000, description="a library piece's name (see `flutex scores`) or a score file's path"
    )
    instrument: Literal[INSTRUMENTS] = Field("flute", description=f"one of {', '.join(INSTRUMENTS)}")  # type: ignore[valid-type]
    profile: str | None = Field(None, min_length=1, max_length=100, description="an instrument profile's name")
    part: int | None = Field(None, ge=1, le=100, description="a whole number from 1 (the first part)")
    transpose: int = Field(0, ge=-48, le=48, description="whole semitones, -48 to 48")
    teacher_notes: str = Field("", max_length=10_000, description="text")
    click: bool = Field(LessonPlan.click, description="true or false")
    count_in_beats: int = Field(LessonPlan.count_in_beats, ge=0, le=16, description="a whole number, 0 to 16")
    minutes: float | None = Field(None, gt=0, le=240, description="a number of minutes, above 0 and at most 240")
    tempo: _Tempo = Field(default_factory=_Tempo, description="a table: [tempo]")
    passing: _Pass = Field(default_factory=_Pass, alias="pass", description="a table: [pass]")
    guidance: _Guidance = Field(default_factory=_Guidance, description="a table: [guidance]")
    review: _Review = Field(default_factory=_Review, description="a table: [review]")
    segments: list[_Segment] = Field(
        min_length=1, max_length=100, description="one [[segments]] table per segment, 1 to 100 of them"
    )


# Reading


def load_plan(path: Path) -> LessonPlan:
    """The plan in `path`; raises PlanError (every problem, each `FILE:LINE: ...`) for anything a teacher must fix."""
    path = Path(path)
    if not path.exists():
        raise PlanError(f"{path}:1: no such file; write one with `flutex plan new {path}`")
    if not path.is_file():
        raise PlanError(f"{path}:1: not a file (a folder?); name a plan's .toml file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PlanError(f"{path}:1: cannot read it ({error.strerror})") from None
    if len(data) > MAX_BYTES:
        raise PlanError(f"{path}:1: {len(data)} bytes is too big for a lesson plan (at most {MAX_BYTES})")
    if b"\x00" in data or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PlanError(f"{path}:1: not a text file (binary or UTF-16 data); a plan is UTF-8 TOML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PlanError(f"{path}:{line}: not UTF-8 text (byte {error.start}); save the plan as UTF-8") from None
    return _parse(text, str(path), path)


def parse_plan(text: str, source: str) -> LessonPlan:
    """The plan in `text`, errors naming `source`; a piece given as a path is found relative to the working folder."""
    if len(text) > MAX_BYTES:
        raise PlanError(f"{source}:1: {len(text)} characters is too big for a lesson plan (at most {MAX_BYTES})")
    return _parse(text, source, None)


def _parse(text: str, source: str, path: Path | None) -> LessonPlan:
    locator = _Locator(text)
    data = _toml(text, source, locator)
    if not data:
        raise PlanError(f"{source}:1: the plan is empty; start from the template: `flutex plan new FILE`")
    try:
        model = _Plan.model_validate(data)
    except ValidationError as error:
        problems = [(tuple(e["loc"]), _message(e)) for e in error.errors(include_url=False)]
        raise PlanError(_report(source, locator, problems)) from None
    folder = None if path is None else path.parent
    problems = list(_check(model, folder))
    if problems:
        raise PlanError(_report(source, locator, problems))
    return _plan(model, path)


def _toml(text: str, source: str, locator: _Locator) -> dict[str, Any]:
    if locator.too_deep is not None:
        line, what = locator.too_deep
        raise PlanError(f"{source}:{line}: {what}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        reason = message.split(" (at ")[0]
        if found:
            line, where = int(found[1]), f"column {found[2]}"
        else:
            line, where = text.count("\n") + 1, "the end"
        raise PlanError(
            f"{source}:{line}: TOML syntax error at {where}: {reason}; "
            "write `key = value`, text in quotes, tables as [name] (see docs/lessons.md)"
        ) from None
    except RecursionError:  # the depth scan above is approximate around odd quoting; tomllib recursed anyway
        raise PlanError(f"{source}:1: nested too deeply; a plan needs at most {MAX_DEPTH} levels") from None


def _report(source: str, locator: _Locator, problems: Iterable[tuple[Location, str]]) -> str:
    lines = sorted(((locator.line(loc), message) for loc, message in problems), key=lambda item: item[0])
    return "\n".join(f"{source}:{line}: {message}" for line, message in lines)


# Messages


_WHAT_IS_WRONG = {
    "int_type": "not a whole number",
    "float_type": "not a number",
    "bool_type": "not true or false",
    "string_type": "not text (put text in quotes)",
    "list_type": "not a list [...]",
    "model_type": "not a table",
    "dict_type": "not a table",
    "literal_error": "not one of the choices",
    "too_short": "too few items",
    "too_long": "too many items",
    "string_too_short": "empty",
    "string_too_long": "too long",
    "greater_than_equal": "out of range",
    "less_than_equal": "out of range",
    "greater_than": "out of range",
    "less_than": "out of range",
}


def _message(error: Any) -> str:
    """One pydantic error in a teacher's words: the key, what is wrong with it, and what it allows."""
    loc = tuple(error["loc"])
    kind = error["type"]
    where = _where(loc)
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    field = _field(loc)
    allowed = field.description if field is not None else "see docs/lessons.md"
    if kind == "missing":
        return f"{where} is missing; it is required: {allowed}"
    wrong = _WHAT_IS_WRONG.get(kind, error["msg"])
    return f"{where} = {_shown(error['input'])}: {wrong}; allowed: {allowed}"


def _unknown_key(loc: Location) -> str:
    key = str(loc[-1])
    table = _model_at(loc[:-1])
    known = [field.alias or name for name, field in table.model_fields.items()] if table is not None else []
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    table = loc[:-1]
    inside = "" if not table else f" in [{table[0]}]" if len(table) == 1 else f" in {_where(table)}"
    return f"unknown key {key!r}{inside}{hint} (known keys: {', '.join(known)})"


def _where(loc: Location) -> str:
    """How a teacher finds a key: `title`, `[tempo] target_bpm`, `segment 2 bars`."""
    if not loc:
        return "the plan"
    if loc[0] == "segments" and len(loc) > 1 and isinstance(loc[1], int):
        rest = " ".join(str(part) for part in loc[2:3])
        return f"segment {loc[1] + 1}" + (f" {rest}" if rest else "")
    if len(loc) > 1:
        return f"[{loc[0]}] {loc[1]}"
    return str(loc[0])


def _shown(value: Any) -> str:
    """A value as TOML writes it; lists and tables by kind only (they may be nested deep)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list):
        scalars = len(value) <= 8 and all(isinstance(item, str | int | float) for item in value)
        return "[" + ", ".join(_shown(item) for item in value) + "]" if scalars else "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # dates and times


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The table model an annotation holds (`_Tempo`, `list[_Segment]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((model for arg in typing.get_args(annotation) if (model := _model_in(arg)) is not None), None)


def _fields_along(loc: Location) -> Iterator[tuple[type[BaseModel], FieldInfo | None]]:
    """Walks `loc` from the plan's model: each table model reached and the field named in it."""
    model: type[BaseModel] | None = _Plan
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return
        by_key = {field.alias or name: field for name, field in model.model_fields.items()}
        field = by_key.get(part)
        yield model, field
        model = None if field is None else _model_in(field.annotation)


def _field(loc: Location) -> FieldInfo | None:
    fields = [field for _, field in _fields_along(loc)]
    return fields[-1] if fields else None


def _model_at(loc: Location) -> type[BaseModel] | None:
    """The table model at `loc` (the plan's own at ())."""
    if not loc:
        return _Plan
    field = _field(loc)
    return None if field is None else _model_in(field.annotation)


# Checks that need more than one key, or the piece


def _check(model: _Plan, folder: Path | None) -> Iterator[tuple[Location, str]]:
    yield from _check_guidance(model)
    tempo = model.tempo
    if tempo.floor_percent > tempo.start_percent:
        yield (
            ("tempo", "floor_percent"),
            f"[tempo] floor_percent = {tempo.floor_percent} is above start_percent = {tempo.start_percent}; "
            "the floor must be at most the start",
        )
    if model.profile is not None and not (PROFILES_DIR / f"{model.profile}.json").is_file():
        known = ", ".join(sorted(path.stem for path in PROFILES_DIR.glob("*.json")))
        yield ("profile",), f"profile = {_shown(model.profile)} is no instrument profile; known profiles: {known}"
    yield from _check_segments(model, folder)


def _check_guidance(model: _Plan) -> Iterator[tuple[Location, str]]:
    guidance = model.guidance
    given = guidance.model_fields_set
    modes = _modes(model)
    repeated = sorted({mode for mode in guidance.modes if guidance.modes.count(mode) > 1})
    if repeated:
        yield ("guidance", "modes"), f"[guidance] modes lists {', '.join(repeated)} more than once; list each once"
    if model.instrument == "voice" and "modes" in given and set(modes) != {FREE}:
        yield (
            ("guidance", "modes"),
            f"[guidance] modes = {_shown(list(modes))}: a singing plan has no fingers to guide; "
            'allowed: modes = ["free"]',
        )
    start = _start(model)
    if start in modes or (model.instrument == "voice" and "start" not in given):
        return
    if "start" in given:
        yield (
            ("guidance", "start"),
            f"[guidance] start = {_shown(start)} is not one of the plan's modes; allowed: one of {', '.join(modes)}",
        )
    else:
        yield (
            ("guidance", "modes"),
            f"[guidance] modes leaves out {start}, where every segment starts unless start says otherwise; "
            f"add it, or set start to one of {', '.join(modes)}",
        )


def _check_segments(model: _Plan, folder: Path | None) -> Iterator[tuple[Location, str]]:
    before: tuple[int, int, int] | None = None  # the previous segment: its number, first and last bars
    for number, segment in enumerate(model.segments):
        first, last = segment.bars
        loc = ("segments", number, "bars")
        if first > last:
            yield loc, f"segment {number + 1} bars = [{first}, {last}] end before they start; write [FIRST, LAST]"
            continue
        if before is not None and first <= before[2]:
            yield (
                loc,
                f"segment {number + 1} bars = [{first}, {last}] {'overlap' if last >= before[1] else 'come before'} "
                f"segment {before[0] + 1} (bars {before[1]}-{before[2]}); segments go in order, each starting "
                "after the last one ends",
            )
        before = (number, first, last)
    try:
        score = load_score(piece_path(model.piece, folder), part=model.part)
    except ScoreError as error:
        yield ("piece",), f"piece = {_shown(model.piece)}: {error}"
        return
    first_bar = min(note.bar for note in score.notes)  # 0 where the piece starts with a pickup
    for number, segment in enumerate(model.segments):
        outside = [bar for bar in segment.bars if not first_bar <= bar <= score.bars]
        if outside:
            yield (
                ("segments", number, "bars"),
                f"segment {number + 1} bars = {segment.bars}: bar {outside[0]} is not in {model.piece} "
                f"({score.bars} bars); allowed: {first_bar} to {score.bars}",
            )


def _modes(model: _Plan) -> tuple[str, ...]:
    """The allowed modes: as written, else every mode (a flute) or only free (a voice: no fingers to guide)."""
    if "modes" in model.guidance.model_fields_set or model.instrument == "flute":
        return tuple(dict.fromkeys(model.guidance.modes))
    return (FREE,)


def _start(model: _Plan) -> str:
    if "start" in model.guidance.model_fields_set or model.instrument == "flute":
        return model.guidance.start
    return FREE


def _plan(model: _Plan, path: Path | None) -> LessonPlan:
    guidance = model.guidance.model_dump()
    guidance.update(modes=_modes(model), start=_start(model))
    return LessonPlan(
        path=path,
        title=model.title,
        piece=model.piece,
        instrument=model.instrument,
        profile=model.profile,
        part=model.part,
        transpose=model.transpose,
        segments=tuple(
            PlanSegment(segment.name or f"bars {segment.bars[0]}-{segment.bars[1]}", *segment.bars, segment.notes)
            for segment in model.segments
        ),
        tempo=TempoRamp(**model.tempo.model_dump()),
        passing=PassCriteria(**model.passing.model_dump()),
        guidance=GuidanceSettings(**guidance),
        review=ReviewSettings(**model.review.model_dump()),
        teacher_notes=model.teacher_notes,
        click=model.click,
        count_in_beats=model.count_in_beats,
        minutes=model.minutes,
    )


# Where a key is written


_KEY = r"(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*({_DOTTED})\s*\]")
_KEY_LINE = re.compile(rf"\s*({_DOTTED})\s*=")
_KEY_PART = re.compile(_KEY)
_LONG_KEY = re.compile(rf"(?:{_KEY}\s*\.\s*){{{MAX_KEY_PARTS}}}{_KEY}")


class _Locator:
    """The line each key path is written on, found by a light scan of the text (string contents and comments
    blanked out, so a line inside teacher notes never looks like a key). It also measures bracket depth and dotted
    key length before tomllib sees the text, which recurses on the one and slows down on the other."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Location, int] = {}
        self.too_deep: tuple[int, str] | None = None
        code = _blank_strings(text)
        self._measure(code)
        if self.too_deep is None:
            self._scan(code.split("\n"), text.split("\n"))

    def line(self, loc: Location) -> int:
        """The line of the longest part of `loc` that is written down (1 when none is: a key left out)."""
        for end in range(len(loc), 0, -1):
            if loc[:end] in self._lines:
                return self._lines[loc[:end]]
        return 1

    def _measure(self, code: str) -> None:
        depth = 0
        for position, char in enumerate(code):
            depth = max(0, depth + (char in "[{") - (char in "]}"))
            if depth > MAX_DEPTH:
                line = code.count("\n", 0, position) + 1
                self.too_deep = (line, f"brackets nested more than {MAX_DEPTH} deep; a plan needs 2 (bars = [1, 2])")
                return
        long_key = _LONG_KEY.search(code)
        if long_key is not None:
            line = code.count("\n", 0, long_key.start()) + 1
            self.too_deep = (
                line,
                f"a dotted key of more than {MAX_KEY_PARTS} parts; a plan needs 2 (tempo.target_bpm)",
            )

    def _scan(self, code_lines: list[str], text_lines: list[str]) -> None:
        table: Location = ()
        arrays: dict[tuple[str, ...], int] = {}  # each array of tables: the index of its newest element
        for number, (code, text) in enumerate(zip(code_lines, text_lines, strict=True), 1):
            if found := _ARRAY_HEADER.match(code):
                names = _names(text[found.start(1) : found.end(1)])
                arrays[names] = arrays.get(names, -1) + 1
                table = (*_resolved(names[:-1], arrays), names[-1], arrays[names])
                self._lines.setdefault(table, number)
            elif found := _TABLE_HEADER.match(code):
                table = _resolved(_names(text[found.start(1) : found.end(1)]), arrays)
                self._lines.setdefault(table, number)
            elif found := _KEY_LINE.match(code):
                self._lines.setdefault((*table, *_names(text[found.start(1) : found.end(1)])), number)


def _names(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _KEY_PART.findall(dotted))


def _resolved(names: tuple[str, ...], arrays: dict[tuple[str, ...], int]) -> Location:
    """A table header's names as a key path: each array of tables along it followed by its newest index."""
    path: list[str | int] = []
    for end in range(1, len(names) + 1):
        path.append(names[end - 1])
        if names[:end] in arrays:
            path.append(arrays[names[:end]])
    return tuple(path)


def _blank_strings(text: str) -> str:
    """`text` with every string's contents replaced by x and every comment by spaces, line breaks kept, so that
    positions and line numbers stay those of `text`. Approximate on malformed text, which tomllib then refuses."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, i) else char
            end = _string_end(text, i + len(quote), quote)
            out.append(quote + "".join(c if c == "\n" else "x" for c in text[i + len(quote) : end]))
            out.append(text[end : end + len(quote)])
            i = end + len(quote)
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _string_end(text: str, start: int, quote: str) -> int:
    """Where the string opened before `start` closes (the line's end for an unclosed one-line string)."""
    i = start
    while i < len(text):
        if text.startswith(quote, i):
            return i
        if text[i] == "\n" and len(quote) == 1:
            return i
        i += 2 if text[i] == "\\" and quote[0] == '"' else 1
    return len(text)
