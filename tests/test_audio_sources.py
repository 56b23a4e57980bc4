"""Audio sources: fixed-size mono float32 blocks from arrays and files; the live callback path without a sound card."""

import sys
import time
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
from hypothesis import given
from hypothesis import strategies as st

from flutex.host.audio.sources import ArraySource, DamagedAudioError, FileSource, MicrophoneStream, import_sounddevice
from flutex.host.audio.synth import melody
from flutex.host.errors import FlutexError, UsageError


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


def test_file_source_says_why_a_file_cannot_be_opened(tmp_path):
    # libsndfile alone says "System error." for both
    with pytest.raises(UsageError, match="No such file or directory"):
        FileSource(tmp_path / "missing.wav")
    with pytest.raises(UsageError, match="Is a directory"):
        FileSource(tmp_path)


def damaged_copy(tmp_path, fmt: str, damage: str) -> tuple:
    """A 3 s noise file in `fmt`, and a copy of it cut in half or overwritten with junk in the middle."""
    rng = np.random.default_rng(5)
    signal = (0.3 * rng.standard_normal(3 * 44100)).astype(np.float32)
    good = tmp_path / f"good.{fmt.lower()}"
    soundfile.write(good, signal, 44100, format=fmt)
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    if damage == "cut":
        del data[middle:]
    else:
        data[middle : middle + 2000] = bytes((37 * i + 11) % 256 for i in range(2000))
    bad = tmp_path / f"bad.{fmt.lower()}"
    bad.write_bytes(bytes(data))
    return FileSource(good).read_all(), bad


@pytest.mark.parametrize("damage", ["cut", "junk"])
def test_damaged_flac_gives_everything_before_the_damage_then_says_where_it_stopped(tmp_path, damage):
    whole, bad = damaged_copy(tmp_path, "FLAC", damage)
    source, decoded = FileSource(bad), []
    with pytest.raises(DamagedAudioError, match=r"damaged: decoding stopped at \d+\.\d{3} s") as caught:
        decoded.extend(source.chunks())
    decoded = np.concatenate(decoded)
    assert 0.3 * len(whole) < len(decoded) < len(whole)  # about half: the damage is in the middle of the file
    assert np.array_equal(decoded, whole[: len(decoded)])
    assert caught.value.decoded_s == pytest.approx(len(decoded) / 44100)


def test_cut_off_ogg_is_an_error_not_an_empty_recording(tmp_path):
    # libsndfile reports this Ogg Vorbis file, cut in half, as holding no audio at all
    signal, _ = melody([(72, 1.0), (76, 1.0), (79, 1.0)], 44100)
    good = tmp_path / "good.ogg"
    soundfile.write(good, signal, 44100, format="OGG")
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert soundfile.info(str(bad)).frames == 0
    with pytest.raises(DamagedAudioError, match="cut off"):
        FileSource(bad)


def test_file_source_blocks_are_the_file_in_fixed_blocks(tmp_path):
    t = np.arange(10_000) / 44100
    signal = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "x.wav"
    soundfile.write(path, signal, 44100, subtype="FLOAT")
    blocks = list(FileSource(path, block=3000).blocks())
    assert [len(b) for b in blocks] == [3000] * 4
    joined = np.concatenate(blocks)
    assert np.array_equal(joined[:10_000], signal) and not joined[10_000:].any()


def test_file_source_reads_a_long_file_in_pieces(tmp_path):
    """A minute of stereo holds 21 MB as float32; reading it piece by piece must never hold more than a piece."""
    path = tmp_path / "long.wav"
    minute = np.zeros((60 * 44100, 2), np.int16)
    soundfile.write(path, minute, 44100)
    source = FileSource(path)
    tracemalloc.start()
    count = sum(len(chunk) for chunk in source.chunks())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == len(minute)
    assert peak < 1_000_000


def driver_time(adc_s: float, current_s: float) -> SimpleNamespace:
    """The time information PortAudio hands its callback (stream clock), as a plain record."""
    return SimpleNamespace(inputBufferAdcTime=adc_s, currentTime=current_s)


NO_TIME = driver_time(0.0, 0.0)  # a driver that reports no times


def test_microphone_callback_hands_blocks_over_in_order_and_counts_overruns():
    # No sound card here: drive the PortAudio callback by hand, as PortAudio's thread would.
    stream = MicrophoneStream(block=4, slots=4)
    for k in range(5):  # only slots - 1 = 3 fit before the reader catches up
        stream.callback(np.full((4, 1), k, np.float32), 4, NO_TIME, None)
    assert stream.dropped_blocks == 2
    blocks = [stream.read(timeout_s=0) for _ in range(3)]
    assert [b.samples[0] for b in blocks] == [0, 1, 2]
    assert [b.first_sample for b in blocks] == [0, 4, 8]
    stream.callback(np.full((4, 1), 9, np.float32), 4, NO_TIME, None)
    after = stream.read(timeout_s=0)
    assert after.samples[0] == 9
    assert after.first_sample == 20  # the two blocks dropped here leave their gap in the indices
    assert after.adc_s is None  # the driver gave no ADC time


def test_microphone_blocks_carry_the_adc_time_on_the_monotonic_clock():
    # The callback called by hand (no sound card): the stream clock reads 1000 s now, the first sample was
    # captured 12 ms ago on that clock, so on the monotonic clock it is 12 ms before the callback ran.
    stream = MicrophoneStream(block=4, slots=4)
    before = time.monotonic()
    stream.callback(np.zeros((4, 1), np.float32), 4, driver_time(999.988, 1000.0), None)
    after = time.monotonic()
    block = stream.read(timeout_s=0)
    assert before - 0.012 <= block.adc_s <= after - 0.012


def test_microphone_blocks_are_copies_the_ring_cannot_overwrite():
    stream = MicrophoneStream(block=4, slots=2)
    stream.callback(np.full((4, 1), 1.0, np.float32), 4, NO_TIME, None)
    first = stream.read(timeout_s=0)
    for value in (2.0, 3.0):
        stream.callback(np.full((4, 1), value, np.float32), 4, NO_TIME, None)
        stream.read(timeout_s=0)
    assert np.all(first.samples == 1.0)


def test_microphone_callback_does_not_allocate_arrays():
    stream = MicrophoneStream(block=256, slots=8)
    indata = np.ones((256, 1), np.float32)
    times = driver_time(10.0, 10.01)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(2000):
        stream.callback(indata, 256, times, None)
        stream.read(timeout_s=0)  # (its copy is freed at once: nothing accumulates)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert grown < 4096  # 2000 blocks of 1 KiB would be 2 MB


def test_live_audio_without_portaudio_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as on a machine without PortAudio
    with pytest.raises(FlutexError, match="libportaudio2"):
        import_sounddevice()
