"""The OpenAI-compatible backend end to end: the real `openai` client over loopback HTTP to a scripted server."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import openai
import pytest
from chat_server import Call, ChatServer, Hang, HttpError, Malformed, Text, ToolCalls

from flutex.agent.backend import Backend, BackendError, Completion
from flutex.agent.config import BackendConfig, load_config
from flutex.agent.openai_backend import OpenAIBackend
from flutex.host.errors import UsageError

KEY = "sk-test-0123456789abcdef-secret"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} for the test",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": True},
        },
    }
    for name in ("set_tempo", "repeat_segment", "wait")
]
MESSAGES = [{"role": "system", "content": "You are a flute tutor."}, {"role": "user", "content": "slower please"}]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as chat_server:
        yield chat_server


@pytest.fixture
async def make_backend() -> AsyncIterator[Callable[..., OpenAIBackend]]:
    """Backends with test-sized timeouts, closed at the end (their connections belong to this test's loop)."""
    made: list[OpenAIBackend] = []

    def make(base_url: str, **settings: object) -> OpenAIBackend:
        values: dict[str, object] = {"model": "tiny-model", "api_key": KEY, "timeout_s": 0.5, "max_retries": 0}
        values.update(settings)
        backend = OpenAIBackend(BackendConfig(base_url=base_url, **values))  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


async def complete(backend: Backend, heard: list[str] | None = None) -> Completion:
    return await backend.complete(MESSAGES, TOOLS, heard.append if heard is not None else None)


# --- streaming and tool calls ---------------------------------------------------------------------------------------


async def test_text_streams_to_on_text_in_order(server, make_backend):
    server.script(Text("Let's ", "slow ", "down ", "to 70%."))
    heard: list[str] = []
    completion = await complete(make_backend(server.url), heard)
    assert heard == ["Let's ", "slow ", "down ", "to 70%."]
    assert completion == Completion(text="Let's slow down to 70%.", tool_calls=())


async def test_request_carries_model_tools_stream_and_key(server, make_backend):
    server.script(Text("ok"))
    await complete(make_backend(server.url))
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "tiny-model"
    assert request.body["tools"] == TOOLS
    assert request.body["messages"] == MESSAGES
    assert request.body["stream"] is True
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_no_tools_sends_no_tools_list(server, make_backend):
    server.script(Text("hello"))
    completion = await make_backend(server.url).complete(MESSAGES, [])
    assert completion.text == "hello" and "tools" not in server.requests[0].body


async def test_local_server_without_key_gets_a_placeholder(server, make_backend):
    server.script(Text("ok"))
    await complete(make_backend(server.url, api_key=None))
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


async def test_tool_call_split_across_chunks_is_assembled(server, make_backend):
    arguments = {"percent": 70, "note": "a long argument so that it really is cut in the middle of words"}
    server.script(ToolCalls((Call("set_tempo", arguments, id="call_abc"),), fragments=5))
    heard: list[str] = []
    completion = await complete(make_backend(server.url), heard)
    (call,) = completion.tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == ("call_abc", "set_tempo", arguments)
    assert completion.text == "" and heard == []


@pytest.mark.parametrize("interleaved", [False, True])
async def test_two_parallel_tool_calls_keep_their_own_arguments(server, make_backend, interleaved):
    first, second = {"percent": 70}, {"start_bar": 5, "end_bar": 6, "times": 3}
    calls = (Call("set_tempo", first), Call("repeat_segment", second))
    server.script(ToolCalls(calls, text="Sure.", fragments=4, interleaved=interleaved))
    completion = await complete(make_backend(server.url))
    assert [call.name for call in completion.tool_calls] == ["set_tempo", "repeat_segment"]
    assert [json.loads(call.arguments) for call in completion.tool_calls] == [first, second]
    assert len({call.id for call in completion.tool_calls}) == 2
    assert completion.text == "Sure."


async def test_tool_call_without_id_gets_one(server, make_backend):
    server.script(ToolCalls((Call("wait", {}, id=""),)))
    completion = await complete(make_backend(server.url))
    assert completion.tool_calls[0].id == "call_0" and completion.tool_calls[0].name == "wait"


async def test_bare_json_reply_naming_a_declared_tool_becomes_a_call(server, make_backend):
    server.script(Text('{"name": "set_tempo", ', '"arguments": {"percent": 70}}'))
    heard: list[str] = []
    completion = await complete(make_backend(server.url), heard)
    (call,) = completion.tool_calls
    assert call.name == "set_tempo" and json.loads(call.arguments) == {"percent": 70}
    assert completion.text == "" and heard == []  # the student never hears the JSON


@pytest.mark.parametrize(
    "pieces",
    [
        ('{"name": "launch_rockets", ', '"arguments": {}}'),  # not a declared tool
        ('{"name": "set_tempo", "arguments": {"percent": 70}, "extra": 1}',),
        ('{"name": "set_tempo", ', '"arguments": {"percent"'),  # cut short
        ('{"percent": 70} is what I would set',),
    ],
)
async def test_other_json_like_text_stays_text_and_is_heard(server, make_backend, pieces):
    server.script(Text(*pieces))
    heard: list[str] = []
    completion = await complete(make_backend(server.url), heard)
    assert completion.tool_calls == ()
    assert completion.text == "".join(pieces) and heard == list(pieces)


# --- retries, timeouts, failures ------------------------------------------------------------------------------------


async def test_503_is_retried_then_succeeds(server, make_backend):
    server.script(HttpError(503), Text("back"))
    completion = await complete(make_backend(server.url, max_retries=2))
    assert completion.text == "back"
    assert len(server.requests) == 2


async def test_429_waits_as_long_as_retry_after_says(server, make_backend):
    # 0.7 s is longer than the client's own first backoff (at most 0.5 s): the gap shows the header was obeyed
    server.script(HttpError(429, retry_after="0.7"), Text("ok"))
    completion = await complete(make_backend(server.url, max_retries=1))
    first, second = server.requests
    assert completion.text == "ok"
    assert second.t_s - first.t_s >= 0.7


async def test_errors_left_after_the_retries_name_the_status_and_the_attempts(server, make_backend):
    server.script(HttpError(500, message="CUDA out of memory"), HttpError(500, message="CUDA out of memory"))
    with pytest.raises(BackendError) as caught:
        await complete(make_backend(server.url, max_retries=1))
    assert str(caught.value) == (
        f"the server at {server.url} answered HTTP 500 after 2 attempts (the server says: CUDA out of memory)"
    )
    assert server.pending == 0


async def test_a_reply_slower_than_the_timeout_fails_within_a_bound(server, make_backend):
    server.script(Text("too late", delay_s=5), Text("too late", delay_s=5))
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"did not answer within 0.3 s \(2 attempts\)"):
        await complete(make_backend(server.url, timeout_s=0.3, max_retries=1))
    elapsed = time.monotonic() - start
    # two attempts of 0.3 s and one backoff of at most 0.5 s; well short of the 5 s the server would take
    assert 0.6 <= elapsed < 2.0
    assert len(server.requests) == 2


async def test_a_server_going_silent_mid_stream_times_out(server, make_backend):
    server.script(Hang(after_headers=True))
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"went silent for 0\.3 s in the middle of its reply"):
        await complete(make_backend(server.url, timeout_s=0.3))
    assert time.monotonic() - start < 2.0


async def test_a_hung_server_times_out(server, make_backend):
    server.script(Hang())
    with pytest.raises(BackendError, match=r"did not answer within 0\.3 s"):
        await complete(make_backend(server.url, timeout_s=0.3))


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def test_connection_refused_fails_quickly_and_says_what_to_do(make_backend):
    url = closed_port_url()
    start = time.monotonic()
    with pytest.raises(BackendError) as caught:
        await complete(make_backend(url, max_retries=2))
    elapsed = time.monotonic() - start
    assert str(caught.value) == (f"no OpenAI-compatible server answers at {url}: start it or fix FLUTEX_LLM_BASE_URL")
    assert elapsed < 2.5  # two backoffs (0.5 s and 1 s at most), no timeout to wait out


async def test_model_not_found_says_which_settings_to_check(server, make_backend):
    server.script(HttpError(404, message="model 'tiny-model' not found, try pulling it first"))
    with pytest.raises(BackendError, match=r"no model tiny-model at .*FLUTEX_LLM_MODEL.*not found, try pulling"):
        await complete(make_backend(server.url))


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_never_shown_in_the_message_nor_the_logs(server, make_backend, caplog, status):
    # servers quote what they were sent: the message must still not carry the key
    server.script(HttpError(status, message=f"Incorrect API key provided: {KEY}"))
    backend = make_backend(server.url)
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendError) as caught:
        await complete(backend)
    message = str(caught.value)
    assert f"HTTP {status}): check the key in FLUTEX_LLM_API_KEY" in message
    assert "Incorrect API key provided: ***" in message
    assert caplog.records, "the client logged nothing at DEBUG: the log check would be vacuous"
    for text in (message, caplog.text, repr(backend), backend.name, repr(backend._config), str(backend._config)):
        assert KEY not in text


async def test_a_server_wanting_a_key_when_none_was_sent_says_which_to_set(server, make_backend):
    server.script(HttpError(401, message="missing bearer token"))
    with pytest.raises(BackendError, match=r"refused the request \(HTTP 401\): it wants a key: set FLUTEX_LLM_API_KEY"):
        await complete(make_backend(server.url, api_key=None))


@pytest.mark.parametrize(
    ("body", "content_type", "what"),
    [
        ("data: {not json\n\n", "text/event-stream", "a streamed piece is not JSON"),
        ('data: {"choices": 1}\n\ndata: [DONE]\n\n', "text/event-stream", "a streamed piece has no list of choices"),
        ("<html>Welcome to nginx</html>", "text/html", "no chat-completion stream came back"),
    ],
)
async def test_malformed_replies_are_named_as_such(server, make_backend, body, content_type, what):
    server.script(Malformed(body, content_type=content_type))
    with pytest.raises(BackendError, match=f"sent a reply that is not a chat completion: {what}"):
        await complete(make_backend(server.url))


def test_name_says_model_and_server():
    backend = OpenAIBackend(BackendConfig(base_url="http://127.0.0.1:8080/v1", model="qwen2.5", api_key=KEY))
    assert backend.name == "openai-compatible (qwen2.5 at http://127.0.0.1:8080/v1)"


# --- configuration --------------------------------------------------------------------------------------------------


@pytest.fixture
def config_home(tmp_path) -> Path:
    (tmp_path / "flutex").mkdir()
    return tmp_path


def write_config(config_home: Path, text: str) -> Path:
    path = config_home / "flutex" / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_configured_is_none_even_with_an_openai_key(config_home):
    assert load_config({"XDG_CONFIG_HOME": str(config_home), "OPENAI_API_KEY": KEY}) is None


def test_environment_configures_the_backend(config_home):
    environ = {
        "XDG_CONFIG_HOME": str(config_home),
        "FLUTEX_LLM_BASE_URL": "http://127.0.0.1:8080/v1/",
        "FLUTEX_LLM_MODEL": "qwen2.5",
        "FLUTEX_LLM_API_KEY": KEY,
        "FLUTEX_LLM_TIMEOUT_S": "12.5",
        "FLUTEX_LLM_MAX_RETRIES": "0",
    }
    config = load_config(environ)
    assert config == BackendConfig(
        "http://127.0.0.1:8080/v1", "qwen2.5", KEY, timeout_s=12.5, max_retries=0, key_source="FLUTEX_LLM_API_KEY"
    )
    assert KEY not in repr(config) and KEY not in str(config)


def test_openai_key_is_used_only_for_a_configured_server(config_home):
    environ = {"XDG_CONFIG_HOME": str(config_home), "FLUTEX_LLM_BASE_URL": "https://api.openai.com/v1"}
    config = load_config({**environ, "FLUTEX_LLM_MODEL": "gpt-4o-mini", "OPENAI_API_KEY": KEY})
    assert config is not None and config.api_key == KEY and config.key_source == "OPENAI_API_KEY"
    assert load_config({**environ, "FLUTEX_LLM_MODEL": "gpt-4o-mini"}).api_key is None


def test_file_configures_the_backend_with_the_key_from_a_named_variable(config_home):
    path = write_config(
        config_home,
        'base_url = "http://localhost:11434/v1"\nmodel = "llama3.2"\napi_key_env = "MY_LLM_KEY"\n'
        "timeout_s = 60\nmax_retries = 4\n",
    )
    config = load_config({"XDG_CONFIG_HOME": str(config_home), "MY_LLM_KEY": KEY})
    assert config == BackendConfig(
        "http://localhost:11434/v1", "llama3.2", KEY, 60.0, 4, key_source=f"MY_LLM_KEY (api_key_env in {path})"
    )


def test_environment_wins_over_the_file(config_home):
    write_config(config_home, 'base_url = "http://localhost:11434/v1"\nmodel = "llama3.2"\ntimeout_s = 60\n')
    environ = {"XDG_CONFIG_HOME": str(config_home), "FLUTEX_LLM_MODEL": "qwen2.5", "FLUTEX_LLM_TIMEOUT_S": "5"}
    config = load_config(environ)
    assert (config.base_url, config.model, config.timeout_s) == ("http://localhost:11434/v1", "qwen2.5", 5.0)


def test_an_explicit_path_is_read_instead_of_the_default(config_home, tmp_path):
    write_config(config_home, 'base_url = "http://default/v1"\nmodel = "a"\n')
    other = tmp_path / "other.toml"
    other.write_text('base_url = "http://other/v1"\nmodel = "b"\n', encoding="utf-8")
    assert load_config({"XDG_CONFIG_HOME": str(config_home)}, other).base_url == "http://other/v1"
    with pytest.raises(UsageError, match=r"no agent config file at .*missing\.toml"):
        load_config({"XDG_CONFIG_HOME": str(config_home)}, tmp_path / "missing.toml")


def test_a_literal_key_in_the_file_works_with_a_warning_that_does_not_show_it(config_home):
    write_config(config_home, f'base_url = "http://x/v1"\nmodel = "m"\napi_key = "{KEY}"\n')
    with pytest.warns(UserWarning, match="prefer api_key_env") as warned:
        config = load_config({"XDG_CONFIG_HOME": str(config_home)})
    assert config.api_key == KEY
    assert all(KEY not in str(warning.message) for warning in warned)


@pytest.mark.parametrize(
    ("environ", "file_text", "message"),
    [
        ({"FLUTEX_LLM_BASE_URL": "ftp://x", "FLUTEX_LLM_MODEL": "m"}, None, "FLUTEX_LLM_BASE_URL must be an http"),
        ({"FLUTEX_LLM_BASE_URL": "localhost:8080", "FLUTEX_LLM_MODEL": "m"}, None, "FLUTEX_LLM_BASE_URL must be"),
        ({"FLUTEX_LLM_BASE_URL": "http://x/v1"}, None, "no model for the server at http://x/v1: set FLUTEX_LLM_MODEL"),
        ({"FLUTEX_LLM_MODEL": "m"}, None, "FLUTEX_LLM_MODEL names a model but no server is configured"),
        ({"FLUTEX_LLM_TIMEOUT_S": "-1"}, 'base_url = "http://x/v1"\nmodel = "m"', "FLUTEX_LLM_TIMEOUT_S must be a pos"),
        ({"FLUTEX_LLM_MAX_RETRIES": "two"}, 'base_url = "http://x/v1"\nmodel = "m"', "FLUTEX_LLM_MAX_RETRIES must be"),
        ({}, 'base_url = "http://x/v1"\nmodel = "m"\ntimeout_s = -3', "`timeout_s` in .*agent.toml must be a positive"),
        ({}, 'base_url = "http://x/v1"\nmodel = "m"\nmax_retries = true', "`max_retries` in .*agent.toml must be"),
        ({}, 'base_url = "http://x/v1"\nmodel = ""', "`model` in .*agent.toml must be a model name"),
        ({}, 'base_url = "http://x/v1\nmodel = "m"', "agent.toml is not valid TOML"),
        ({}, 'base_url = "http://x/v1"\nmodle = "m"', "unknown setting.* modle; allowed: base_url, model"),
        ({}, 'base_url = "http://x/v1"\nmodel = "m"\napi_key_env = "NOT_SET_HERE"', "names NOT_SET_HERE, which is not"),
        ({}, 'base_url = "http://x/v1"\nmodel = "m"\napi_key = 12', "use api_key_env"),
    ],
)
def test_bad_settings_name_the_variable_or_file(config_home, environ, file_text, message):
    if file_text is not None:
        write_config(config_home, file_text)
    with pytest.raises(UsageError, match=message):
        load_config({"XDG_CONFIG_HOME": str(config_home), **environ})


def test_chat_server_answers_unstreamed_requests_too(server):
    """The helper's other mode (other tests of the agent may ask without `stream`), read by the real client."""
    server.script(ToolCalls((Call("set_tempo", {"percent": 70}, id="call_x"),), text="Sure."))
    client = openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=1.0)
    try:
        reply = client.chat.completions.create(model="tiny-model", messages=MESSAGES, tools=TOOLS)
    finally:
        client.close()
    message = reply.choices[0].message
    assert message.content == "Sure." and reply.choices[0].finish_reason == "tool_calls"
    assert [(call.id, call.function.name, call.function.arguments) for call in message.tool_calls] == [
        ("call_x", "set_tempo", '{"percent": 70}')
    ]
    assert "stream" not in server.requests[0].body


async def test_a_reply_cap_and_temperature_are_sent_only_when_configured(tmp_path):
    with ChatServer() as server:
        server.script(Text("a"), Text("b"))
        plain = OpenAIBackend(BackendConfig(base_url=server.url, model="m", max_retries=0))
        capped = OpenAIBackend(
            BackendConfig(base_url=server.url, model="m", max_retries=0, max_tokens=200, temperature=0.2)
        )
        await plain.complete([{"role": "user", "content": "hi"}], [])
        await capped.complete([{"role": "user", "content": "hi"}], [])
        first, second = (request.body for request in server.requests)
        assert "max_tokens" not in first and "temperature" not in first  # some hosted models refuse them
        assert (second["max_tokens"], second["temperature"]) == (200, 0.2)
        for bad in ({"FLUTEX_LLM_MAX_TOKENS": "0"}, {"FLUTEX_LLM_TEMPERATURE": "3"}):
            with pytest.raises(UsageError, match="must be"):
                load_config(
                    {
                        "FLUTEX_LLM_BASE_URL": server.url,
                        "FLUTEX_LLM_MODEL": "m",
                        "XDG_CONFIG_HOME": str(tmp_path),
                        **bad,
                    }
                )
