"""`flutex listen` on sim://: the virtual player plays a library piece once, every note is graded as it sounds, the
session is recorded with its lesson, and the JSON says what was graded, against the player's truth."""

import json

import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.cli import main
from flutex.host.commands.assess import recorded_lesson
from flutex.tutor.score.fit import fit
from flutex.tutor.score.library import resolve
from flutex.tutor.score.load import load_score

PIECE = "frere_jacques"  # 17.5 s of music


def written(profile: str):
    return fit(load_score(resolve(PIECE)), InstrumentProfile.load(profile), "auto")


def test_listen_grades_every_note_live_and_records_the_lesson(tmp_path, capsys):
    url = "sim://?profile=boehm&seed=4&errors=missed:0.1,late:0.1"
    code = main(["listen", PIECE, "--device", url, "--transpose", "auto", "--sessions-dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    fitted = written("boehm")
    sounding = fitted.score.sounding
    assert (result["score"], result["profile"], result["transpose"]) == (PIECE, "boehm", fitted.transpose)
    assert [note["index"] for note in result["notes"]] == [note.index for note in sounding]
    assert [note["index"] for note in result["truth"]["notes"]] == [note.index for note in sounding]
    assert [(n["bar"], n["beat"]) for n in result["truth"]["notes"]] == [(n.bar, n.beat) for n in sounding]
    injected = [note for note in result["truth"]["notes"] if note["errors"]]
    assert injected and all(note["errors"] in (["missed"], ["late"]) for note in injected)
    # one feedback line per graded note, live, on stderr
    graded_lines = [line for line in err.splitlines() if line.startswith("bar ")]
    assert len(graded_lines) >= len(sounding)
    lesson = recorded_lesson(tmp_path / result["recording"])
    assert (lesson.profile, lesson.transpose, lesson.tolerance) == ("boehm", fitted.transpose, "medium")
    assert json.loads(lesson.truth) == result["truth"]


@pytest.mark.slow
def test_listen_to_a_singer(tmp_path, capsys):
    url = "sim://?profile=boehm&instrument=voice&seed=2"
    assert main(["listen", PIECE, "--device", url, "--sessions-dir", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["voice"] is True
    assert not any("fingering" in note["errors"] for note in result["notes"]), "a singer has no fingering"
    assert all(not note["errors"] for note in result["truth"]["notes"])


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["no_such_piece", "--device", "sim://"], "no_such_piece"),
        ([PIECE, "--device", "sim://?seed=x"], "seed"),
        ([PIECE, "--device", "sim://?profile=boehm", "--profile", "six_hole"], "--profile six_hole"),
        ([PIECE, "--device", "sim://?profile=six_hole"], "cannot play"),
    ],
)
def test_bad_input_is_a_clear_error_without_a_traceback(arguments, says, capsys, tmp_path):
    code = main(["listen", *arguments, "--no-record"])
    err = capsys.readouterr().err
    assert code != 0 and says in err and "Traceback" not in err
