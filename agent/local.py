"""The offline agent: deterministic rules in place of a language model, so `flutex chat` works with nothing set up.

It speaks the same `Backend` protocol as a model: on the student's message it answers with the tool calls the rules
find (`flutex.agent.intents`), and once the tutor has answered them, with a short reply made of the tutor's own
messages. Only the student's latest message is read for requests: system messages (the live state, teacher notes,
score titles) give it numbers at most (the bars and tempo now), never an action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from flutex.agent.backend import Completion, ToolCall
from flutex.agent.intents import Context, Request, read_live_state, understand

YES = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|sure|ok|okay|alright|all right|fine|go ahead|go for it|do it|please do|please"
    r"|sounds (?:good|great|fine|nice|like a plan)|good idea|great idea|great|perfect|absolutely|of course"
    r"|definitely|why not|let us do it|let us do that|let us go|i would like that|i would love (?:to|that)|i agree"
    r"|agreed|deal|right|cool)\b"
)
NO = re.compile(
    r"^(?:no|nope|nah|not (?:right )?now|not yet|not really|not today|no thanks|no thank you|maybe later|later"
    r"|(?:definitely|certainly|absolutely) not|i would rather not|rather not|i do not want to|i do not think so"
    r"|do not|never mind|nevermind|skip it|cancel|let us not)\b"
)
NEGATIVE = re.compile(r"\b(?:no|not|never|nope|later|wait)\b")  # a yes that says any of these is not a clear yes
UNSURE = re.compile(r"\bnot sure\b|\bmaybe\b|\bi do not know\b")
HELP_TEXT = (
    'I did not catch a request there. I can, for example: start a lesson{known}; change the tempo ("70 percent", '
    '"slower", "60 bpm"); change the help ("guide my fingers", "just a hint", "only correct me when I\'m '
    'wrong", "let me play on my own"); repeat bars ("repeat bars 3 to 4 twice"); play a demo ("show me how '
    'bars 1-2 go"); turn the motors off or softer; show the breath, pitch, fingering or progress view; explain a '
    "mode; tell you how you are doing; pause, resume or stop."
)
LABELS = {  # what a failed call was trying to do, in the student's words
    "start_lesson": "start the lesson",
    "set_mode": "change the help",
    "set_tempo": "change the tempo",
    "set_haptics": "change the haptics",
    "repeat_segment": "repeat those bars",
    "play_demo": "play the demo",
    "show_view": "show that view",
    "explain": "explain that",
    "progress": "fetch your progress",
    "remember": "remember that",
    "wait": "wait",
    "pause": "pause",
    "resume": "resume",
    "stop": "stop",
}
NOT_OFFERED = "I cannot {label} right now."
SAID_INSTEAD = {"wait": "Take your time; tell me when you are ready."}  # an answer the student needs no details of


def _plain(text: str) -> str:
    """A consent reply without case, punctuation or contractions, for the phrase tables."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"\blet'?s\b", "let us", text)
    text = re.sub(r"\bi'd\b", "i would", text)
    text = re.sub(r"n't\b", " not", text).replace("ca not", "can not").replace("wo not", "will not")
    return re.sub(r"\s+", " ", re.sub(r"[^a-z ]", " ", text)).strip()


def consent(text: str) -> bool | None:
    """The student's answer to a proposal: True (yes), False (no), or None when it is neither or both."""
    plain = _plain(text)
    if NO.match(plain):
        return False
    if UNSURE.search(plain):
        return None
    if YES.match(plain) and not NEGATIVE.search(plain.replace("why not", "")):
        return True
    return None


def asks_for_action(text: str, pieces: Sequence[str] = (), plans: Sequence[str] = ()) -> bool:
    """Whether the student's message asks for anything that changes the tutor's state (the lead executes a model's
    state-changing call only then). Pass the known pieces and plans so "let's do ode to joy" counts."""
    return understand(text, Context(pieces=tuple(pieces), plans=tuple(plans))).changes_state()


class LocalBackend:
    """The deterministic `Backend`: rules, no model."""

    name = "local (offline rules)"

    def __init__(self, pieces: Sequence[str] = (), plans: Sequence[str] = ()) -> None:
        self._known = Context(pieces=tuple(pieces), plans=tuple(plans))

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_text: Callable[[str], None] | None = None,
    ) -> Completion:
        """Tool calls for the student's latest message, or the reply once the tutor has answered them."""
        completion = self._answer(messages, {tool["function"]["name"] for tool in tools})
        if completion.text and on_text is not None:
            on_text(completion.text)
        return completion

    def _answer(self, messages: list[dict[str, Any]], offered: set[str]) -> Completion:
        if not messages:
            return Completion(text="")
        request = self._request(messages)
        calls = [(name, arguments) for name, arguments in request.calls if name in offered]
        refused = [NOT_OFFERED.format(label=LABELS[name]) for name, _ in request.calls if name not in offered]
        still = [*refused, *request.questions]  # said after the calls' answers, or instead of them
        if messages[-1].get("role") == "tool":
            return Completion(text=_reply(_results(messages), still))
        if messages[-1].get("role") != "user":
            return Completion(text="")
        if calls:
            return Completion(
                text="",
                tool_calls=tuple(
                    ToolCall(id=f"local-{number}", name=name, arguments=json.dumps(arguments))
                    for number, (name, arguments) in enumerate(calls, start=1)
                ),
            )
        if still:
            return Completion(text=" ".join(still))
        known = self._known.plans + self._known.pieces
        return Completion(text=HELP_TEXT.format(known=f" ({', '.join(known)})" if known else ""))

    def _request(self, messages: list[dict[str, Any]]) -> Request:
        """The latest student message understood with the numbers of the latest live state."""
        context = self._known
        for message in messages:
            if message.get("role") == "system" and isinstance(message.get("content"), str):
                context = read_live_state(message["content"], context)
        latest = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        text = latest.get("content") if latest else None
        return understand(text, context) if isinstance(text, str) else Request()


def _results(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(action name, the tutor's answer) for each tool message after the last assistant message that made calls."""
    names: dict[str, str] = {}
    answers: list[tuple[str, dict[str, Any]]] = []
    for message in messages:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            names = {call["id"]: call["function"]["name"] for call in message["tool_calls"]}
            answers = []
        elif message.get("role") == "tool":
            answers.append((names.get(message.get("tool_call_id", ""), "that"), _content(message.get("content"))))
    return answers


def _content(content: object) -> dict[str, Any]:
    """A tool message's JSON `{"ok": ..., "message": ...}`; anything else is taken as a plain failed answer."""
    try:
        parsed = json.loads(content) if isinstance(content, str) else None
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed
    return {"ok": False, "message": str(content)}


def _reply(results: list[tuple[str, dict[str, Any]]], still: list[str]) -> str:
    """The tutor's answers in one short reply, failures said plainly, then what could not be done or is asked."""
    lines = []
    for name, answer in results:
        message = answer["message"].strip().rstrip(".")
        if answer.get("ok"):
            lines.append(SAID_INSTEAD.get(name) or (message[:1].upper() + message[1:] + "." if message else ""))
        else:
            lines.append(f"I could not {LABELS.get(name, name)}: {message}.")
    return " ".join(line for line in [*lines, *still] if line) or "Done."
