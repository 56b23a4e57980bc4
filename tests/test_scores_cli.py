"""`flutex scores` lists the library and `flutex score` shows a score fitted to an instrument."""

import json

import pytest
from music21 import converter

from flutex.host.cli import main
from flutex.tutor.score.fit import note_name
from flutex.tutor.score.library import LIBRARY_DIR, library_files, resolve


def run_json(capsys, *argv):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_library_lists_every_piece_with_title_composer_and_range(capsys):
    code, listing = run_json(capsys, "scores")
    assert code == 0
    rows = listing["scores"]
    assert [row["name"] for row in rows] == sorted(path.stem for path in LIBRARY_DIR.glob("*.musicxml"))
    assert len(rows) >= 6
    for row in rows:
        assert row["title"] and row["composer"] and row["key"] and row["bars"] >= 8, row["name"]
        assert row["lowest"] < row["highest"]
        assert resolve(row["name"]) == library_files()[row["name"]]
    main(["scores"])
    text = capsys.readouterr().out
    assert all(f"{note_name(row['lowest'])} to {note_name(row['highest'])}" in text for row in rows)


def test_score_shows_notes_with_fingerings_from_the_profile(capsys, tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nc d e f | g2 z2 |]\n")
    code, shown = run_json(capsys, "score", str(path), "--profile", "six_hole")
    assert code == 0
    assert (shown["title"], shown["profile"], shown["transpose"], shown["bars"]) == ("Scale", "six_hole", 0, 2)
    assert [(n["bar"], n["beat"], n["name"]) for n in shown["notes"]] == [
        (1, 1.0, "C5"),
        (1, 2.0, "D5"),
        (1, 3.0, "E5"),
        (1, 4.0, "F5"),
        (2, 1.0, "G5"),
        (2, 3.0, None),
    ]
    assert shown["notes"][0]["closed"] == ["L1", "L2", "L3", "R1", "R2", "R3"]
    assert shown["notes"][4]["onset_s"] == pytest.approx(4 * 0.5)
    assert shown["notes"][5]["closed"] is None and shown["unplayable"] == []


def test_unplayable_notes_exit_1_and_auto_transposition_fixes_them(capsys, tmp_path):
    path = tmp_path / "in_d.abc"
    path.write_text("X:1\nT:In D\nL:1/4\nK:D\nd e f g | a b c' d' |]\n")
    code, shown = run_json(capsys, "score", str(path))
    assert code == 1
    assert [(n["bar"], n["beat"]) for n in shown["unplayable"]] == [(1, 3.0), (2, 3.0)]  # F#5 and C#6
    assert main(["score", str(path)]) == 1
    assert "bar 1, beat 3: F#5; bar 2, beat 3: C#6" in capsys.readouterr().out
    code, shown = run_json(capsys, "score", str(path), "--transpose", "auto")
    assert (code, shown["transpose"], shown["unplayable"]) == (0, -2, [])


def test_a_library_piece_opens_by_name_on_the_boehm_flute(capsys):
    name = "minuet_in_g"
    code, shown = run_json(capsys, "score", name, "--profile", "boehm")
    expected = converter.parse(library_files()[name], forceSource=True).parts[0].recurse().notes
    assert code == 0 and shown["score"] == name
    assert len([n for n in shown["notes"] if n["midi"] is not None]) == len(expected)
    assert all(n["closed"] is not None for n in shown["notes"] if n["midi"] is not None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "no_such_piece"], "no such piece in the library"),
        (["score", "ode_to_joy", "--profile", "bagpipe"], "no instrument profile 'bagpipe'"),
        (["score", "ode_to_joy", "--transpose", "up"], "not 'auto' nor a number"),
        (["score", "ode_to_joy", "--part", "0"], "not a positive whole number"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses its own argument types
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["score", "scores"])
def test_help(capsys, command):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "flutex scores" in capsys.readouterr().out
