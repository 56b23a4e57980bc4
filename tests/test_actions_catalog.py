"""The action catalog: one definition gives the schemas a model reads, the validation of what it sends back and the
`--json` form of a call; anything that does not fit is refused with one clear line, and nothing else escapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.tutor.actions.catalog import ACTIONS, ActionRejected, call_json, parse_call, tool_schemas

NAMES = [
    "start_lesson", "set_mode", "set_tempo", "set_haptics", "repeat_segment", "play_demo", "show_view", "explain",
    "progress", "remember", "wait", "pause", "resume", "stop",
]  # fmt: skip
VALID = [
    ("start_lesson", {"plan": "first_lesson"}),
    ("start_lesson", {"piece": "twinkle_twinkle"}),
    ("set_mode", {"mode": "hint"}),
    ("set_mode", {"mode": "adaptive"}),
    ("set_tempo", {"bpm": 72}),
    ("set_tempo", {"bpm": 72.5}),
    ("set_tempo", {"percent": 80}),
    ("set_haptics", {"enabled": False}),
    ("set_haptics", {"enabled": True, "strength": 400}),
    ("repeat_segment", {"start_bar": 3, "end_bar": 4}),
    ("repeat_segment", {"start_bar": 3, "end_bar": 3, "times": 10}),
    ("play_demo", {"start_bar": 1, "end_bar": 2}),
    ("show_view", {"view": "breath"}),
    ("explain", {"topic": "hint"}),
    ("progress", {}),
    ("remember", {"fact": "likes to start slowly"}),
    ("wait", {}),
    ("pause", {}),
    ("resume", {}),
    ("stop", {}),
]
REFUSED = [
    ("set_tempo", '{"percent": 400}', "set_tempo: percent 400 is above 150"),
    ("set_tempo", '{"percent": 10}', "percent 10 is below 25"),
    ("set_tempo", '{"bpm": 500}', "bpm 500 is above 240"),
    ("set_tempo", '{"bpm": NaN}', "bpm must be a finite number"),
    ("set_tempo", "{}", "give exactly one of bpm or percent"),
    ("set_tempo", '{"bpm": 60, "percent": 50}', "give exactly one of bpm or percent"),
    ("set_tempo", '{"percent": 80.5}', "percent 80.5 is not allowed: a whole percent"),
    ("set_tempo", '{"percent": "80"}', 'percent "80" is not allowed'),
    ("start_lesson", "{}", "give exactly one of plan or piece"),
    ("start_lesson", '{"plan": "a", "piece": "b"}', "give exactly one of plan or piece"),
    ("set_mode", '{"mode": "turbo"}', 'mode "turbo" is not allowed: guided, corrective, hint, free, or adaptive'),
    ("set_mode", "", "mode is missing"),
    ("set_haptics", '{"enabled": "yes"}', 'enabled "yes" is not allowed'),
    ("set_haptics", '{"enabled": true, "strength": 1001}', "strength 1001 is above 1000"),
    ("repeat_segment", '{"start_bar": 5, "end_bar": 2}', "end_bar 2 is before start_bar 5"),
    ("repeat_segment", '{"start_bar": 0, "end_bar": 2}', "start_bar 0 is below 1"),
    ("repeat_segment", '{"start_bar": 1, "end_bar": 2, "times": 11}', "times 11 is above 10"),
    ("play_demo", '{"start_bar": 1}', "end_bar is missing"),
    ("show_view", '{"view": "score"}', 'view "score" is not allowed'),
    ("explain", '{"topic": ""}', "topic is empty"),
    ("remember", json.dumps({"fact": "x" * 201}), "fact is longer than 200 characters"),
    ("stop", '{"now": true}', 'no argument "now" (arguments: none)'),
    ("pause", "[1, 2]", "the arguments must be a JSON object, not [1, 2]"),
    ("pause", '"pause"', "the arguments must be a JSON object"),
    ("explain", '{"topic": "hint"', "the arguments are not valid JSON"),
    ("set_temp", "{}", 'no action "set_temp" (did you mean set_tempo?); actions: start_lesson'),
]


def test_the_actions_and_their_order():
    assert list(ACTIONS) == NAMES
    assert [tool["function"]["name"] for tool in tool_schemas()] == NAMES
    read_only = {name for name, action in ACTIONS.items() if action.READ_ONLY}
    assert read_only == {"explain", "progress", "show_view", "wait"}


def walk(schema: Any):
    yield schema
    if isinstance(schema, dict):
        for value in schema.values():
            yield from walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk(value)


def test_schemas_come_from_the_classes():
    for tool in tool_schemas():
        assert tool["type"] == "function"
        function = tool["function"]
        action = ACTIONS[function["name"]]
        parameters = function["parameters"]
        assert function["description"] == " ".join(action.__doc__.split())
        assert parameters["type"] == "object"
        assert parameters["additionalProperties"] is False
        assert set(parameters["properties"]) == set(action.model_fields)
        assert set(parameters.get("required", ())) == {n for n, f in action.model_fields.items() if f.is_required()}
        for name, field in action.model_fields.items():
            assert parameters["properties"][name]["description"] == field.description
        assert not any(isinstance(part, dict) and "title" in part for part in walk(parameters))
    tempo = next(tool for tool in tool_schemas() if tool["function"]["name"] == "set_tempo")["function"]
    percent = tempo["parameters"]["properties"]["percent"]["anyOf"][0]
    assert (percent["minimum"], percent["maximum"]) == (25, 150)
    json.dumps(tool_schemas())  # plain JSON, as sent to a server


@pytest.mark.parametrize(("name", "arguments"), VALID)
def test_valid_calls_parse_and_round_trip(name, arguments):
    from_dict = parse_call(name, arguments)
    from_text = parse_call(name, json.dumps(arguments))
    assert from_dict == from_text
    assert call_json(from_text) == {"name": name, "arguments": arguments}
    assert parse_call(name, json.dumps(call_json(from_text)["arguments"])) == from_text


def test_no_arguments_may_be_written_several_ways():
    for text in ("", "  ", "null", "{}", None):
        assert call_json(parse_call("progress", text)) == {"name": "progress", "arguments": {}}


@pytest.mark.parametrize(("name", "arguments", "expected"), REFUSED)
def test_refused_calls_say_what_is_wrong(name, arguments, expected):
    with pytest.raises(ActionRejected) as refused:
        parse_call(name, arguments)
    message = str(refused.value)
    assert expected in message
    assert "\n" not in message


def test_a_huge_value_is_not_quoted_whole():
    with pytest.raises(ActionRejected) as refused:
        parse_call("set_mode", json.dumps({"mode": "x" * 10_000}))
    assert len(str(refused.value)) < 300


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(sorted({field for action in ACTIONS.values() for field in action.model_fields}))
ARGUMENTS = st.dictionaries(FIELD_NAMES | st.text(max_size=8), JSON_VALUES, max_size=4)
CALL_NAMES = st.sampled_from(NAMES) | st.text(max_size=20)


@settings(max_examples=400, deadline=None)
@given(
    name=CALL_NAMES,
    arguments=ARGUMENTS
    | JSON_VALUES
    | st.dictionaries(st.integers(), JSON_VALUES, max_size=2)
    | ARGUMENTS.map(json.dumps)
    | JSON_VALUES.map(json.dumps)
    | st.text(max_size=60)
    | st.text(alphabet='{}[]":,0123456789.-eEtruflasnN ', max_size=60),
)
def test_parse_call_raises_nothing_but_action_rejected(name, arguments):
    try:
        action = parse_call(name, arguments)
    except ActionRejected as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert name == action.NAME
        assert parse_call(name, call_json(action)["arguments"]) == action


def test_deeply_nested_json_is_refused_not_crashing():
    with pytest.raises(ActionRejected):
        parse_call("explain", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ActionRejected):
        parse_call("explain", '{"topic": ' + "[" * 100_000 + "]" * 100_000 + "}")
