"""`flutex pitch`: CSV on stdout for frames and notes; bad input is one line, no traceback."""

import csv
import io
import subprocess
import sys

import numpy as np
import soundfile

from flutex.audio.synth import melody
from flutex.cli import main

SR = 44100


def write_melody(path, fmt=None):
    signal, truth = melody([(72, 0.3), (None, 0.1), (79, 0.3)], SR)
    soundfile.write(path, np.stack([signal, signal], axis=1), SR, format=fmt)  # stereo: mixed to mono
    return truth


def run_cli(capsys, *args):
    code = main(["pitch", *map(str, args)])
    out = capsys.readouterr().out
    return code, list(csv.reader(io.StringIO(out)))


def test_frames_csv_has_one_row_per_hop_with_centre_times(tmp_path, capsys):
    path = tmp_path / "take.flac"
    write_melody(path)
    code, rows = run_cli(capsys, path)
    assert code == 0 and rows[0] == ["time_s", "f0_hz", "confidence"]
    times = np.array([float(r[0]) for r in rows[1:]])
    f0 = np.array([float(r[1]) for r in rows[1:]])
    assert times[0] == 0.0 and np.allclose(np.diff(times), 256 / SR, atol=1e-4)
    assert abs(np.median(f0[(times > 0.05) & (times < 0.25)]) - 523.25) < 1
    assert np.all(f0[(times > 0.33) & (times < 0.37)] == 0)  # the rest is unvoiced


def test_notes_csv_lists_the_notes(tmp_path, capsys):
    path = tmp_path / "take.wav"
    write_melody(path)
    code, rows = run_cli(capsys, path, "--notes", "--instrument", "voice")
    assert code == 0 and rows[0] == ["onset_s", "offset_s", "midi", "note", "cents", "stability_cents"]
    assert [(r[2], r[3]) for r in rows[1:]] == [("72", "C5"), ("79", "G5")]


def test_ogg_files_are_read_too(tmp_path, capsys):
    path = tmp_path / "take.ogg"
    write_melody(path, fmt="OGG")
    code, rows = run_cli(capsys, path, "--notes")
    assert code == 0 and [r[2] for r in rows[1:]] == ["72", "79"]


def test_fingering_prior_option_is_accepted(tmp_path, capsys):
    path = tmp_path / "take.wav"
    write_melody(path)
    fingering = tmp_path / "fingering.csv"
    fingering.write_text("time_s,closed_mask,mouth_pa\n" + "".join(f"{t / 100},63,700\n" for t in range(40)))
    code, rows = run_cli(capsys, path, "--notes", "--fingering", fingering)
    assert code == 0 and [r[2] for r in rows[1:]] == ["72", "79"]


def test_bad_input_is_one_line_without_traceback(tmp_path):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello")
    audio = tmp_path / "take.wav"
    write_melody(audio)
    cases = [
        ([not_audio], "WAV, FLAC or OGG"),
        ([tmp_path / "missing.wav"], "WAV, FLAC or OGG"),
        ([audio, "--fingering", tmp_path / "missing.csv"], "time_s,closed_mask,mouth_pa"),
        ([audio, "--fingering", not_audio, "--profile", "nope"], "--profile"),
    ]
    for args, needle in cases:
        done = subprocess.run(
            [sys.executable, "-m", "flutex.cli", "pitch", *map(str, args)], capture_output=True, text=True, timeout=60
        )
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert needle in lines[0]


def test_fingering_with_voice_is_refused(tmp_path, capsys):
    path = tmp_path / "take.wav"
    write_melody(path)
    assert main(["pitch", str(path), "--instrument", "voice", "--fingering", str(path)]) == 2
    assert "--fingering only" in capsys.readouterr().err
