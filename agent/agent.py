"""Flute X GPT's turn: the student says something, the model answers and may call the tutor's actions, the tutor
validates and runs them, and the model hears how each went, until it replies.

The agent reaches the instrument only through `flutex.tutor.actions.Tutor.call`, which validates every call before
anything runs (a call that fails comes back to the model as an error, never executed). On top of that, three
guards that hold whatever the model does:
- at most `MAX_CALLS_PER_TURN` calls per student message (the paper's agent allowed seven);
- the consent gate: a call that changes the lesson runs only when the student's own message asked for something
  (`asks_for_action`); otherwise it becomes a proposal the student must agree to. So text in teacher notes, score
  titles or the learner memory, which the model reads, can never make the lesson act on its own;
- proposals (from the model or from `flutex.agent.proposals`) run only after the student's yes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flutex.agent.backend import Backend, Completion
from flutex.agent.context import DEFAULT_BUDGET_TOKENS, MAX_MESSAGE_CHARS, Conversation
from flutex.agent.local import asks_for_action, consent
from flutex.agent.proposals import Proposal, propose
from flutex.tutor.actions.catalog import Action, ActionRejected, call_json, parse_call, tool_schemas
from flutex.tutor.actions.surface import Tutor

MAX_CALLS_PER_TURN = 7  # the paper's agent chained at most seven calls per request
MAX_ROUNDS = MAX_CALLS_PER_TURN + 1  # completions per turn: each round that calls tools, and the reply
MAX_RESULT_CHARS = 1500  # one tool result as the model reads it (a long progress table is cut)


@dataclass(frozen=True)
class CallRecord:
    name: str
    arguments: dict[str, Any] | str  # as validated (a dict), or the model's text when it did not parse
    ok: bool
    executed: bool
    message: str


@dataclass
class TurnResult:
    reply: str
    calls: list[CallRecord] = field(default_factory=list)
    proposal: str | None = None  # a question now waiting for the student's yes or no

    def to_json(self, backend: str) -> dict[str, Any]:
        """`flutex chat --once --json`: the reply and the calls that passed validation (what would run)."""
        return {
            "backend": backend,
            "reply": self.reply,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in self.calls if c.ok],
            "rejected": [{"name": c.name, "error": c.message} for c in self.calls if not c.ok],
            "proposal": self.proposal,
        }


class Agent:
    def __init__(
        self,
        backend: Backend,
        tutor: Tutor,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        asked: Callable[[str], bool] = asks_for_action,
        rules: Backend | None = None,
    ) -> None:
        """`asked`: whether a student's message asks for a change (the consent gate); give it the names of the
        pieces and plans (`functools.partial(asks_for_action, pieces=..., plans=...)`) so "let's do ode to joy"
        counts as asking. `rules`: when given (the offline rules), they turn the student's words into actions and
        the model only talks about them and proposes: every lesson-changing call of the model's waits for a yes."""
        self.backend = backend
        self.tutor = tutor
        self.asked = asked
        self.rules = rules
        self.conversation = Conversation(budget_tokens)
        self.pending: Proposal | None = None
        self.declined: set[str] = set()
        self._tools = tool_schemas()

    async def turn(self, text: str, on_text: Callable[[str], None] | None = None) -> TurnResult:
        """Answer one message of the student's; `on_text` hears the reply as it streams."""
        text = text.strip()[:MAX_MESSAGE_CHARS]
        if self.pending is not None and (answer := consent(text)) is not None:
            return await self._answer_proposal(answer)
        self.conversation.add_user(text)
        asked = self.asked(text)
        result = TurnResult("")
        if self.rules is not None:  # the rules act on the student's words; the model then talks and proposes
            understood = await self.rules.complete(self._prompt(), self._tools)
            if understood.tool_calls:
                await self._run_calls(understood, asked, result)
            asked = False
        for _ in range(MAX_ROUNDS):
            room = MAX_CALLS_PER_TURN - len(result.calls)
            completion = await self.backend.complete(self._prompt(), self._tools if room > 0 else [], on_text)
            if not completion.tool_calls:
                self.conversation.add(_assistant_message(completion))
                result.reply = completion.text
                break
            if await self._run_calls(completion, asked, result):
                result.reply = completion.text
                break
        result.proposal = None if self.pending is None else self.pending.question
        if result.proposal and result.proposal not in result.reply:
            result.reply = f"{result.reply} {result.proposal}".strip()
        return result

    def _prompt(self) -> list[dict[str, Any]]:
        return self.conversation.messages(self.tutor.state().compact(), self.tutor.memory())

    async def _run_calls(self, completion: Completion, asked: bool, result: TurnResult) -> bool:
        """Run a completion's calls (each through the guards) and give the model their results; True when one of
        them handed the turn back to the student (`wait`)."""
        self.conversation.add(_assistant_message(completion))
        waited = False
        for call in completion.tool_calls:
            record = await self._run(call.name, call.arguments, asked, room=MAX_CALLS_PER_TURN - len(result.calls))
            result.calls.append(record)
            waited = waited or (call.name == "wait" and record.ok)
            self.conversation.add(
                {"role": "tool", "tool_call_id": call.id, "content": _result_text(record)[:MAX_RESULT_CHARS]}
            )
        return waited

    def offer(self) -> str | None:
        """A proposal from what the lesson shows (after an attempt), as a question; None when there is none."""
        if self.pending is not None:
            return None
        self.pending = propose(self.tutor.state(), self.declined)
        return None if self.pending is None else self.pending.question

    async def _run(self, name: str, arguments: str, asked: bool, room: int) -> CallRecord:
        if room <= 0:
            return CallRecord(name, arguments, False, False, f"not run: at most {MAX_CALLS_PER_TURN} actions a turn")
        try:
            action = parse_call(name, arguments)
        except ActionRejected as error:
            return CallRecord(name, arguments, False, False, str(error))
        valid = call_json(action)["arguments"]
        if not action.READ_ONLY and not asked:
            return self._hold(action, valid)
        outcome = await self.tutor.call(name, valid)
        return CallRecord(name, valid, outcome.ok, outcome.executed, outcome.message)

    def _hold(self, action: Action, arguments: dict[str, Any]) -> CallRecord:
        """A lesson-changing call the student did not ask for: offered as a proposal, run only on their yes."""
        held = [] if self.pending is None else [parse_call(name, given) for name, given in self.pending.calls]
        if action not in held:  # a model repeating itself asks once
            held.append(action)
        held.sort(key=lambda call: call.NAME == "stop")  # whatever else was asked applies to the lesson before it ends
        question = "Shall I " + " and ".join(call.describe() for call in held) + "?"
        calls = tuple((call.NAME, call_json(call)["arguments"]) for call in held)
        self.pending = Proposal(f"model: {action.NAME}", question, calls)
        return CallRecord(action.NAME, arguments, False, False, "not run: the student did not ask for it; asked them")

    async def _answer_proposal(self, yes: bool) -> TurnResult:
        pending, self.pending = self.pending, None
        assert pending is not None
        if not yes:
            self.declined.add(pending.kind)
            await self.tutor.call("remember", {"fact": f"declined: {pending.question}"})
            return TurnResult("All right, we carry on as we were.")
        records = []
        for name, arguments in pending.calls[:MAX_CALLS_PER_TURN]:
            outcome = await self.tutor.call(name, arguments)
            records.append(CallRecord(name, arguments, outcome.ok, outcome.executed, outcome.message))
        await self.tutor.call("remember", {"fact": f"agreed: {pending.question}"})
        said = " ".join(record.message.rstrip(".") + "." for record in records)
        return TurnResult(f"Done. {said}" if all(r.ok for r in records) else said, records)


def _result_text(record: CallRecord) -> str:
    return json.dumps({"ok": record.ok, "executed": record.executed, "message": record.message})


def _assistant_message(completion: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.text}
    if completion.tool_calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in completion.tool_calls
        ]
    return message
