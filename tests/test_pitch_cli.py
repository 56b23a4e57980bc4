"""`flutex pitch`: CSV on stdout for frames and notes; bad input is one line, no traceback."""

import csv
import io
import math
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from flutex.host.audio.sources import DamagedAudioError, FileSource
from flutex.host.audio.synth import harmonic_tone, melody, midi_to_hz
from flutex.host.cli import main
from flutex.host.pitch import FLUTE, VOICE, segment_notes, track
from flutex.host.pitch.notes import Note

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


def test_fingering_prior_option_changes_an_ambiguous_octave(tmp_path, capsys):
    """A tone with almost no odd harmonics reads an octave up by sound alone; the fingering (all holes closed, low
    breath: C5) must bring it down. Without --fingering the same file must read C6, or the test proves nothing."""
    path = tmp_path / "take.wav"
    soundfile.write(path, harmonic_tone(midi_to_hz(72), 0.6, harmonics=(0.05, 1.0, 0.1, 0.3)), SR)
    fingering = tmp_path / "fingering.csv"
    fingering.write_text("time_s,closed_mask,mouth_pa\n" + "".join(f"{t / 100},63,700\n" for t in range(70)))
    code, rows = run_cli(capsys, path, "--notes")
    assert code == 0 and [r[2] for r in rows[1:]] == ["84"]
    code, rows = run_cli(capsys, path, "--notes", "--fingering", fingering)
    assert code == 0 and [r[2] for r in rows[1:]] == ["72"]


def test_frames_equal_the_tracker_on_the_whole_signal(tmp_path, capsys):
    """The command decodes and tracks the file piece by piece; its frames must be those of one pass."""
    signal, _ = melody([(72, 0.7), (None, 0.2), (88, 0.5), (79, 0.9)], SR, vibrato_cents=30)
    path = tmp_path / "take.wav"
    soundfile.write(path, signal, SR, subtype="FLOAT")
    code, rows = run_cli(capsys, path)
    frames = track(signal, SR, FLUTE)
    assert code == 0 and len(rows) - 1 == len(frames.time_s)
    assert [r[0] for r in rows[1:]] == [f"{t:.4f}" for t in frames.time_s]
    assert [r[1] for r in rows[1:]] == [f"{f:.2f}" for f in frames.f0_hz]
    code, rows = run_cli(capsys, path, "--notes")
    assert [(r[0], r[2]) for r in rows[1:]] == [(f"{n.onset_s:.4f}", str(n.midi)) for n in segment_notes(frames)]


def test_help_states_the_ranges_the_tracker_covers(capsys):
    with pytest.raises(SystemExit):
        main(["pitch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for config in (FLUTE, VOICE):
        # the lowest and highest notes whose nominal pitch lies in the range
        low = math.ceil(69 + 12 * math.log2(config.fmin_hz / 440))
        high = math.floor(69 + 12 * math.log2(config.fmax_hz / 440))
        names = (Note(0, 0, low, 0, 0).name, Note(0, 0, high, 0, 0).name)
        assert f"{config.name} {names[0]}-{names[1]} ({config.fmin_hz:.0f}-{config.fmax_hz:.0f} Hz" in text, text
    assert "flute B3-E7" in text  # the B-foot flute's B3 up to the top notes past D7


def test_bad_input_is_one_line_without_traceback(tmp_path):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello")
    audio = tmp_path / "take.wav"
    write_melody(audio)
    cases = [
        ([not_audio], "WAV, FLAC or OGG"),
        ([tmp_path / "missing.wav"], "No such file or directory"),  # libsndfile alone says "System error."
        ([audio, "--fingering", tmp_path / "missing.csv"], "time_s,closed_mask,mouth_pa"),
        ([audio, "--fingering", not_audio, "--profile", "nope"], "--profile"),
    ]
    for args, needle in cases:
        done = subprocess.run(
            [sys.executable, "-m", "flutex.host.cli", "pitch", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert needle in lines[0]


def test_fingering_with_voice_is_refused(tmp_path, capsys):
    path = tmp_path / "take.wav"
    write_melody(path)
    assert main(["pitch", str(path), "--instrument", "voice", "--fingering", str(path)]) == 2
    assert "--fingering only" in capsys.readouterr().err


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flutex.host.cli", "pitch", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_damaged_file_prints_what_decoded_then_one_line_saying_where_it_stopped(tmp_path):
    signal, _ = melody([(72, 1.0), (76, 1.0), (79, 1.0)], SR)
    good = tmp_path / "good.flac"
    soundfile.write(good, signal, SR)
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes((37 * i + 11) % 256 for i in range(2000))
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data))
    done = cli(bad)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    stopped_s = float(re.search(r"stopped at (\d+\.\d+) s", lines[0]).group(1))
    assert 1.0 < stopped_s < 2.0  # in the second note
    rows = list(csv.reader(io.StringIO(done.stdout)))[1:]
    # every frame of the decoded part, as a one-pass track of it gives them
    decoded: list[np.ndarray] = []
    with pytest.raises(DamagedAudioError):
        decoded.extend(FileSource(bad).chunks())
    frames = track(np.concatenate(decoded), SR, FLUTE)
    assert [r[1] for r in rows] == [f"{f:.2f}" for f in frames.f0_hz]
    assert float(rows[-1][0]) == pytest.approx(stopped_s, abs=256 / SR)
    done = cli(bad, "--notes")
    notes = list(csv.reader(io.StringIO(done.stdout)))[1:]
    assert done.returncode == 2 and "stopped at" in done.stderr
    assert [n[3] for n in notes] == ["C5", "E5"]  # the note cut by the damage too


def peak_rss_mb(*args) -> float:
    """Peak resident memory of `flutex pitch ARGS` in a fresh child process (its own, not the test's)."""
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "flutex.host.cli", "pitch", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    return int(done.stdout) / 1024  # kB on Linux


@pytest.mark.parametrize("mode", [[], ["--notes"]])
def test_memory_stays_flat_whatever_the_length_of_the_file(tmp_path, mode):
    """Two minutes of stereo are 42 MB as float32: reading the file whole shows; streaming does not."""
    tone = np.tile(melody([(72, 0.5), (None, 0.1), (79, 0.4)], SR)[0], 2)  # 2 s
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    soundfile.write(short, np.stack([tone, tone], axis=1), SR, subtype="PCM_16")
    with soundfile.SoundFile(long, "w", SR, 2, subtype="PCM_16") as handle:
        for _ in range(60):  # 2 minutes
            handle.write(np.stack([tone, tone], axis=1))
    assert peak_rss_mb(long, *mode) - peak_rss_mb(short, *mode) < 25
