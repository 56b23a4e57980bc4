"""Flute X GPT, measured: the offline agent on phrasings it was not built on, and the demo loop beside a model
that is slow, streaming or down.

1. Held-out accuracy. `benchmarks/agent_heldout.toml` was written by someone who never saw the offline parser
   (`flutex.agent.intents`), from the action catalog alone. Each message goes through the whole agent as
   `flutex chat --once TEXT --dry-run` does (parser, consent gate, validation); a case is right when the calls that
   would run equal the expected ones as a multiset, both sides normalised by the catalog (`parse_call`), comparing
   only names for `explain` and `remember` (their text is free). Prints accuracy overall, on requests, on messages
   that must do nothing, and per action, and every miss.
2. Loop timing. `flutex demo`'s loop (the real firmware on the simulator, the session, the echo reaction) runs for
   `--seconds` alone (the baseline), then beside an agent that talks without pause to a scripted OpenAI-compatible
   server on loopback (the real `openai` client) that is slow and streaming (0.5 s of silence, then 200 pieces 20 ms
   apart), hanging (answers nothing: the client times out and retries), or down (a closed port); each `--rounds`
   times, interleaved. Prints per condition the loop's latency (medians of the rounds' p50 and p99, on the board's
   clock, and the p99s' range: the spread of the baseline itself), rates, ratios to the loop alone, and how many
   turns the agent finished or gave up.

Usage: python benchmarks/agent.py [--seconds 15] [--rounds 3] [--skip-loop] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import socket
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the scripted server is the tests' own (tests/chat_server.py): one server, not two

from benchmarks.loop_rounds import against_alone, loop_figures, summarize_rounds  # noqa: E402
from flutex.agent.agent import Agent  # noqa: E402
from flutex.agent.backend import BackendError  # noqa: E402
from flutex.agent.config import BackendConfig  # noqa: E402
from flutex.agent.openai_backend import OpenAIBackend  # noqa: E402
from flutex.host.commands.chat import ChatHost, new_agent  # noqa: E402
from flutex.host.commands.demo import run_session  # noqa: E402
from flutex.tutor.actions.catalog import call_json, parse_call  # noqa: E402
from flutex.tutor.actions.surface import Tutor  # noqa: E402
from tests.chat_server import ChatServer, Hang, Text  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "agent_heldout.toml"
NAME_ONLY = ("explain", "remember")  # free text: only the action counts


def normalised(name: str, arguments: dict[str, Any]) -> tuple[str, str]:
    if name in NAME_ONLY:
        return name, ""
    return name, json.dumps(call_json(parse_call(name, arguments))["arguments"], sort_keys=True)


async def heldout_accuracy() -> dict[str, Any]:
    cases = tomllib.loads(HELDOUT.read_text())["case"]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses = []
    for case in cases:
        agent = new_agent("local", None, Tutor(ChatHost("sim://", "bench", None), dry_run=True))
        result = await agent.turn(case["text"])
        got = Counter(normalised(c["name"], c["arguments"]) for c in result.to_json("local")["tool_calls"])
        want = Counter(normalised(c["name"], c.get("arguments", {})) for c in case["calls"])
        kind = "none" if not want else ("two" if sum(want.values()) > 1 else next(iter(want))[0])
        total[kind] += 1
        if got == want:
            right[kind] += 1
        else:
            misses.append({"text": case["text"], "want": sorted(want), "got": sorted(got)})
    requests = [k for k in total if k != "none"]
    return {
        "cases": sum(total.values()),
        "accuracy": sum(right.values()) / sum(total.values()),
        "requests": sum(right[k] for k in requests) / sum(total[k] for k in requests),
        "no_action": right["none"] / total["none"] if total["none"] else None,
        "per_kind": {k: f"{right[k]}/{total[k]}" for k in sorted(total)},
        "misses": misses,
    }


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def chatter(agent: Agent, turns: list[int], errors: list[int]) -> None:
    """An agent talking without pause, as a student waiting on a slow model would keep it."""
    while True:
        try:
            await agent.turn("how am I doing, and what should I practise next?")
            turns[0] += 1
        except BackendError:
            errors[0] += 1


def serve(kind: str, count: int, urls: multiprocessing.Queue, stop: Any) -> None:
    """The scripted server in a process of its own, as a real model server is: its work is not the loop's."""
    replies = {
        "slow": lambda: Text(*(["la "] * 200), delay_s=0.5, gap_s=0.02),
        "hanging": lambda: Hang(),
    }[kind]
    with ChatServer() as server:
        server.script(*(replies() for _ in range(count)))
        urls.put(server.url)
        stop.wait()


async def loop_with(seconds: float, url: str | None) -> dict:
    task = None
    turns, errors = [0], [0]
    if url is not None:
        # each streamed piece resets the 1 s timeout: the slow model is slow, not silent
        backend = OpenAIBackend(BackendConfig(base_url=url, model="bench", api_key=None, timeout_s=1.0, max_retries=2))
        agent = Agent(backend, Tutor(ChatHost("sim://", "bench", None), dry_run=True))
        task = asyncio.create_task(chatter(agent, turns, errors))
    try:
        summary = await run_session("sim://", seconds, progress=False)
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return {**loop_figures(summary), "agent_turns": turns[0], "agent_errors": errors[0]}


async def loop_beside(seconds: float, kind: str) -> dict:
    urls: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(kind, 200, urls, stop), daemon=True)
    server.start()
    try:
        return await loop_with(seconds, urls.get(timeout=30))
    finally:
        stop.set()
        server.join(10)


async def loop_timing(seconds: float, rounds: int) -> dict[str, Any]:
    """Each condition `rounds` times, interleaved (a slow drift of the machine falls on all alike); per condition
    the median of the rounds' p50 and p99 and their range, since one run's p99 rests on a few dozen commands."""
    conditions = {
        "alone": lambda: loop_with(seconds, None),
        "slow, streaming": lambda: loop_beside(seconds, "slow"),
        "hanging": lambda: loop_beside(seconds, "hanging"),
        "down": lambda: loop_with(seconds, f"http://127.0.0.1:{closed_port()}/v1"),
    }
    seen: dict[str, list[dict]] = {name: [] for name in conditions}
    for _ in range(rounds):
        for name, run in conditions.items():
            seen[name].append(await run())
    summary = {
        name: {
            **summarize_rounds(runs),
            "agent_turns": sum(run["agent_turns"] for run in runs),
            "agent_errors": sum(run["agent_errors"] for run in runs),
        }
        for name, runs in seen.items()
    }
    against_alone(summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="each loop run's length (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each loop condition, interleaved (default 3)")
    parser.add_argument("--skip-loop", action="store_true", help="only the held-out accuracy")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"heldout": asyncio.run(heldout_accuracy())}
    if not args.skip_loop:
        results["loop"] = asyncio.run(loop_timing(args.seconds, args.rounds))
    if args.json:
        print(json.dumps(results))
        return
    held = results["heldout"]
    print(f"offline agent on {held['cases']} held-out messages: {held['accuracy']:.1%} right")
    print(f"  requests {held['requests']:.1%}, messages that must do nothing {held['no_action']:.1%}")
    print("  per kind: " + ", ".join(f"{k} {v}" for k, v in held["per_kind"].items()))
    for miss in held["misses"]:
        print(f"  miss: {miss['text']!r}: wanted {miss['want']}, got {miss['got']}")
    for name, run in results.get("loop", {}).items():
        low, high = run["p99_range_ms"]
        print(
            f"loop {name:16s} p50 {run['p50_ms']:5.2f} ms  p99 {run['p99_ms']:6.2f} ms (x{run['p99_ratio']}; "
            f"rounds {low:.1f}-{high:.1f})  flute {run['flute_hz']:.2f} Hz (x{run['flute_rate_ratio']})  "
            f"belt {run['belt_hz']:.2f} Hz  lost {run['frames_lost']}  "
            f"agent turns {run['agent_turns']}, failed {run['agent_errors']}"
        )


if __name__ == "__main__":
    main()
