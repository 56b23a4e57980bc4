"""`flutex progress`: the table and trend, CSV, assignments, the gradebook and forgetting, through the real CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_progress_store import PLAN, make_attempt

from flutex.host.cli import main
from flutex.host.commands.progress import SPARKS
from flutex.tutor.progress import open_store

SHIPPED_PLAN = Path(__file__).parents[1] / "tutor" / "lesson" / "plans" / "first_lesson.toml"


@pytest.fixture
def store_url(tmp_path):
    return f"sqlite://{tmp_path / 'progress.db'}"


def record_lessons(url: str, student: str, errors_per_lesson: list[int]) -> None:
    """One lesson per entry, a day apart, each of two unguided attempts of 4 notes with that many errors."""
    with open_store(url) as store:
        for day, errors in enumerate(errors_per_lesson):
            lesson = store.begin_lesson(student, PLAN, "sim://", datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=day))
            for number in (1, 2):
                store.record_attempt(lesson, make_attempt(number, errors=errors))
            store.finish_lesson(lesson, {"mastery": {"0": 1.0 if errors == 0 else 0.5, "1": 0.0}})


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["progress", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_no_data_is_one_line(capsys, store_url):
    open_store(store_url).close()  # a store with nothing in it yet
    code, out, _ = run(capsys, "--store", store_url)
    assert code == 0 and out == "no lessons recorded yet\n"
    code, out, _ = run(capsys, "--store", store_url, "--student", "Ann")
    assert out == "no lessons recorded for Ann yet\n"
    code, out, _ = run(capsys, "gradebook", "--store", store_url)
    assert code == 0 and out.count("\n") == 1 and out.startswith("no assignments yet")


@pytest.mark.parametrize("argv", [(), ("gradebook",), ("forget", "Ann")])
def test_reading_a_store_that_is_not_there_names_the_path_and_makes_nothing(capsys, tmp_path, argv):
    missing = tmp_path / "progres.db"  # a typo
    code, out, err = run(capsys, *argv, "--store", f"sqlite://{missing}")
    assert code != 0 and out == "" and f"no progress store at {missing}" in err and err.count("\n") == 1
    assert not missing.exists()


def test_table_and_trend(capsys, store_url):
    record_lessons(store_url, "Ann", [3, 2, 0])
    record_lessons(store_url, "Bob", [1])
    code, out, _ = run(capsys, "--store", store_url, "--student", "Ann")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == [
        "date",
        "student",
        "plan",
        "attempts",
        "clean",
        "%",
        "unguided",
        "clean",
        "%",
        "mastered",
    ]
    assert [line.split()[0] for line in lines[1:4]] == ["2026-05-01", "2026-05-02", "2026-05-03"]
    cleans = [100 * (4 - errors) / 4 for errors in (3, 2, 0)]
    for line, clean in zip(lines[1:4], cleans, strict=True):
        assert f"{clean:.1f}  " in line  # clean % and, all attempts unguided, the same unguided clean %
    assert [line.split()[-1] for line in lines[1:4]] == ["0/2", "0/2", "1/2"]
    sparks = "".join(SPARKS[min(7, int(clean / 100 * 8))] for clean in cleans)
    assert lines[4] == f"Ann: clean % by lesson {sparks} 25% -> 100% (+75.0 points over 3 lessons)"
    assert "Bob" not in out
    _, everyone, _ = run(capsys, "--store", store_url)
    assert any(line.startswith("Bob: clean % by lesson") for line in everyone.splitlines())


def test_csv_to_stdout_and_to_a_file(capsys, store_url, tmp_path):
    record_lessons(store_url, "Ann", [1, 0])
    code, out, _ = run(capsys, "--store", store_url, "--csv", "-")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [(row["lesson"], row["attempt"]) for row in rows] == [
        ("1", "1"),
        ("1", "2"),
        ("2", "1"),
        ("2", "2"),
    ]
    assert [int(row["clean_notes"]) for row in rows] == [3, 3, 4, 4]
    target = tmp_path / "attempts.csv"
    code, out, err = run(capsys, "--store", store_url, "--csv", str(target))
    assert err == f"wrote 4 attempts to {target}\n" and "Ann: clean % by lesson" in out
    with target.open(newline="") as written:
        assert list(csv.DictReader(written)) == rows


def test_assign_then_gradebook(capsys, store_url):
    code, out, _ = run(
        capsys, "assign", str(SHIPPED_PLAN), "--student", "Ann", "--due", "2999-01-01", "--store", store_url
    )
    assert code == 0 and out.startswith("assignment 1: ") and "Ann, due 2999-01-01" in out
    with open_store(store_url) as store:
        [assignment] = store.assignments()
    assert assignment["plan_path"] == str(SHIPPED_PLAN.resolve())
    assert assignment["criteria"]["mastered_segments"] >= 3  # the shipped plan's segments
    code, out, _ = run(capsys, "gradebook", "--store", store_url)
    header, row = out.splitlines()
    assert header.split()[:4] == ["student", "plan", "due", "lessons"]
    assert row.split() == ["Ann", SHIPPED_PLAN.name, "2999-01-01", "0", "-", "not", "started"]


def test_assign_refuses_a_bad_plan_or_date(capsys, store_url, tmp_path):
    code, _, err = run(
        capsys,
        "assign",
        str(tmp_path / "missing.toml"),
        "--student",
        "Ann",
        "--due",
        "2026-06-01",
        "--store",
        store_url,
    )
    assert code == 2 and "missing.toml" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exited:
        main(["progress", "assign", str(SHIPPED_PLAN), "--student", "Ann", "--due", "June 1st"])
    assert exited.value.code == 2 and "not a date YYYY-MM-DD" in capsys.readouterr().err
    with open_store(store_url) as store:
        assert store.assignments() == []


def test_forget(capsys, store_url):
    record_lessons(store_url, "Ann", [0])
    record_lessons(store_url, "Bob", [1])
    code, out, _ = run(capsys, "forget", "Ann", "--store", store_url)
    assert code == 0 and out.startswith("forgot Ann")
    _, table, _ = run(capsys, "--store", store_url)
    assert "Ann" not in table and "Bob" in table
    code, _, err = run(capsys, "forget", "Ann", "--store", store_url)
    assert code == 2 and "no student named 'Ann'" in err


def test_a_store_error_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = f"sqlite://{blocker / 'progress.db'}"
    code, out, err = run(
        capsys, "assign", str(SHIPPED_PLAN), "--student", "Ann", "--due", "2999-01-01", "--store", store
    )
    assert (
        code == 1 and out == "" and err.startswith("flutex: error: cannot create the folder") and err.count("\n") == 1
    )


@pytest.mark.parametrize("sub", [[], ["assign"], ["gradebook"], ["forget"]])
def test_every_subcommand_has_help(capsys, sub):
    with pytest.raises(SystemExit) as exited:
        main(["progress", *sub, "--help"])
    out = capsys.readouterr().out
    assert (
        exited.value.code == 0
        and out.startswith(f"usage: flutex progress {' '.join(sub)}".rstrip())
        and "--store" in out
    )
