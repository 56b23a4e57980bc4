"""The agent's model on any OpenAI-compatible server (OpenAI, llama.cpp's server, Ollama, vLLM), through `openai`.

The client does the protocol, the timeouts and the retries with backoff (honouring Retry-After); this module streams
one completion, puts the streamed tool-call fragments back together, and turns every failure into one `BackendError`
line that says what to do. Small local models often write a tool call as bare JSON text instead of `tool_calls`; a
reply that is exactly such a call to a declared tool is taken as one, and held back from `on_text` meanwhile so the
student never hears the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import openai

from flutex.agent.backend import BackendError, Completion, ToolCall
from flutex.agent.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, BackendConfig

NO_KEY = "not-needed"  # local servers ignore the key, but the client insists on one
SERVER_TEXT_CHARS = 160  # how much of a server's own error message a BackendError quotes


class OpenAIBackend:
    """One OpenAI-compatible server and model; `complete` streams a chat completion with tools."""

    def __init__(self, config: BackendConfig) -> None:
        self._config = config
        self.name = f"openai-compatible ({config.model} at {config.base_url})"
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key or NO_KEY,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.name})"

    async def aclose(self) -> None:
        """Closes the client's pooled connections (they belong to the event loop that opened them)."""
        await self._client.close()

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_text: Callable[[str], None] | None = None,
    ) -> Completion:
        reply = _Reply(on_text)
        try:
            stream = await self._client.chat.completions.create(
                model=self._config.model,
                messages=cast(Any, messages),  # plain dicts in the chat-completions format, as the agent builds them
                tools=cast(Any, tools) if tools else openai.omit,  # OpenAI refuses an empty list
                max_tokens=_or_omit(self._config.max_tokens),
                temperature=_or_omit(self._config.temperature),
                stream=True,
            )
            async with stream:
                async for chunk in stream:
                    reply.add(chunk)
            return reply.finish({tool["function"]["name"] for tool in tools if "function" in tool})
        except openai.APIStatusError as error:
            raise BackendError(self._safe(self._status_message(error))) from None
        except openai.APITimeoutError:
            raise BackendError(self._safe(self._timeout_message(reply.started))) from None
        except openai.APIConnectionError:
            raise BackendError(self._safe(self._connection_message(reply.started))) from None
        except openai.APIError as error:  # an error event in the middle of the stream
            raise BackendError(self._safe(f"the server at {self._config.base_url} failed mid-reply: {error}")) from None
        except json.JSONDecodeError:
            raise BackendError(self._safe(self._malformed("a streamed piece is not JSON"))) from None
        except _Malformed as problem:
            raise BackendError(self._safe(self._malformed(str(problem)))) from None

    def _status_message(self, error: openai.APIStatusError) -> str:
        url, status, says = self._config.base_url, error.status_code, _server_says(error.body)
        if status in (401, 403):
            if self._config.api_key is None:
                advice = f"it wants a key: set {ENV_API_KEY}"
            else:
                advice = f"check the key in {self._config.key_source or ENV_API_KEY}"
            return f"the server at {url} refused the request (HTTP {status}): {advice}{says}"
        if status == 404:
            return (
                f"no model {self._config.model} at {url} (HTTP 404): check {ENV_MODEL}, and that "
                f"{ENV_BASE_URL} ends with the API's path (often /v1){says}"
            )
        attempts = f" after {self._config.max_retries + 1} attempts" if _retried(status) else ""
        return f"the server at {url} answered HTTP {status}{attempts}{says}"

    def _timeout_message(self, started: bool) -> str:
        seconds, url = f"{self._config.timeout_s:g} s", self._config.base_url
        if started:
            return f"the server at {url} went silent for {seconds} in the middle of its reply: try again"
        attempts = self._config.max_retries + 1
        return f"the server at {url} did not answer within {seconds} ({attempts} attempts): it may be busy or too slow"

    def _connection_message(self, started: bool) -> str:
        url = self._config.base_url
        if started:
            return f"the server at {url} closed the connection in the middle of its reply: try again"
        return f"no OpenAI-compatible server answers at {url}: start it or fix {ENV_BASE_URL}"

    def _malformed(self, what: str) -> str:
        return f"the server at {self._config.base_url} sent a reply that is not a chat completion: {what}"

    def _safe(self, message: str) -> str:
        """The message with the key blotted out: servers quote what they were sent, and their words are passed on."""
        key = self._config.api_key
        return message.replace(key, "***") if key else message


class _Malformed(Exception):
    """A streamed chunk whose shape is not a chat-completion chunk's."""


@dataclass
class _CallParts:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


class _Reply:
    """The completion being streamed: text pieces (passed on as they come) and tool calls assembled by index."""

    def __init__(self, on_text: Callable[[str], None] | None) -> None:
        self._on_text = on_text
        self._pieces: list[str] = []
        self._holding = True  # text kept back while the reply may still be a bare JSON tool call
        self._calls: dict[int, _CallParts] = {}
        self.started = False

    def add(self, chunk: Any) -> None:
        self.started = True
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            raise _Malformed("a streamed piece has no list of choices")
        for choice in choices:
            delta = getattr(choice, "delta", None)
            if delta is None:
                raise _Malformed("a streamed choice has no delta")
            self._add_text(getattr(delta, "content", None))
            for fragment in getattr(delta, "tool_calls", None) or ():
                self._add_call_fragment(fragment)

    def _add_text(self, text: Any) -> None:
        if text is None or text == "":
            return
        if not isinstance(text, str):
            raise _Malformed("a streamed text piece is not text")
        self._pieces.append(text)
        if not self._holding:
            self._tell(text)
        elif not _may_be_json_call("".join(self._pieces)):
            self._release()

    def _add_call_fragment(self, fragment: Any) -> None:
        function = getattr(fragment, "function", None)
        name = getattr(function, "name", None)
        arguments = getattr(function, "arguments", None)
        index = getattr(fragment, "index", None)
        if not isinstance(index, int):  # some servers send whole calls without an index: a name starts a new one
            index = len(self._calls) if name or not self._calls else max(self._calls)
        parts = self._calls.setdefault(index, _CallParts(id="", name=""))
        call_id = getattr(fragment, "id", None)
        if call_id:
            parts.id = str(call_id)
        if name:
            parts.name += str(name)  # some servers stream the name in pieces too
        if arguments:
            if not isinstance(arguments, str):
                raise _Malformed("tool-call arguments are not text")
            parts.arguments.append(arguments)

    def _release(self) -> None:
        self._holding = False
        for piece in self._pieces:
            self._tell(piece)

    def _tell(self, text: str) -> None:
        if self._on_text is not None:
            self._on_text(text)

    def finish(self, tool_names: set[str]) -> Completion:
        if not self.started:
            raise _Malformed("no chat-completion stream came back")
        text = "".join(self._pieces)
        calls = []
        for index, parts in sorted(self._calls.items()):
            if not parts.name:
                raise _Malformed("a tool call has no name")
            calls.append(ToolCall(id=parts.id or f"call_{index}", name=parts.name, arguments="".join(parts.arguments)))
        if not calls:
            bare = bare_json_call(text, tool_names)
            if bare is not None:
                return Completion(text="", tool_calls=(bare,))
        if self._holding:
            self._release()
        return Completion(text=text, tool_calls=tuple(calls))


def _may_be_json_call(text: str) -> bool:
    """Whether streamed text could still be the start of a bare JSON tool call (nothing but an object so far)."""
    start = text.lstrip()
    return start == "" or start.startswith("{")


def bare_json_call(text: str, tool_names: set[str]) -> ToolCall | None:
    """A reply that is only `{"name": N, "arguments": {...}}` with N a declared tool, as a tool call; else None."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"name", "arguments"} or value["name"] not in tool_names:
        return None
    if not isinstance(value["arguments"], dict):
        return None
    return ToolCall(id="call_0", name=value["name"], arguments=json.dumps(value["arguments"]))


def _retried(status: int) -> bool:
    """Whether the client retried this status before giving up (openai's own rule: 408, 409, 429 and 5xx)."""
    return status in (408, 409, 429) or status >= 500


def _server_says(body: object) -> str:
    """The server's own words about the failure, on one short line, or nothing."""
    message = body.get("message") if isinstance(body, dict) else body
    if not isinstance(message, str) or not message.strip():
        return ""
    line = " ".join(message.split())
    if len(line) > SERVER_TEXT_CHARS:
        line = line[: SERVER_TEXT_CHARS - 3] + "..."
    return f" (the server says: {line})"


def _or_omit(value: Any) -> Any:
    """A setting as the client takes it: left out of the request when not configured."""
    return openai.omit if value is None else value
