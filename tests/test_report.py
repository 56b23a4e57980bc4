"""`flutex report`: the lesson page from a real recording (sections, numbers that match the picture, nothing fetched,
text escaped), its size for a long lesson, the gradebook pages from a real store, the command's errors, and the
page as headless Chromium draws it."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from test_progress_store import PLAN, make_attempt

from flutex.host.audio.synth import midi_to_hz
from flutex.host.breath.share import Inhale
from flutex.host.cli import main
from flutex.host.link.events import BeltSample
from flutex.host.session.events import HapticPress, PitchFrame, Stamped
from flutex.host.session.playback import Recording
from flutex.tutor.assess.events import NoteGraded, SegmentFinished
from flutex.tutor.lesson.events import (
    AttemptEnded,
    AttemptScore,
    AttemptStarted,
    ChatLine,
    LessonBegan,
    MasteryChanged,
    TargetNote,
)
from flutex.tutor.progress import open_store
from flutex.view.colours import BELT, CLEAN, FAULTY, GUIDANCE, hex_colour
from flutex.view.picture import VIEW_TYPES, Picture
from flutex.view.report.session_page import SessionSource, session_page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
SECTIONS = ("header", "pitch", "breath", "guidance", "attempts", "segments", "zooms")
MELODY = (72, 72, 79, 79, 81, 81, 79)  # the first bars of "Twinkle, Twinkle"


def report(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def main_attributes(page: str) -> dict[str, str]:
    (opening,) = re.findall(r"<main [^>]*>", page)
    return dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', opening))


def section(page: str, name: str) -> str:
    """The HTML of <section id=name> (sections do not nest)."""
    match = re.search(rf'<section id="{name}"[^>]*>(.*?)</section>', page, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def marks(html: str, name: str, colour: tuple[int, int, int]) -> int:
    """How many dots the path of class `name` draws (one move each), checking its colour."""
    paths = re.findall(rf'<path class="{name}" d="([^"]*)" stroke="([^"]*)"', html)
    assert all(stroke == hex_colour(colour) for _, stroke in paths)
    return sum(d.count("M") for d, _ in paths)


def references(page: str) -> list[str]:
    """Anything in the markup (tags and the style sheet, not the escaped text) that would make a browser fetch:
    src or href attributes, CSS url() or @import, any http: or https: address."""
    markup = " ".join(re.findall(r"<[^<>]*>", page) + re.findall(r"<style>(.*?)</style>", page, re.S))
    return re.findall(r"\b(?:src|href)\s*=|url\(|@import|https?:", markup, re.I)


@pytest.fixture(scope="module")
def lesson_picture(lesson_recording) -> Picture:
    """The recording read the plain way, without the report's code, to check the page's numbers against."""
    picture = Picture()
    picture.feed_all(Recording(lesson_recording, VIEW_TYPES))
    return picture


@pytest.fixture(scope="module")
def lesson_page(lesson_recording, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(lesson_recording), "--out", str(out)]) == 0
    return out


def test_the_lesson_page_has_every_section_and_the_pictures_numbers(lesson_page, lesson_picture):
    page = lesson_page.read_text(encoding="utf-8")
    picture = lesson_picture
    assert picture.attempts and picture.grades, "the simulated lesson should have attempts and grades"
    for name in SECTIONS:
        section(page, name)
    clean = sum(grade.clean for grade in picture.grades)
    attributes = main_attributes(page)
    assert attributes["data-report"] == "session"
    assert int(attributes["data-attempts"]) == len(picture.attempts)
    assert int(attributes["data-notes"]) == len(picture.grades)
    assert int(attributes["data-clean-notes"]) == clean
    assert int(attributes["data-segments-finished"]) == len(picture.segments)
    assert f"<b>{clean}/{len(picture.grades)}</b>" in section(page, "header")
    # one table row per attempt, each with its own clean count
    rows = re.findall(r"<tr>(.*?)</tr>", section(page, "attempts"))[1:]
    assert len(rows) == len(picture.attempts)
    for row, attempt in zip(rows, picture.attempts, strict=True):
        assert f"{attempt.ended.clean_notes} / {attempt.ended.notes}" in row
    # every grade is a dot over the whole lesson: green for each clean note, red for each faulty one
    pitch = section(page, "pitch")
    assert marks(pitch, "grades clean", CLEAN) == clean
    assert marks(pitch, "grades faulty", FAULTY) == len(picture.grades) - clean
    # a zoomed chart per attempt, with a dot per graded note of that attempt
    zooms = section(page, "zooms")
    assert re.findall(r'id="attempt-(\d+)"', zooms) == [str(attempt.started.attempt) for attempt in picture.attempts]
    assert zooms.count('<circle class="grade clean"') == clean
    assert zooms.count('<circle class="grade faulty"') == len(picture.grades) - clean
    # the belt's four channels are drawn, and the pressing is shaded
    breath = section(page, "breath")
    assert all(f'stroke="{hex_colour(colour)}"' in breath for colour in BELT)
    assert (f'fill="{hex_colour(GUIDANCE)}"' in section(page, "guidance")) == bool(picture.presses)


def test_the_lesson_page_fetches_nothing(lesson_page):
    page = lesson_page.read_text(encoding="utf-8")
    assert references(page) == []
    assert "<script" not in page.lower()


def tiny_picture(title: str, student: str, reason: str) -> Picture:
    """A lesson of one attempt and one faulty note, with the given texts where a page shows them."""
    note = TargetNote(0, 72, 1.0, 1.5, 1, 1.0, 0, 63, True)
    events = [
        LessonBegan(title, "a piece", student, "dynamic", ((1, 2),), False),
        AttemptStarted(1, 1, 2, "free", 0, 96.0, 1.0, False, reason),
        AttemptScore(1, (note,)),
        PitchFrame(midi_to_hz(72.3), 0.9, True),
        BeltSample(1.1, 0, (1.0, 2.0, 3.0, 4.0)),
        NoteGraded(0, 1, 1.0, 72, ("late",), (reason,), 30.0, 0.2, 3, 4),
        AttemptEnded(1, 0, 1, 0, 0, False),
        ChatLine("student", f"slower {reason}"),
        ChatLine("tutor", f"tempo 80% {reason}"),
    ]
    picture = Picture()
    picture.feed_all(Stamped(1.0 + 0.1 * k, event) for k, event in enumerate(events))
    return picture


def test_every_text_is_escaped():
    hostile = "<script>alert('x')</script> & <img src=x>"
    picture = tiny_picture(hostile, f"Ann {hostile}", f"bar 1 {hostile}")
    page = session_page(picture, SessionSource(f"{hostile}.mcap", None, f"stopped {hostile}"))
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") >= 5  # title, heading, student, reasons, explanation, file name, warning...
    assert references(page) == []


def test_the_conversation_is_on_the_page_in_order():
    page = session_page(tiny_picture("t", "Ann", "please"), SessionSource("x.mcap", None, None))
    said = section(page, "conversation")
    assert main_attributes(page)["data-chat-lines"] == "2"
    assert said.index("slower please") < said.index("tempo 80% please") and "Flute X" in said


def long_lesson(minutes: float) -> Iterator[Stamped]:
    """A synthetic lesson as the session would publish it: attempts of seven notes every 8 s, guided every other
    one, the belt at 100 Hz and the pitch at 172 frames a second (a wobbling, sometimes flat tone), an inhale
    every 4 s."""
    yield Stamped(0.0, LessonBegan("Long", "piece", "Ann", "dynamic", ((1, 2), (3, 4)), False))
    attempts = int(minutes * 60 / 8.0)
    for k in range(attempts):
        start, number, guided = 8.0 * k, k + 1, k % 2 == 0
        mode, force = ("guided", 1000) if guided else ("free", 0)
        yield Stamped(start, AttemptStarted(number, 1, 2, mode, force, 96.0, start + 1.0, False, f"attempt {number}"))
        notes = tuple(
            TargetNote(i, midi, start + 1.0 + 0.8 * i, start + 1.8 + 0.8 * i, 1 + i // 4, 1.0 + i % 4, 0, 1, i == 4)
            for i, midi in enumerate(MELODY)
        )
        yield Stamped(start, AttemptScore(number, notes))
        frames = []
        for t in np.arange(start, start + 8.0, 1 / 100):
            wave = 300.0 * math.sin(2 * math.pi * t / 4.0)
            frames.append(Stamped(float(t), BeltSample(float(t), 0, (wave, 0.5 * wave, 0.2 * wave, 0.1 * wave))))
        for t in np.arange(start + 1.0, start + 6.6, 1 / 172):
            note = notes[min(6, int((t - start - 1.0) / 0.8))]
            off = 0.3 * math.sin(2 * math.pi * 5 * t) + (0.4 if note.index % 3 == 0 else 0.0)
            frames.append(Stamped(float(t), PitchFrame(midi_to_hz(note.midi + off), 0.9, True)))
        if guided:
            frames += [Stamped(note.onset_s - 0.1, HapticPress(note.index, 1, 1000, note.end_s)) for note in notes]
        frames += [Stamped(start + 4.0 * b, Inhale(start + 4.0 * b, start + 4.0 * b + 1.0, 0.5, 0.7)) for b in (0, 1)]
        yield from sorted(frames, key=lambda stamped: stamped.t_s)
        for note in notes:
            errors = ("pitch",) if note.index % 3 == 0 else ()
            yield Stamped(note.end_s, NoteGraded(note.index, note.bar, note.beat, note.midi, errors, errors, 10.0, 0.0,
                                                 3, 4))  # fmt: skip
        yield Stamped(start + 7.0, SegmentFinished(0, 7, 4, 24, 28))
        yield Stamped(start + 7.0, AttemptEnded(number, 4, 7, 0, 7 if guided else 0, False))
        yield Stamped(start + 7.9, MasteryChanged(number, (min(1.0, k / attempts), 0.0)))


def test_a_thirty_minute_lesson_makes_a_page_under_two_megabytes():
    picture = Picture()
    picture.feed_all(long_lesson(30.0))
    assert picture.end_s > 29 * 60 and len(picture.attempts) == 225
    page = session_page(picture, SessionSource("long.mcap", datetime(2026, 5, 1, tzinfo=UTC), None))
    assert len(page.encode()) < 2_000_000
    assert len(re.findall(r'id="attempt-\d+"', page)) == len(picture.attempts)


def record_lessons(url: str, student: str, errors_per_lesson: list[int]) -> None:
    """One lesson a day per entry, each of two unguided attempts of four notes with that many errors."""
    with open_store(url) as store:
        for day, errors in enumerate(errors_per_lesson):
            started = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=day)
            lesson = store.begin_lesson(student, PLAN, "sim://", started)
            for number in (1, 2):
                store.record_attempt(lesson, make_attempt(number, errors=errors))
            store.finish_lesson(lesson, {"mastery": {"0": 1.0 if errors == 0 else 0.5, "1": 0.0}})


@pytest.fixture
def school(tmp_path) -> str:
    """A store with three students: Ann (three lessons, passing her assignment), <Bob> (one lesson, an assignment
    overdue) and Cy (an assignment, no lesson)."""
    url = f"sqlite://{tmp_path / 'school.db'}"
    record_lessons(url, "Ann", [3, 1, 0])
    record_lessons(url, "<Bob>", [2])
    with open_store(url) as store:
        criteria = {"min_unguided_clean_percent": 90.0, "mastered_segments": 1}
        store.assign("Ann", PLAN.path, date.today() + timedelta(days=7), criteria)
        store.assign("<Bob>", PLAN.path, date(2026, 1, 1), criteria)
        store.assign("Cy", PLAN.path, date.today() + timedelta(days=7), criteria)
    return url


def test_the_class_gradebook(capsys, school, tmp_path):
    out = tmp_path / "class.html"
    code, said, _ = report(capsys, "--gradebook", "--store", school, "--out", str(out))
    assert code == 0 and said.startswith(f"wrote {out}")
    page = out.read_text(encoding="utf-8")
    with open_store(school) as store:
        lessons, rows = store.progress(), store.gradebook()
    attributes = main_attributes(page)
    assert attributes["data-report"] == "gradebook"
    assert int(attributes["data-students"]) == 3 and int(attributes["data-lessons"]) == len(lessons) == 4
    assert int(attributes["data-assignments"]) == len(rows) == 3
    assert int(attributes["data-passed"]) == sum(row["status"] == "passed" for row in rows) == 1
    students = re.findall(
        r'<section id="student-\d+" class="student" data-student="([^"]*)" data-lessons="(\d+)"', page
    )
    assert students == [("Ann", "3"), ("&lt;Bob&gt;", "1"), ("Cy", "0")]
    assert "<Bob>" not in page
    assert 'class="overdue">overdue' in section(page, "assignments")
    # Ann's chart: a dot per lesson for each of the two lines
    ann = page[page.index('data-student="Ann"') : page.index('data-student="&lt;Bob&gt;"')]
    assert ann.count("<circle") == 2 * 3
    assert references(page) == []


def test_one_students_gradebook(capsys, school, tmp_path):
    out = tmp_path / "ann.html"
    code, _, _ = report(capsys, "--gradebook", "--student", "Ann", "--store", school, "--out", str(out))
    page = out.read_text(encoding="utf-8")
    attributes = main_attributes(page)
    assert code == 0 and attributes["data-students"] == "1" and attributes["data-lessons"] == "3"
    assert attributes["data-assignments"] == "1" and attributes["data-passed"] == "1"
    assert "Bob" not in page and 'id="students"' not in page


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["no-such-session.mcap"], "no recording at no-such-session.mcap"),
        ([], "give a SESSION to report, or --gradebook"),
        (["x.mcap", "--gradebook"], "give a SESSION to report, or --gradebook"),
        (["x.mcap", "--student", "Ann"], "--student and --store go with --gradebook"),
    ],
)
def test_errors_are_one_line(capsys, tmp_path, monkeypatch, argv, says):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    code, out, err = report(capsys, *argv, "--out", str(tmp_path / "r.html"))
    assert code == 2 and out == ""
    assert err.startswith("flutex: error: ") and says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_a_file_that_is_no_recording_and_an_unknown_student_are_one_line(capsys, tmp_path, school):
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not a recording at all")
    code, _, err = report(capsys, str(junk), "--out", str(tmp_path / "r.html"))
    assert code == 2 and err.count("\n") == 1 and "nothing to show" in err and "MCAP" in err
    code, _, err = report(capsys, "--gradebook", "--student", "Zed", "--store", school, "--out", str(tmp_path / "z"))
    assert code == 2 and err.count("\n") == 1 and "'Zed'" in err


def test_an_unwritable_out_is_one_line(capsys, tmp_path, school):
    code, _, err = report(capsys, "--gradebook", "--store", school, "--out", str(tmp_path))  # a folder
    assert code == 2 and err.startswith(f"flutex: error: cannot write {tmp_path}") and err.count("\n") == 1


def screenshot(page: Path, png: Path, size: str = "1400,2000") -> np.ndarray:
    """The page as headless Chromium draws it, as an (height, width, 3) array of RGB."""
    from PySide6.QtGui import QImage

    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={png.parent / 'chromium-profile'}",
               f"--screenshot={png}", f"--window-size={size}", page.resolve().as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    image = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def pixels_near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 6) -> int:
    return int(np.count_nonzero(np.all(np.abs(image.astype(int) - colour) <= tolerance, axis=2)))


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="no /usr/bin/chromium (in CI this test fails instead)"
)
def test_chromium_draws_the_page(lesson_page, tmp_path):
    assert shutil.which(str(CHROMIUM)), "CI must have /usr/bin/chromium"
    image = screenshot(lesson_page, tmp_path / "report.png")
    assert image.shape == (2000, 1400, 3)
    colours = np.unique(image.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 100, "the page looks blank"
    drawn = np.flatnonzero((image < 240).any(axis=2).any(axis=1))
    assert drawn[-1] > 1500, "the page should fill the screenshot (header, three charts, tables)"
    for colour in (*BELT[:2], BELT[3], CLEAN, FAULTY, GUIDANCE):
        assert pixels_near(image, colour) > 20, f"{hex_colour(colour)} is not on the page"
