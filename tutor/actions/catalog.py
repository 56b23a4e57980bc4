"""The actions the tutor can take, defined once: each is a pydantic model whose docstring is the description a
language model reads and whose fields are its arguments. The JSON schema the model is given, the validation of what
it (or the command line) sends back, and the `--json` form of a call all come from these classes, so they cannot
drift apart. Validation is strict: a call that does not fit is refused with one line saying what is wrong and what
is allowed, before anything runs.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flutex.host.errors import FlutexError

SHOWN_INPUT_CHARS = 40  # a wrong value is quoted in the message up to this long (model output can be huge)
MIN_BPM, MAX_BPM = 20.0, 240.0
MIN_PERCENT, MAX_PERCENT = 25, 150
MAX_STRENGTH = 1000  # permille: FULL_FORCE
MAX_TIMES = 10


class ActionRejected(FlutexError):
    """A call that names no action or whose arguments do not fit it; the message says what is allowed."""


class Action(BaseModel):
    """Base of every action; subclasses set NAME and, when they change nothing, READ_ONLY."""

    model_config = ConfigDict(extra="forbid", strict=True)
    NAME: ClassVar[str]
    READ_ONLY: ClassVar[bool] = False

    def describe(self) -> str:
        """What the action does, as a verb phrase ("set the tempo to 80%"): dry runs say "would ..." with it."""
        return self.NAME.replace("_", " ")


class StartLesson(Action):
    """Start a lesson: either a lesson plan (a shipped plan's name such as "first_lesson", or a plan file) or a
    library piece (a lesson is made for it from the default plan). Refused while a lesson is running."""

    NAME = "start_lesson"
    plan: str | None = Field(None, min_length=1, max_length=300, description="a shipped plan's name or a plan file")
    piece: str | None = Field(None, min_length=1, max_length=100, description="a library piece's name")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.plan is None) == (self.piece is None):
            raise ValueError("give exactly one of plan or piece")
        return self

    def describe(self) -> str:
        return f"start the lesson plan {self.plan}" if self.plan else f"start a lesson on {self.piece}"


class SetMode(Action):
    """Choose how much the flute's servos help from the next attempt: guided (press every fingering), hint (a
    lighter press), corrective (only when a finger is wrong), free (no help), or adaptive (the lesson decides)."""

    NAME = "set_mode"
    mode: Literal["guided", "corrective", "hint", "free", "adaptive"] = Field(
        description="guided, corrective, hint, free, or adaptive (hand the choice back to the lesson)"
    )

    def describe(self) -> str:
        return f"set the guidance to {self.mode} from the next attempt"


class SetTempo(Action):
    """Set the tempo from the next attempt, either in beats per minute or in percent of the lesson's target tempo
    (exactly one of them). The tutor keeps it between the lesson's floor and 150%."""

    NAME = "set_tempo"
    bpm: float | None = Field(None, ge=MIN_BPM, le=MAX_BPM, description="quarter notes a minute, 20 to 240")
    percent: int | None = Field(
        None, ge=MIN_PERCENT, le=MAX_PERCENT, description="a whole percent of the target tempo, 25 to 150"
    )

    @model_validator(mode="after")
    def _one_unit(self) -> Self:
        if (self.bpm is None) == (self.percent is None):
            raise ValueError("give exactly one of bpm or percent")
        return self

    def describe(self) -> str:
        return f"set the tempo to {self.bpm:g} bpm" if self.bpm is not None else f"set the tempo to {self.percent}%"


class SetHaptics(Action):
    """Turn the finger servos on or off for this lesson, and optionally set how hard they press (permille of a full
    press; under 500 the press is felt but cannot close a hole). Off means no press at all."""

    NAME = "set_haptics"
    enabled: bool = Field(description="true: the servos may press; false: they never do")
    strength: int | None = Field(
        None, ge=0, le=MAX_STRENGTH, description="thousandths of a full press, 0 to 1000 (leave out: the lesson's)"
    )

    def describe(self) -> str:
        strength = "" if self.strength is None or not self.enabled else f" at strength {self.strength}"
        return f"turn the haptics {'on' if self.enabled else 'off'}{strength}"


class _Bars(Action):
    """Base of the actions on a range of bars."""

    start_bar: int = Field(ge=1, description="the first bar, from 1")
    end_bar: int = Field(ge=1, description="the last bar, at least start_bar")

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.end_bar < self.start_bar:
            raise ValueError(f"end_bar {self.end_bar} is before start_bar {self.start_bar}")
        return self


class RepeatSegment(_Bars):
    """Play some bars again, a number of times, as attempts the student chose (they do not move the lesson on)."""

    NAME = "repeat_segment"
    times: int = Field(1, ge=1, le=MAX_TIMES, description="how many attempts, 1 to 10")

    def describe(self) -> str:
        return f"repeat bars {self.start_bar}-{self.end_bar} {_times(self.times)}"


class PlayDemo(_Bars):
    """Demonstrate some bars: a synthesized flute plays them while the servos press each fingering, so the student
    hears and feels them. Waits for the end of a running attempt."""

    NAME = "play_demo"

    def describe(self) -> str:
        return f"demonstrate bars {self.start_bar}-{self.end_bar}"


class ShowView(Action):
    """Show one of the live views to the student. Changes nothing in the lesson."""

    NAME = "show_view"
    READ_ONLY = True
    view: Literal["breath", "pitch", "fingering", "progress"] = Field(
        description="breath, pitch, fingering or progress"
    )

    def describe(self) -> str:
        return f"show the {self.view} view"


class Explain(Action):
    """Explain a topic to the student in a few sentences (modes, tempo, haptics, clutch, mastery, review, breath,
    belt, help, safety...); an unknown topic gives the list of topics."""

    NAME = "explain"
    READ_ONLY = True
    topic: str = Field(min_length=1, max_length=60, description="a topic's name, e.g. hint, mastery, clutch")

    def describe(self) -> str:
        return f"explain {self.topic}"


class Progress(Action):
    """How the student is doing: mastery per segment, their last lessons and the running lesson. Changes nothing."""

    NAME = "progress"
    READ_ONLY = True

    def describe(self) -> str:
        return "show how the student is doing"


class Remember(Action):
    """Keep a short fact about this student for later lessons: what helps them, what they asked for."""

    NAME = "remember"
    fact: str = Field(min_length=1, max_length=200, description="one short sentence about the student")

    def describe(self) -> str:
        return f"remember {json.dumps(self.fact, ensure_ascii=False)}"


class Wait(Action):
    """Do nothing and hand the turn back to the student (after asking them a question)."""

    NAME = "wait"
    READ_ONLY = True


class Pause(Action):
    """Pause the lesson at once (a running attempt is stopped and not counted)."""

    NAME = "pause"


class Resume(Action):
    """Resume a paused lesson."""

    NAME = "resume"


class Stop(Action):
    """End the lesson at once (a running attempt is stopped and not counted); the report follows."""

    NAME = "stop"


ACTIONS: dict[str, type[Action]] = {
    action.NAME: action
    for action in (
        StartLesson, SetMode, SetTempo, SetHaptics, RepeatSegment, PlayDemo, ShowView, Explain, Progress, Remember,
        Wait, Pause, Resume, Stop,
    )
}  # fmt: skip


def parse_call(name: str, arguments: str | dict[str, Any]) -> Action:
    """The action `name` with `arguments` (JSON text as a language model sends it, or a dict), validated; an empty
    text or "null" means no arguments. Raises ActionRejected, and only that, with one line for anything else."""
    if not isinstance(name, str) or name not in ACTIONS:
        raise ActionRejected(_unknown_action(name))
    action = ACTIONS[name]
    fields = _arguments(name, arguments)
    try:
        return action.model_validate(fields)
    except ValidationError as error:
        problems = [_problem(action, problem) for problem in error.errors(include_url=False)]
        raise ActionRejected(f"{name}: {'; '.join(dict.fromkeys(problems))}") from None


def tool_schemas() -> list[dict[str, Any]]:
    """Every action in the OpenAI tools format, described by its own class (docstring, fields, ranges)."""
    return [
        {
            "type": "function",
            "function": {"name": name, "description": _description(action), "parameters": _parameters(action)},
        }
        for name, action in ACTIONS.items()
    ]


def call_json(action: Action) -> dict[str, Any]:
    """The call as `--json` prints it: the name and only the arguments that were given."""
    return {"name": action.NAME, "arguments": action.model_dump(mode="json", exclude_unset=True)}


def _times(times: int) -> str:
    return {1: "once", 2: "twice"}.get(times, f"{times} times")


def _description(action: type[Action]) -> str:
    return " ".join(inspect.cleandoc(action.__doc__ or "").split())


def _parameters(action: type[Action]) -> dict[str, Any]:
    schema = _untitled(action.model_json_schema())
    schema.pop("description", None)  # the function's description already says it
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return schema


def _untitled(schema: Any) -> Any:
    """`schema` without pydantic's "title" keys (noise to a model), except a property that is named title."""
    if isinstance(schema, dict):
        return {key: _untitled(value) for key, value in schema.items() if key != "title" or isinstance(value, dict)}
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    return schema


def _unknown_action(name: object) -> str:
    names = list(ACTIONS)
    close = difflib.get_close_matches(name, names, n=1) if isinstance(name, str) else []
    guess = f" (did you mean {close[0]}?)" if close else ""
    return f"no action {_shown(name)}{guess}; actions: {', '.join(names)}"


def _arguments(name: str, arguments: object) -> dict[str, Any]:
    """The arguments as a dict: JSON text parsed (an empty text or null: none), anything but an object refused."""
    if isinstance(arguments, str):
        text = arguments.strip()
        if not text or text == "null":
            return {}
        try:
            arguments = json.loads(text)
        except (ValueError, RecursionError):
            raise ActionRejected(
                f'{name}: the arguments are not valid JSON ({_shown(text)}); send an object such as {{"key": 1}}'
            ) from None
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise ActionRejected(f"{name}: the arguments must be a JSON object, not {_shown(arguments)}")
    return arguments


def _problem(action: type[Action], error: Any) -> str:
    """One validation error as a student-readable phrase: "percent 400 is above 150"."""
    loc = error.get("loc") or ()
    field = ".".join(str(part) for part in loc) or "arguments"
    kind, value, ctx = error.get("type", ""), error.get("input"), error.get("ctx") or {}
    info = action.model_fields.get(str(loc[0])) if loc else None
    allowed = info.description if info is not None and info.description else ""
    if kind == "missing":
        return f"{field} is missing ({allowed})"
    if kind == "extra_forbidden":
        known = ", ".join(action.model_fields) or "none"
        return f"no argument {_shown(field)} (arguments: {known})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{field} must be a finite number ({allowed})"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{field} {_shown(value)} is below {ctx.get('ge', ctx.get('gt')):g}"
    if kind in ("less_than_equal", "less_than"):
        return f"{field} {_shown(value)} is above {ctx.get('le', ctx.get('lt')):g}"
    if kind == "string_too_short":
        return f"{field} is empty ({allowed})"
    if kind == "string_too_long":
        return f"{field} is longer than {ctx.get('max_length')} characters ({allowed})"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    return f"{field} {_shown(value)} is not allowed: {allowed or error.get('msg', '')}"


def _shown(value: object) -> str:
    """A value as quoted in a message, cut short."""
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= SHOWN_INPUT_CHARS else text[: SHOWN_INPUT_CHARS - 3] + "..."
