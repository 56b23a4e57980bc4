"""`flutex chat` as a student uses it: one message dry-run as JSON (offline, and through a configured server), a
clear error when the asked-for backend is not there, and a conversation that starts a lesson on the simulator and
stops it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from chat_server import Call, ChatServer, ToolCalls

from flutex.host.commands.chat import ChatHost
from flutex.host.errors import UsageError

FLUTEX = [sys.executable, "-m", "flutex.host.cli"]


def chat(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLUTEX_LLM_", "OPENAI_"))}
    clean["XDG_CONFIG_HOME"] = "/nonexistent"  # no agent config file from the machine running the tests
    return subprocess.run(
        [*FLUTEX, "chat", *args], capture_output=True, text=True, timeout=120, env={**clean, **(env or {})}
    )


def test_once_dry_run_json_offline():
    done = chat("--once", "slow down to 60 bpm and guide my fingers", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["backend"].startswith("local")
    assert answer["tool_calls"] == [
        {"name": "set_tempo", "arguments": {"bpm": 60.0}},
        {"name": "set_mode", "arguments": {"mode": "guided"}},
    ]
    assert answer["reply"].startswith("Would set the tempo")  # a dry run says what would happen


def test_once_dry_run_through_a_configured_server_validates_without_running():
    with ChatServer() as server:
        server.script(ToolCalls([Call("set_tempo", {"percent": 900}), Call("set_mode", {"mode": "hint"})]))
        server.script(ToolCalls([], text="Done."))
        env = {"FLUTEX_LLM_BASE_URL": server.url, "FLUTEX_LLM_MODEL": "tiny", "FLUTEX_LLM_API_KEY": "sk-secret-1"}
        done = chat("--once", "just a hint please, and faster", "--dry-run", "--json", env=env)
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert "tiny" in answer["backend"]
        assert answer["tool_calls"] == [{"name": "set_mode", "arguments": {"mode": "hint"}}]
        assert answer["rejected"][0]["name"] == "set_tempo" and "150" in answer["rejected"][0]["error"]
        assert server.requests[0].headers["authorization"] == "Bearer sk-secret-1"
        assert "sk-secret-1" not in done.stdout + done.stderr


def test_asking_for_a_server_that_is_not_configured_says_how():
    done = chat("--once", "hello", "--backend", "openai")
    assert done.returncode == 2
    assert "FLUTEX_LLM_BASE_URL" in done.stderr and "Traceback" not in done.stderr


def test_a_conversation_starts_a_lesson_on_the_simulator_and_stops_it(tmp_path):
    """Lines are typed as the lesson goes: "stop" only once the first attempt has been graded."""
    process = subprocess.Popen(
        [*FLUTEX, "chat", "--device", "sim://?student=3&learner=quick", "--student", "ana",
         "--store", str(tmp_path / "progress.db")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stderr is not None
    seen: list[str] = []
    graded = threading.Event()

    def read_errors() -> None:
        for line in process.stderr:
            seen.append(line)
            if line.startswith("attempt 1:"):
                graded.set()

    reader = threading.Thread(target=read_errors, daemon=True)
    reader.start()
    process.stdin.write("start the first lesson\n")
    process.stdin.flush()
    assert graded.wait(90), "".join(seen)
    process.stdin.write("stop\nquit\n")
    process.stdin.close()
    assert process.stdout is not None
    out = process.stdout.read()  # to its end: the process has exited (standard error is the reader's alone)
    process.wait(60)
    reader.join(10)
    text = "".join(seen)
    assert process.returncode == 0, text
    assert "Started First lesson" in out and "Stopping the lesson" in out
    assert "stopped at the student's request" in text and "lesson report for ana" in text
    recorded = re.search(r"recording (\S+\.mcap)", text)
    assert recorded is not None and Path(recorded.group(1)).stat().st_size > 0  # recorded like any lesson


async def test_a_demo_without_a_lesson_is_refused_not_reported_done():
    """The surface turns the refusal into ok=False, so neither the student nor a model reads it as done."""
    with pytest.raises(UsageError, match="start one first"):
        await ChatHost("sim://", "ana", None).demonstrate(1, 2)
