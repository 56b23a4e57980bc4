"""`flutex sessions`: list, show and replay recordings as a user would, damaged ones included."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from test_recording import link_events, record, session_info

from flutex.host.cli import main


def flutex(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two recordings an hour apart (the older one written last) and a copy of the newer one cut short."""
    info = session_info()
    record(tmp_path / "new.mcap", link_events(), info)
    record(tmp_path / "old.mcap", link_events()[:2], replace(info, started_at=info.started_at - timedelta(hours=1)))
    data = (tmp_path / "new.mcap").read_bytes()
    (tmp_path / "cut.mcap").write_bytes(data[: len(data) // 2])
    return tmp_path


def test_list_newest_first_with_counts(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = flutex(capsys, "sessions", "--dir", str(folder), "--json")
    listed = json.loads(out)
    assert code == 0
    complete = [Path(entry["path"]).name for entry in listed if entry["complete"]]
    assert complete == ["new.mcap", "old.mcap"]
    new = next(entry for entry in listed if entry["path"].endswith("new.mcap"))
    assert new["events"] == len(link_events()) and new["counts"]["/command_result"] == 2
    assert (new["board"], new["profile"]) == ("sim", "boehm")
    assert new["duration_s"] == pytest.approx(link_events()[-1].t_s)
    cut = next(entry for entry in listed if entry["path"].endswith("cut.mcap"))
    assert not cut["complete"] and cut["stop"].startswith("stops at byte")
    _, text, _ = flutex(capsys, "sessions", "list", "--dir", str(folder))
    assert text.index("new.mcap") < text.index("old.mcap") and "cut short" in text


def test_default_folder_and_an_empty_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    code, out, _ = flutex(capsys, "sessions")
    assert code == 0 and out.strip() == f"no recordings in {tmp_path / 'flutex' / 'sessions'}"
    record(tmp_path / "flutex" / "sessions" / "one.mcap", link_events())
    _, out, _ = flutex(capsys, "sessions", "--json")
    assert [Path(entry["path"]).name for entry in json.loads(out)] == ["one.mcap"]


def test_show_finds_a_name_in_the_folder(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = flutex(capsys, "sessions", "--dir", str(folder), "show", "new.mcap")
    assert code == 0
    assert "profile: boehm" in out and "/flute_sample" in out and out.strip().endswith("complete")


def test_replay_says_where_a_damaged_file_stops(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = flutex(capsys, "sessions", "replay", str(folder / "cut.mcap"), "--json")
    report = json.loads(out)
    assert code == 0 and not report["complete"]
    assert 0 < report["damage"]["offset"] < (folder / "cut.mcap").stat().st_size
    assert f"stops at byte {report['damage']['offset']}" in report["stop"]
    _, text, _ = flutex(capsys, "sessions", "replay", str(folder / "new.mcap"), "--speed", "50")
    assert text.startswith(f"replayed {len(link_events())} events") and text.strip().endswith("complete")


def test_bad_input_is_one_clear_line(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, _, err = flutex(capsys, "sessions", "--dir", str(folder), "replay", "missing.mcap")
    assert code == 2 and err.strip() == "flutex: error: no recording at missing.mcap: `flutex sessions` lists them"
    with pytest.raises(SystemExit) as exit_info:
        main(["sessions", "replay", str(folder / "new.mcap"), "--speed", "-1"])
    assert exit_info.value.code == 2
    assert "speed must be a number above 0 or 'max'" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["replay"]])
def test_every_sub_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sessions", *command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith(f"usage: flutex sessions {' '.join(command)}".rstrip())
    assert "--json" in out
