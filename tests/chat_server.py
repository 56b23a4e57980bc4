"""A scripted OpenAI-compatible chat server on loopback, for testing the real `openai` client end to end.

A real HTTP server (127.0.0.1, a free port) in its own thread speaks POST /v1/chat/completions, streamed (SSE
`data: {...}` chunks ending in `data: [DONE]`, chunked transfer as real servers send it) or not. Each test queues the
replies it wants, one per request, in order: text, tool calls (their arguments streamed in several fragments, as
OpenAI and llama.cpp do), HTTP errors with or without Retry-After, a delay before answering, a hang, a malformed
body. It records every request (body, headers, arrival time) so tests can assert on what the client sent.

    with ChatServer() as server:
        server.script(HttpError(503), Text("Hello", " there"))
        config = BackendConfig(base_url=server.url, model="m", api_key=None)
        ...
        assert len(server.requests) == 2
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True, kw_only=True)
class Reply:
    delay_s: float = 0.0  # wait this long before answering (ends early when the server stops)


@dataclass(frozen=True)
class Text(Reply):
    """An assistant message; streamed, each piece is one delta, `gap_s` apart (a model generating slowly)."""

    pieces: tuple[str, ...]
    gap_s: float

    def __init__(self, *pieces: str, delay_s: float = 0.0, gap_s: float = 0.0) -> None:
        object.__setattr__(self, "pieces", pieces)
        object.__setattr__(self, "delay_s", delay_s)
        object.__setattr__(self, "gap_s", gap_s)


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any] | str  # a dict is sent as its JSON; a str as is (to send broken JSON)
    id: str | None = None  # None: "call_<n>"; "" to send none, as some local servers do

    def arguments_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class ToolCalls(Reply):
    """Tool calls (and optional text before them); streamed, each call's arguments go in `fragments` pieces, the
    calls one after the other, or fragment by fragment in turn with `interleaved`."""

    calls: tuple[Call, ...]
    text: str = ""
    fragments: int = 3
    interleaved: bool = False


@dataclass(frozen=True)
class HttpError(Reply):
    status: int
    message: str = "scripted failure"
    retry_after: str | None = None  # the Retry-After header's value, e.g. "0.7" or "1"


@dataclass(frozen=True)
class Hang(Reply):
    """No answer until the server stops; with `after_headers`, a 200 and the first (role) chunk, then silence."""

    after_headers: bool = False


@dataclass(frozen=True)
class Malformed(Reply):
    """A 200 carrying `body` as is."""

    body: str
    content_type: str = "text/event-stream"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the decoded JSON, None when it was not JSON
    t_s: float  # time.monotonic() at arrival


@dataclass
class _Script:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    ids: itertools.count = field(default_factory=itertools.count)


class ChatServer:
    """Start with `with ChatServer() as server:`; `url` is the base URL to give the client (it ends in /v1)."""

    def __init__(self) -> None:
        self._script = _Script()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._script))
        self._http.daemon_threads = True
        self._http.block_on_close = False  # a client's idle keep-alive connection must not hold up stop()
        # a short poll: stop() waits for the serving loop to look at its shutdown flag
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.01,), name="chat-server", daemon=True)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._script.stopping.set()  # releases hangs and delays
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def script(self, *replies: Reply) -> None:
        """Queues replies, one per coming request; a request finding the queue empty gets a 500 saying so."""
        with self._script.lock:
            self._script.replies.extend(replies)

    @property
    def requests(self) -> list[Received]:
        with self._script.lock:
            return list(self._script.requests)

    @property
    def pending(self) -> int:
        """Scripted replies no request has taken yet."""
        with self._script.lock:
            return len(self._script.replies)


def _handler_for(script: _Script) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChatHandler):
        pass

    Handler.script = script
    return Handler


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like real servers
    disable_nagle_algorithm = True  # each streamed chunk leaves at once, as from a real server
    script: _Script

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the test's own output, not an access log."""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self.script.lock:
            self.script.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
            )
            reply = self.script.replies.popleft() if self.script.replies and self.path == CHAT_PATH else None
        if self.path != CHAT_PATH:
            self._send_json(404, _error_body(f"no route {self.path}; this server has {CHAT_PATH}"))
            return
        if reply is None:
            self._send_json(500, _error_body("chat_server: no scripted reply left for this request"))
            return
        if self.script.stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        stream = isinstance(body, dict) and body.get("stream") is True
        model = body.get("model", "") if isinstance(body, dict) else ""
        try:
            self._answer(reply, stream, model)
        except (BrokenPipeError, ConnectionResetError):  # the client hung up (it timed out, or was cancelled)
            self.close_connection = True

    def _answer(self, reply: Reply, stream: bool, model: str) -> None:
        if isinstance(reply, HttpError):
            headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
            self._send_json(reply.status, _error_body(reply.message), headers)
        elif isinstance(reply, Hang):
            if reply.after_headers:
                self._start_stream()
                self._send_chunk(_chunk(model, {"role": "assistant", "content": ""}))
            self.script.stopping.wait()
            self.close_connection = True
        elif isinstance(reply, Malformed):
            self._send(200, reply.body.encode(), {"Content-Type": reply.content_type})
        elif isinstance(reply, Text | ToolCalls):
            if stream:
                self._stream(reply, model)
            else:
                self._send_json(200, _completion(reply, model, self._call_ids(reply)))
        else:
            raise TypeError(f"not a scripted reply: {reply!r}")

    def _stream(self, reply: Text | ToolCalls, model: str) -> None:
        self._start_stream()
        self._send_chunk(_chunk(model, {"role": "assistant", "content": ""}))
        if isinstance(reply, Text):
            for piece in reply.pieces:
                if self.script.stopping.wait(reply.gap_s):
                    return
                self._send_chunk(_chunk(model, {"content": piece}))
            finish = "stop"
        else:
            if reply.text:
                self._send_chunk(_chunk(model, {"content": reply.text}))
            for delta in _call_deltas(reply, self._call_ids(reply)):
                self._send_chunk(_chunk(model, {"tool_calls": [delta]}))
            finish = "tool_calls"
        self._send_chunk(_chunk(model, {}, finish))
        self._send_chunk("[DONE]")
        self._write_chunked(b"")

    def _call_ids(self, reply: Text | ToolCalls) -> list[str]:
        calls = reply.calls if isinstance(reply, ToolCalls) else ()
        return [f"call_{next(self.script.ids)}" if call.id is None else call.id for call in calls]

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, data: dict[str, Any] | str) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self._write_chunked(f"data: {text}\n\n".encode())

    def _write_chunked(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _call_deltas(reply: ToolCalls, ids: list[str]) -> list[dict[str, Any]]:
    """The streamed pieces of the calls: a first one with id and name, then the arguments in fragments."""
    per_call = []
    for index, (call, call_id) in enumerate(zip(reply.calls, ids, strict=True)):
        head: dict[str, Any] = {"index": index, "type": "function", "function": {"name": call.name, "arguments": ""}}
        if call_id:
            head["id"] = call_id
        text = call.arguments_text()
        size = max(1, -(-len(text) // reply.fragments))
        pieces = [{"index": index, "function": {"arguments": text[i : i + size]}} for i in range(0, len(text), size)]
        per_call.append([head, *pieces])
    if not reply.interleaved:
        return [delta for deltas in per_call for delta in deltas]
    rounds = itertools.zip_longest(*per_call)
    return [delta for one_round in rounds for delta in one_round if delta is not None]


def _completion(reply: Text | ToolCalls, model: str, ids: list[str]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if isinstance(reply, Text):
        message["content"] = "".join(reply.pieces)
        finish = "stop"
    else:
        message["content"] = reply.text or None
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_text()}}
            for call, call_id in zip(reply.calls, ids, strict=True)
        ]
        finish = "tool_calls"
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
