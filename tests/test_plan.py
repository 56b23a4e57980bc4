"""Lesson plans: the shipped plans and the template load, every bad plan is refused at the right line with a
message a teacher can act on, `flutex plan` reports it, and no input whatever ends in a traceback."""

import dataclasses
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.host.cli import main
from flutex.host.errors import UsageError
from flutex.tutor.lesson.modes import FREE, MODES
from flutex.tutor.lesson.plan import (
    GuidanceSettings,
    LessonPlan,
    PassCriteria,
    PlanError,
    ReviewSettings,
    TempoRamp,
    load_plan,
    parse_plan,
    plan_ref,
    resolve_plan,
)
from flutex.tutor.lesson.template import phrase_bars, template
from flutex.tutor.score.library import library_files
from flutex.tutor.score.load import load_score

PLANS = Path(__file__).resolve().parents[1] / "tutor" / "lesson" / "plans"
GOOD = """\
title = "Twinkle"
piece = "twinkle_twinkle"

[tempo]
target_bpm = 96

[[segments]]
name = "first"
bars = [1, 2]

[[segments]]
bars = [3, 4]
"""


def refused(text: str) -> list[tuple[int, str]]:
    """The (line, message) of each problem parse_plan finds in `text`."""
    with pytest.raises(PlanError) as error:
        parse_plan(text, "plan.toml")
    assert isinstance(error.value, UsageError)
    lines = str(error.value).splitlines()
    assert all(line.startswith("plan.toml:") for line in lines), lines
    return [(int(line.split(":")[1]), line.split(":", 2)[2].strip()) for line in lines]


def test_a_good_plan_reads_into_its_settings_with_the_defaults_filled_in():
    plan = parse_plan(GOOD, "plan.toml")
    assert (plan.title, plan.piece, plan.instrument, plan.path) == ("Twinkle", "twinkle_twinkle", "flute", None)
    assert [(s.name, s.first_bar, s.last_bar) for s in plan.segments] == [("first", 1, 2), ("bars 3-4", 3, 4)]
    assert plan.tempo == TempoRamp(96.0)
    assert (plan.passing, plan.guidance, plan.review) == (PassCriteria(), GuidanceSettings(), ReviewSettings())
    assert plan.score_path() == library_files()["twinkle_twinkle"]


def test_the_shipped_plans_load():
    plans = {path.stem: load_plan(path) for path in sorted(PLANS.glob("*.toml"))}
    assert {"first_lesson", "first_lesson_static", "breathing_scale"} <= set(plans)
    dynamic, static, singing = plans["first_lesson"], plans["first_lesson_static"], plans["breathing_scale"]
    assert dynamic.instrument == "flute" and dynamic.piece in library_files()
    assert 3 <= len(dynamic.segments) <= 4
    assert all(segment.last_bar - segment.first_bar == 1 for segment in dynamic.segments)
    assert (dynamic.guidance.policy, static.guidance.policy) == ("dynamic", "static")
    assert static.segments == dynamic.segments and static.piece == dynamic.piece
    assert singing.instrument == "voice" and singing.guidance.modes == (FREE,) and singing.passing.breath


def test_the_demo_plans_attempts_are_short():
    """`make demo` runs first_lesson: an attempt at one segment, at the ramp's first tempo, takes about 5 s."""
    plan = load_plan(PLANS / "first_lesson.toml")
    score = load_score(plan.score_path())
    segment = plan.segments[0]
    notes = [note for note in score.notes if segment.first_bar <= note.bar <= segment.last_bar]
    beats = notes[-1].end_beats - notes[0].onset_beats
    bpm = (plan.tempo.target_bpm or score.tempos[0].bpm) * plan.tempo.start_percent / 100
    assert 3.5 <= beats * 60 / bpm <= 7.0


def test_the_singing_exercise_sits_in_a_comfortable_voice_range_with_breath_marks():
    plan = load_plan(PLANS / "breathing_scale.toml")
    score = load_score(plan.score_path())
    pitches = [note.midi for note in score.sounding]
    assert min(pitches) >= 60 and max(pitches) <= 69  # C4 to A4
    phrase_starts = [note.bar for note in score.sounding if note.breath_before]
    assert phrase_starts and all(any(s.first_bar == bar for s in plan.segments) for bar in phrase_starts)


@pytest.mark.parametrize("name", ["twinkle_twinkle", "ode_to_joy", "greensleeves", "five_note_scale"])
def test_the_template_is_a_valid_plan_for_a_library_piece(name):
    segments = phrase_bars(load_score(library_files()[name]))
    plan = parse_plan(template(name, segments), "new.toml")
    assert [(s.first_bar, s.last_bar) for s in plan.segments] == segments
    assert plan.guidance == GuidanceSettings() and plan.tempo == TempoRamp(None)


def test_the_template_explains_every_key():
    text = template("twinkle_twinkle", [(1, 2)])
    keys = {
        field.name
        for cls in (TempoRamp, PassCriteria, GuidanceSettings, ReviewSettings)
        for field in dataclasses.fields(cls)
    }
    keys |= {field.name for field in dataclasses.fields(LessonPlan)} - {
        "path",
        "segments",
        "tempo",
        "passing",
        "guidance",
        "review",
    }
    keys |= {"name", "bars", "notes"}
    written = set(re.findall(r"^(?:# )?(\w+) = ", text, re.MULTILINE))
    assert keys <= written, keys - written
    assert all(f"[{table}]" in text for table in ("tempo", "pass", "guidance", "review"))
    settings_lines = text.split("[[segments]]")[0].splitlines()
    for number, line in enumerate(settings_lines):
        if re.match(r"^\w+ = ", line):  # every setting has its comment right above it (or above its neighbour)
            assert any(settings_lines[k].startswith("#") for k in range(max(0, number - 2), number)), line


BAD = [
    # (plan text, line, a fragment of the message)
    ('title = "x"\npiece = \n', 2, "TOML syntax error at column 9"),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[tempo]\ntarget_bmp = 90\n[[segments]]\nbars = [1, 2]\n',
        4,
        "unknown key 'target_bmp' in [tempo]; did you mean 'target_bpm'?",
    ),
    ('title = "x"\npiece = "twinkle_twinkle"\ntmepo = 3\n[[segments]]\nbars = [1, 2]\n', 3, "did you mean 'tempo'?"),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n\n[[segments]]\nbars = [1, 2]\n\n[[segments]]\nbars = ["3", 4]\n',
        8,
        'segment 2 bars = "3": not a whole number',
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nbars = [1, 13]\n',
        4,
        "bar 13 is not in twinkle_twinkle (12 bars); allowed: 1 to 12",
    ),
    ('title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nbars = [0, 1]\n', 4, "bar 0 is not in"),
    ('title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nbars = [4, 3]\n', 4, "end before they start"),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nbars = [1, 4]\n[[segments]]\nbars = [4, 6]\n',
        6,
        "overlap segment 1 (bars 1-4)",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nbars = [5, 6]\n[[segments]]\nbars = [1, 2]\n',
        6,
        "come before segment 1 (bars 5-6)",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[tempo]\n\ntarget_bpm = -60\n[[segments]]\nbars = [1, 2]\n',
        5,
        "[tempo] target_bpm = -60: out of range; allowed: quarter notes a minute, 20 to 300",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[tempo]\nstep_percent = 60\n[[segments]]\nbars = [1, 2]\n',
        4,
        "[tempo] step_percent = 60: out of range; allowed: a whole percent, 1 to 50",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[tempo]\nstart_percent = 5\n[[segments]]\nbars = [1, 2]\n',
        4,
        "10 to 100",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[tempo]\nstart_percent = 60\nfloor_percent = 80\n'
        "[[segments]]\nbars = [1, 2]\n",
        5,
        "floor_percent = 80 is above start_percent = 60",
    ),
    ('title = "x"\npiece = "no_such_tune"\n[[segments]]\nbars = [1, 2]\n', 2, "no library piece 'no_such_tune'"),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[guidance]\nmodes = ["guided", "loud"]\n[[segments]]\nbars = [1, 2]\n',
        4,
        '[guidance] modes = "loud": not one of the choices; allowed: a list of guided, hint, corrective, free',
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[guidance]\nmodes = ["hint", "free"]\nstart = "guided"\n'
        "[[segments]]\nbars = [1, 2]\n",
        5,
        'start = "guided" is not one of the plan\'s modes',
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[guidance]\nmodes = ["hint", "free"]\n[[segments]]\nbars = [1, 2]\n',
        4,
        "modes leaves out guided",
    ),
    (
        'title = "x"\npiece = "five_note_scale"\ninstrument = "voice"\n[guidance]\nmodes = ["free", "hint"]\n'
        "[[segments]]\nbars = [1, 2]\n",
        5,
        "a singing plan has no fingers to guide",
    ),
    (
        'title = "x"\npiece = "five_note_scale"\ninstrument = "voice"\n[guidance]\nstart = "guided"\n'
        "[[segments]]\nbars = [1, 2]\n",
        5,
        "not one of the plan's modes; allowed: one of free",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\ninstrument = "kazoo"\n[[segments]]\nbars = [1, 2]\n',
        3,
        "allowed: one of flute, voice",
    ),
    (
        'title = "x"\npiece = "twinkle_twinkle"\nprofile = "bagpipe"\n[[segments]]\nbars = [1, 2]\n',
        3,
        "no instrument profile; known profiles: boehm, six_hole",
    ),
    ('title = "x"\npiece = "twinkle_twinkle"\nclick = "yes"\n[[segments]]\nbars = [1, 2]\n', 3, "not true or false"),
    (
        'title = "x"\npiece = "twinkle_twinkle"\n[pass]\ntolerance = "strict"\n[[segments]]\nbars = [1, 2]\n',
        4,
        "allowed: one of easy, medium, hard",
    ),
    ('title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nname = "a"\n', 3, "segment 1 bars is missing"),
    ('title = "x"\npiece = "twinkle_twinkle"\n', 1, "segments is missing; it is required"),
    ('title = "x"\npiece = "twinkle_twinkle"\nsegments = [{bars = [1, 2, 3]}]\n', 3, "too many items"),
    ('\n\ntitle = "x"\npiece = "twinkle_twinkle"\n\nbars = ' + "[" * 200 + "]" * 200, 6, "nested more than"),
    ('title = "x"\n' + ".".join(["a"] * 5000) + " = 1\n", 2, "a dotted key of more than"),
    ("# only a comment\n\n", 1, "the plan is empty"),
    ('title = "line\u2028separator"\npiece = 3\n[[segments]]\nbars = [1, 2]\n', 2, "piece = 3: not text"),
    ("", 1, "the plan is empty"),
    (
        'title = "x"\nteacher_notes = """\n[tempo]\nfoo = 1\n"""\npiece = "twinkle_twinkle"\n[tempo]\nbar = 1\n'
        "[[segments]]\nbars = [1, 2]\n",
        8,
        "unknown key 'bar' in [tempo]",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_a_bad_plan_is_refused_at_its_line(text, line, message):
    problems = refused(text)
    assert any(found == line and message in said for found, said in problems), problems


def test_every_problem_is_reported_at_once_in_line_order():
    text = 'title = 7\npiece = "twinkle_twinkle"\n[tempo]\ntarget_bpm = 500\n[guidance]\nlead_ms = "soon"\nfoo = 1\n'
    problems = refused(text)
    assert [line for line, _ in problems] == [1, 1, 4, 6, 7]
    assert "segments is missing" in problems[0][1] or "segments is missing" in problems[1][1]


def test_files_that_are_not_plans_name_the_path(tmp_path):
    cases = {
        tmp_path / "missing.toml": None,
        tmp_path / "binary.toml": b'title = "x"\n\x00\x01\x02',
        tmp_path / "latin1.toml": 'title = "x"\nteacher_notes = "caf\u00e9"\n'.encode("latin-1"),
        tmp_path / "folder.toml": "dir",
    }
    expected = {
        "missing": (1, "no such file"),
        "binary": (1, "not a text file"),
        "latin1": (2, "not UTF-8"),
        "folder": (1, "not a file"),
    }
    for path, content in cases.items():
        if content == "dir":
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        with pytest.raises(PlanError) as error:
            load_plan(path)
        line, message = expected[path.stem]
        assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value)


def test_a_piece_file_is_found_next_to_the_plan(tmp_path, monkeypatch):
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "tune.abc").write_text("X:1\nT:Tune\nM:4/4\nL:1/4\nK:C\nc d e f | g4 | e d c2 |]\n")
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text('title = "x"\npiece = "scores/tune.abc"\n[[segments]]\nbars = [1, 3]\n')
    monkeypatch.chdir(tempfile.gettempdir())  # not the plan's folder
    plan = load_plan(plan_file)
    assert plan.path == plan_file and plan.score_path() == tmp_path / "scores" / "tune.abc"
    plan_file.write_text('title = "x"\npiece = "scores/tune.abc"\n[[segments]]\nbars = [1, 4]\n')
    with pytest.raises(PlanError, match=r"plan.toml:4: .*bar 4 is not in scores/tune.abc \(3 bars\)"):
        load_plan(plan_file)


def test_plan_check_prints_a_summary_per_plan_and_exits_0(capsys):
    paths = sorted(PLANS.glob("*.toml"))
    assert main(["plan", "check", *map(str, paths)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(paths)
    first = next(line for line in out if "first_lesson.toml" in line)
    assert "twinkle_twinkle" in first and "bars 1-2, 3-4, 5-6" in first and "dynamic policy" in first


def test_plan_check_exits_2_with_every_error_on_stderr(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\npiece = "twinkle_twinkle"\n[[segments]]\nbars = [1, 99]\n')
    good = PLANS / "first_lesson.toml"
    assert main(["plan", "check", str(bad), str(good), str(tmp_path / "none.toml")]) == 2
    captured = capsys.readouterr()
    assert "first_lesson.toml" in captured.out and "bad.toml" not in captured.out
    assert captured.err.splitlines() == [
        f"{bad}:4: segment 1 bars = [1, 99]: bar 99 is not in twinkle_twinkle (12 bars); allowed: 1 to 12",
        f"{tmp_path / 'none.toml'}:1: no such file; write one with `flutex plan new {tmp_path / 'none.toml'}`",
    ]


def test_plan_new_writes_a_template_that_passes_check_and_never_overwrites(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    assert main(["plan", "new", str(path), "--piece", "ode_to_joy", "--title", "Ode"]) == 0
    assert main(["plan", "check", str(path)]) == 0
    assert "'Ode', ode_to_joy (flute)" in capsys.readouterr().out
    path.write_text("mine")
    assert main(["plan", "new", str(path)]) == 2
    assert "exists" in capsys.readouterr().err and path.read_text() == "mine"
    assert main(["plan", "new", str(path), "--force"]) == 0
    assert load_plan(path).piece == "twinkle_twinkle"


def test_plan_new_names_a_score_file_relative_to_the_plan(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("tune.abc").write_text("X:1\nT:Tune\nM:4/4\nL:1/4\nK:C\nc d e f | g4 | e d c2 |]\n")
    Path("plans").mkdir()
    assert main(["plan", "new", "plans/tune.toml", "--piece", "tune.abc"]) == 0
    plan = load_plan(Path("plans/tune.toml"))
    assert plan.piece == "../tune.abc" and plan.score_path().resolve() == (tmp_path / "tune.abc").resolve()


def test_plan_new_without_a_file_prints_the_template(capsys):
    assert main(["plan", "new"]) == 0
    assert parse_plan(capsys.readouterr().out, "stdout").piece == "twinkle_twinkle"


@pytest.mark.parametrize("argv", [["plan"], ["plan", "new"], ["plan", "check"]])
def test_help(capsys, argv):
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    assert "plan" in capsys.readouterr().out


def never_a_traceback(parse):
    try:
        parse()
    except PlanError as error:
        assert re.match(r"^.+:\d+: ", str(error)), str(error)


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_any_text_is_a_plan_or_a_plan_error(text):
    never_a_traceback(lambda: parse_plan(text, "fuzz.toml"))


@given(st.binary(max_size=400))
@settings(max_examples=200)
def test_any_bytes_are_a_plan_or_a_plan_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(data)
        never_a_traceback(lambda: load_plan(path))


KEYS = [
    "title",
    "piece",
    "instrument",
    "profile",
    "part",
    "transpose",
    "click",
    "minutes",
    "target_bpm",
    "bars",
    "modes",
    "start",
    "policy",
    "tolerance",
    "name",
    "a.b.c",
]
VALUES = [
    '"x"',
    '"twinkle_twinkle"',
    '"voice"',
    "0",
    "-3",
    "2",
    "1.5",
    "true",
    "[1, 2]",
    '["free"]',
    "[]",
    "{}",
    "1979-05-27",
    '"""\n[tempo]\n"""',
    "[[1]]",
    '"guided"',
    "nan",
    "inf",
    '"\u2028\u0085"',
    "'#[{'",
]
HEADERS = ["[tempo]", "[pass]", "[guidance]", "[review]", "[[segments]]", "[segments]", "[[tempo]]", "[x.y]"]
LINES = st.one_of(
    st.builds(lambda key, value: f"{key} = {value}", st.sampled_from(KEYS), st.sampled_from(VALUES)),
    st.sampled_from(HEADERS),
)


@given(st.lists(LINES, max_size=12))
@settings(max_examples=300)
def test_plan_shaped_text_is_a_plan_or_a_plan_error(lines):
    never_a_traceback(lambda: parse_plan("\n".join(lines), "fuzz.toml"))


def test_modes_are_the_shared_names():
    assert GuidanceSettings().modes == MODES


def test_a_shipped_plan_is_found_by_name_and_a_file_by_path(tmp_path):
    assert resolve_plan("first_lesson") == PLANS / "first_lesson.toml"
    mine = tmp_path / "first_lesson"
    mine.write_text(GOOD)
    assert resolve_plan(str(mine)) == mine
    with pytest.raises(PlanError, match=r"^no_such_plan:1: no such file, and no shipped plan .*first_lesson"):
        resolve_plan("no_such_plan")


def test_the_plan_digest_follows_the_segments_not_the_wording():
    plan = parse_plan(GOOD, "plan.toml")
    reworded = parse_plan(GOOD.replace('"Twinkle"', '"Twinkle, again"').replace('"first"', '"opening"'), "x")
    rebarred = parse_plan(GOOD.replace("[3, 4]", "[3, 5]"), "plan.toml")
    assert plan_ref(plan).title == "Twinkle" and plan_ref(plan).path == ""
    assert plan_ref(reworded).digest == plan_ref(plan).digest != plan_ref(rebarred).digest
    assert dataclasses.replace(plan, click=False).segments == plan.segments
