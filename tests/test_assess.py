"""`flutex assess`: a recorded play-through graded again gives the live result, byte for byte of the JSON."""

import json
from datetime import datetime

import pytest

from flutex.host.cli import main
from flutex.host.commands.assess import assess
from flutex.host.errors import UsageError
from flutex.host.link.events import FluteSample
from flutex.host.session.events import Stamped
from flutex.host.session.recording import Recorder, SessionInfo

PIECE = "frere_jacques"


def last_json(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_assess_reproduces_the_live_grades(tmp_path, capsys):
    url = "sim://?seed=11&errors=0.15"
    assert (
        main(["listen", PIECE, "--device", url, "--transpose", "auto", "--sessions-dir", str(tmp_path), "--json"]) == 0
    )
    live = last_json(capsys.readouterr().out)
    recording = json.loads(live)["recording"]
    assert main(["assess", recording, "--json"]) == 0
    again = last_json(capsys.readouterr().out)
    assert again == live, "the same recording gets the same grades, byte for byte"
    easier = assess(tmp_path / recording, tolerance="easy")
    assert easier["tolerance"] == "easy" and easier["notes"] != [], "a tolerance given replaces the recorded one"


def test_a_recording_without_a_lesson_is_refused(tmp_path):
    path = tmp_path / "plain.mcap"
    with Recorder(path, SessionInfo(0, datetime.now().astimezone())) as recorder:
        recorder(Stamped(0.1, FluteSample(0.1, 0, 0, 0.0)))
    with pytest.raises(UsageError) as refused:
        assess(path)
    assert "flutex listen" in str(refused.value)


def test_a_missing_recording_is_named(tmp_path, capsys):
    assert main(["assess", str(tmp_path / "gone.mcap")]) == 2
    assert "gone.mcap" in capsys.readouterr().err
