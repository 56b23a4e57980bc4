"""Bad input gives one line that says what to do, a non-zero exit, and no traceback."""

import os
import signal
import subprocess
import sys
import threading
import time
import tty

import numpy as np
import pytest
import soundfile

from flutex.firmware import wire


def flutex(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "flutex.host.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for needle in needles:
        assert needle in lines[0]


class PtyPeer:
    """Something other than a Flute X board on the far side of a real pseudo-terminal."""

    def __init__(self, answer) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._answer = answer
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            while data := os.read(self._master, 4096):
                os.write(self._master, self._answer(data))
        except OSError:
            return  # the test closed the pty

    def close(self) -> None:
        os.close(self._slave)
        os.close(self._master)


@pytest.fixture
def peer(request):
    device = PtyPeer(request.param)
    yield device
    device.close()


def _other_version(data: bytes) -> bytes:
    return wire.encode(wire.BOARD_INFO, 0, (wire.VERSION + 98, 200, 100, 6, 6, 4, 100, 1), "board=future")


def _garbage(data: bytes) -> bytes:
    return b"AT+OK\r\n" * 8


def test_missing_port():
    assert_one_line_error(flutex("demo", "--device", "serial:///dev/ttyFLUTEX_NONE"), "/dev/ttyFLUTEX_NONE", "cable")


def test_unknown_url_scheme():
    done = flutex("demo", "--device", "usb:thing")
    assert done.returncode == 2
    assert_one_line_error(done, "serial://", "sim://")


def test_ble_without_bluetooth_says_what_to_check():
    """No adapter, no BlueZ (as in CI) or no board advertising: one line saying what to check, no traceback."""
    assert_one_line_error(flutex("demo", "--device", "ble://flutex"), "BLE")


def test_bad_seconds_are_a_usage_error():
    done = flutex("demo", "--seconds", "-3")
    assert done.returncode == 2 and "seconds" in done.stderr


@pytest.mark.parametrize("peer", [_other_version], indirect=True)
def test_board_with_another_protocol_version(peer):
    assert_one_line_error(flutex("demo", "--device", f"serial://{peer.port}"), f"v{wire.VERSION + 98}", "flash")


@pytest.mark.parametrize("peer", [_garbage], indirect=True)
def test_garbage_on_the_line(peer):
    assert_one_line_error(flutex("demo", "--device", f"serial://{peer.port}"), "no Flute X board answered", "bytes")


def test_every_command_has_help():
    from flutex.host.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert "demo" in commands
    for name in commands:
        done = flutex(name, "--help")
        assert done.returncode == 0 and "usage: flutex " + name in done.stdout, name


def test_output_piped_into_head_ends_quietly(tmp_path):
    """`flutex pitch take.wav | head`: the reader goes away; no BrokenPipeError, the exit status a pipe expects."""
    path = tmp_path / "long.wav"
    rate = 16000
    t = np.arange(60 * rate) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    command = [sys.executable, "-m", "flutex.host.cli", "pitch", str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout.readline().startswith(b"time_s")
        process.stdout.close()  # what `head -1` does after its line
        error = process.stderr.read()
        process.wait(timeout=60)
    assert process.returncode == 141 and error == b"", error.decode()


@pytest.mark.parametrize("after_s", [0.3, 0.6, 1.5, 3.0])
def test_ctrl_c_at_any_moment_of_a_session_ends_in_one_line(after_s):
    """A Ctrl-C reaches the whole foreground process group, the simulator's Node process included when it shares
    it: whatever the moment (importing, starting the board, streaming), one line and exit 130. (Before Python has
    finished starting itself, a Ctrl-C ends it before any code of ours runs: no program can catch that.)"""
    command = [sys.executable, "-m", "flutex.host.cli", "demo", "--seconds", "10"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as process:
        time.sleep(after_s)
        os.killpg(process.pid, signal.SIGINT)
        _out, error = process.communicate(timeout=30)
    lines = error.decode().strip().splitlines()
    # 130 (exit code) or death by SIGINT: a shell reports both as $? = 130, and both are the convention for a
    # Ctrl-C. Run with -m, Python sometimes ends by SIGINT after our handler has printed its line (seen 1 in 10
    # around 0.3 s, while the command's modules import; not yet explained): what the user sees is the same.
    assert process.returncode in (130, -signal.SIGINT), error.decode()
    assert lines[-1] == "flutex: interrupted" and "Traceback" not in error.decode() and "node:" not in error.decode()
