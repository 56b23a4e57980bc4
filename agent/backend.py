"""What the agent needs of a language model, whoever serves it: one completion of a chat, with tool calls.

The offline rules (`flutex.agent.local`) and any OpenAI-compatible server (`flutex.agent.openai_backend`) both speak
it, so the agent's turn loop is one piece of code whichever answers. Messages and tools are in the chat-completions
format, the lingua franca of servers from OpenAI's to llama.cpp's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flutex.host.errors import FlutexError


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it: the tutor validates it, it is never trusted


@dataclass(frozen=True)
class Completion:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()


class Backend(Protocol):
    name: str  # said to the student: which backend answers ("local (offline rules)", "gpt-4o at https://...")

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_text: Callable[[str], None] | None = None,
    ) -> Completion:
        """The model's next message; `on_text` hears its text as it streams (when the backend streams)."""
        ...


class BackendError(FlutexError):
    """The model could not answer: not configured, unreachable, timed out after its retries, or a reply that is not
    a chat completion. The message says which and what to do."""
