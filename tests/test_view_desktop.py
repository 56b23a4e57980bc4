"""`flutex lesson --view` on a real X server (Xvfb), driven as a student would drive it: the window opens beside
the lesson on the simulator, the student types into its chat, the agent slows the lesson down, the student closes
the window, and the report and the recording say what happened. Xvfb and xdotool are Debian's (`.ci/run` installs
them); without them this is skipped, except in CI, where it fails."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from flutex.host.session.playback import Recording
from flutex.tutor.lesson.events import AttemptStarted, ChatLine
from flutex.view.picture import VIEW_TYPES

TOOLS = ("Xvfb", "xdotool")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(missing) and not os.environ.get("CI"), reason=f"needs Debian's {' and '.join(missing)} (CI installs them)"
)
TITLE = "Flute X: First lesson"


def wait_for(what: str, found, timeout_s: float):
    """Poll `found()` until it gives something (not a sleep that hides a race: each poll checks the state)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout_s:g} s for {what}")


@pytest.fixture
def display():
    """A fresh X server on a display number it picks itself."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait(10)


def xdotool(display: str, *arguments: str) -> str:
    done = subprocess.run(["xdotool", *arguments], env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    return done.stdout.strip()


def test_a_student_types_in_the_lesson_window_and_the_lesson_slows_down(display, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    env["DISPLAY"] = display
    err = tmp_path / "stderr.txt"
    command = [
        sys.executable, "-m", "flutex.host.cli", "lesson", "first_lesson", "--view", "--device",
        "sim://?student=3&learner=quick", "--no-store", "--minutes", "0.3", "--sessions-dir", str(tmp_path),
    ]  # fmt: skip
    with err.open("w") as errors:
        lesson = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        window = wait_for("the lesson's window", lambda: xdotool(display, "search", "--name", TITLE), 60)
        window = window.splitlines()[0]
        xdotool(display, "windowfocus", "--sync", window)
        xdotool(display, "type", "--delay", "20", "slow down to 70 percent")
        xdotool(display, "key", "Return")
        wait_for("the lesson's end", lambda: "time is up" in err.read_text(), 120)
        xdotool(display, "key", "--window", window, "ctrl+q")  # the student closes the window
        out, _ = lesson.communicate(timeout=60)
    finally:
        lesson.kill()
    assert lesson.returncode == 0, err.read_text()[-2000:]
    assert "Traceback" not in err.read_text()
    (path,) = tmp_path.glob("*.mcap")
    assert f"recording {path}" in out and "attempts" in out
    events = list(Recording(path, VIEW_TYPES))
    said = [(stamped.t_s, stamped.event) for stamped in events if isinstance(stamped.event, ChatLine)]
    assert [line.speaker for _, line in said] == ["student", "tutor"]
    assert said[0][1].text == "slow down to 70 percent" and "70%" in said[1][1].text
    after = [s.event for s in events if isinstance(s.event, AttemptStarted) and s.t_s > said[1][0]]
    assert after and after[0].bpm == pytest.approx(0.7 * 120), "the next attempt is at the tempo asked for"
