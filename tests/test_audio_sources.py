"""Audio sources: fixed-size mono float32 blocks from arrays and files; the live callback path without a sound card."""

import sys
import tracemalloc

import numpy as np
import pytest
import soundfile
from hypothesis import given
from hypothesis import strategies as st

from flutex.audio.sources import ArraySource, FileSource, MicrophoneStream, import_sounddevice
from flutex.errors import FlutexError, UsageError


@given(st.integers(0, 5000), st.sampled_from([64, 256, 1000]))
def test_array_source_yields_full_blocks_and_pads_only_the_last(length, block):
    samples = np.arange(length, dtype=np.float32)
    blocks = list(ArraySource(samples, 44100, block).blocks())
    assert len(blocks) == -(-length // block)
    assert all(b.shape == (block,) and b.dtype == np.float32 for b in blocks)
    joined = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    assert np.array_equal(joined[:length], samples) and not joined[length:].any()


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
def test_file_source_reads_any_libsndfile_format_and_mixes_to_mono(tmp_path, fmt):
    t = np.arange(4800) / 48000
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    path = tmp_path / f"x.{fmt.lower()}"
    soundfile.write(path, np.stack([left, right], axis=1), 48000, format=fmt)
    source = FileSource(path, block=512)
    assert source.sample_rate_hz == 48000
    blocks = list(source.blocks())
    assert all(b.shape == (512,) and b.dtype == np.float32 for b in blocks)
    mono = np.concatenate(blocks)[: len(t)]
    tolerance = 0.05 if fmt == "OGG" else 1e-3  # Vorbis is lossy
    assert np.max(np.abs(mono - left / 2)) < tolerance
    assert np.allclose(source.read_all(), mono, atol=1e-6)


def test_file_source_refuses_non_audio_with_a_hint(tmp_path):
    path = tmp_path / "x.wav"
    path.write_text("not audio")
    with pytest.raises(UsageError, match="WAV, FLAC or OGG"):
        FileSource(path)


def test_microphone_callback_hands_blocks_over_in_order_and_counts_overruns():
    # No sound card here: drive the PortAudio callback by hand, as PortAudio's thread would.
    stream = MicrophoneStream(block=4, slots=4)
    for k in range(5):  # only slots - 1 = 3 fit before the reader catches up
        stream.callback(np.full((4, 1), k, np.float32), 4, None, None)
    assert stream.dropped_blocks == 2
    assert [stream.read(timeout_s=0)[0] for _ in range(3)] == [0, 1, 2]
    stream.callback(np.full((4, 1), 9, np.float32), 4, None, None)
    assert stream.read(timeout_s=0)[0] == 9


def test_microphone_callback_does_not_allocate_arrays():
    stream = MicrophoneStream(block=256, slots=8)
    indata = np.ones((256, 1), np.float32)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(2000):
        stream.callback(indata, 256, None, None)
        stream.read(timeout_s=0)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert grown < 4096  # 2000 blocks of 1 KiB would be 2 MB


def test_live_audio_without_portaudio_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as on a machine without PortAudio
    with pytest.raises(FlutexError, match="libportaudio2"):
        import_sounddevice()
