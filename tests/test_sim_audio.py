"""The virtual player's sound: fixed-size blocks, the same however cut, heard as the melody it plays, and played
as people play (vibrato, scoops, a sharp upper register, breath noise) exactly as its truth says."""

import numpy as np
import pytest

from flutex.host.audio.synth import FLUTE_LIKE
from flutex.host.link.events import FluteSample
from flutex.host.pitch import FLUTE, FingeringPrior, segment_notes, track
from flutex.sim.audio import NOISE_RMS, PlayerAudio
from flutex.sim.music import Tune
from flutex.sim.performance import PITCH, Mistakes
from flutex.sim.player import VirtualPlayer

SR = 44100
SECONDS = 13.0  # the default tune's scale over both registers, and into the next pass
AMBIGUOUS = (0.05, 1.0, 0.1, 0.3)  # 1% odd-harmonic energy: nearly periodic at half its period


def hear(player: VirtualPlayer, block: int = 256, harmonics=FLUTE_LIKE) -> np.ndarray:
    source = PlayerAudio(player, SECONDS, SR, block, harmonics)
    return np.concatenate(list(source.blocks()))[: round(SECONDS * SR)]


def truth_at(player: VirtualPlayer, t_s: np.ndarray, margin_s: float) -> np.ndarray:
    """The note sounding at each time and `margin_s` either side, 0 where silent, -1 where it changes."""
    midi = [player.sounding(t_s + offset)[0] for offset in (-margin_s, 0.0, margin_s)]
    return np.where((midi[0] == midi[1]) & (midi[1] == midi[2]), midi[1], -1)


def test_blocks_are_fixed_size_and_the_last_is_padded():
    blocks = list(PlayerAudio(VirtualPlayer(), 1.0, SR, block=1000).blocks())
    assert len(blocks) == 45 and all(b.shape == (1000,) and b.dtype == np.float32 for b in blocks)
    assert np.all(blocks[-1][100:] == 0) and np.any(blocks[-1][:100] != 0)


def test_the_sound_does_not_depend_on_the_block_size():
    assert np.allclose(hear(VirtualPlayer(), 256), hear(VirtualPlayer(), 1000), atol=1e-5)


def test_the_tracker_hears_the_notes_the_player_plays_and_silence_when_it_breathes_in():
    player = VirtualPlayer()
    frames = track(hear(player), SR, FLUTE)
    truth = truth_at(player, frames.time_s, margin_s=0.04)
    playing, silent = truth > 0, truth == 0
    heard = 69 + 12 * np.log2(np.maximum(frames.f0_hz, 1e-3) / 440.0)
    assert playing.sum() > 900 and silent.sum() > 300
    assert np.mean(np.abs(heard[playing] - truth[playing]) < 0.5) > 0.99
    assert np.mean(frames.f0_hz[silent] == 0) > 0.99
    assert set(truth[playing]) >= {72, 84, 88}  # both registers were played


def test_notes_come_out_as_played_with_their_onsets():
    player = VirtualPlayer()
    notes = segment_notes(track(hear(player), SR, FLUTE))
    t = np.arange(0.0, SECONDS, 0.001)
    played, _ = player.sounding(t)
    changes = np.flatnonzero(np.diff(played) != 0) + 1
    bounds = zip(np.r_[0, changes], np.r_[changes, len(t)], strict=True)
    runs = [(t[s], t[e - 1], int(played[s])) for s, e in bounds if played[s]]
    for note in notes:  # every note heard was played, where it was heard
        assert player.sounding(np.array([(note.onset_s + note.offset_s) / 2]))[0][0] == note.midi
    for start, end, midi in runs:  # every note played long enough to judge was heard, starting on time
        if end - start > 0.1:
            match = [n for n in notes if n.midi == midi and n.onset_s < end and n.offset_s > start]
            assert len(match) == 1 and abs(match[0].onset_s - start) < 0.03, (start, midi, match)


def test_the_noise_floor_is_as_stated():
    silence = hear(VirtualPlayer())[: round(0.5 * SR)]  # the default pattern breathes in first
    assert np.std(silence) == pytest.approx(NOISE_RMS, rel=0.05)


def test_the_flute_stream_prior_settles_an_ambiguous_timbre():
    """The device stream's fingering (sampled at the board's 200 Hz) gives the octave sound alone cannot."""
    player = VirtualPlayer()
    audio = hear(player, harmonics=AMBIGUOUS)
    prior = FingeringPrior(player.profile)
    for seq, t in enumerate(np.arange(0.0, SECONDS, 0.005)):
        moment = player.moment(float(t))
        prior.add_sample(FluteSample(float(t), seq, moment.closed_mask, moment.mouth_pa))
    without, with_prior = track(audio, SR, FLUTE), track(audio, SR, FLUTE, prior)
    truth = truth_at(player, without.time_s, margin_s=0.04)
    playing = truth > 0

    def octave_errors(frames):
        heard = 69 + 12 * np.log2(np.maximum(frames.f0_hz[playing], 1e-3) / 440.0)
        return np.mean(np.abs(np.abs(heard - truth[playing]) - 12) < 0.5)

    assert octave_errors(without) > 0.3
    assert octave_errors(with_prior) < 0.05


def cents_heard(player: VirtualPlayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass of the player, tracked: frame times, pitch in cents from A4, and the audio."""
    audio = np.concatenate(list(PlayerAudio(player, player.performance.period_s, SR).blocks()))
    frames = track(audio, SR, FLUTE)
    return frames.time_s, 1200 * np.log2(np.maximum(frames.f0_hz, 1e-3) / 440.0), audio


LONG_NOTES = Tune.from_seconds([(72, 2.0), (86, 2.0), (None, 0.5), (79, 0.5), (81, 0.5), (77, 0.5), (76, 0.5)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_note_sounds_at_the_pitch_its_truth_says_with_a_vibrato_of_about_5_hz(seed):
    player = VirtualPlayer(LONG_NOTES, Mistakes(at=((4, PITCH),), seed=seed), seed=seed)
    t, cents, _ = cents_heard(player)
    for note in player.performance.notes:
        steady = (t > note.onset_s + 0.1) & (t < note.end_s - 0.05)
        offset = cents[steady] - 100 * (note.midi - 69)
        assert np.mean(offset) == pytest.approx(note.cents, abs=3.0), note  # the vibrato does not shift the pitch
        if note.end_s - note.onset_s > 1.0:
            held = (t > note.onset_s + 0.4) & (t < note.end_s - 0.05)
            wave = cents[held] - cents[held].mean()
            assert np.ptp(wave) == pytest.approx(2 * note.vibrato_cents, rel=0.3)
            spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave)), 8192))
            peak_hz = np.fft.rfftfreq(8192, t[1] - t[0])[np.argmax(spectrum)]
            assert peak_hz == pytest.approx(note.vibrato_hz, abs=0.3)
    overblown = [note.cents for note in player.performance.notes if note.overblown]
    assert overblown and all(5.0 <= c <= 15.0 for c in overblown), "the upper register is played a little sharp"


def test_scooped_notes_start_flat_and_settle():
    player = VirtualPlayer(LONG_NOTES, seed=1)
    t, cents, _ = cents_heard(player)
    checked = 0
    for note in player.performance.notes:
        start = cents[(t > note.onset_s + 0.005) & (t < note.onset_s + 0.03)] - 100 * (note.midi - 69)
        settled = cents[(t > note.onset_s + note.scoop_s) & (t < note.onset_s + note.scoop_s + 0.05)]
        settled = settled - 100 * (note.midi - 69)
        if note.scoop_cents < -30:
            assert start.mean() < settled.mean() - 5, note
            checked += 1
    assert checked


def test_blowing_makes_a_breathy_hiss_above_the_harmonics():
    player = VirtualPlayer(LONG_NOTES)
    audio = np.concatenate(list(PlayerAudio(player, player.performance.period_s, SR).blocks()))

    def hiss_rms(start_s: float, end_s: float) -> float:
        spectrum = np.fft.rfft(audio[round(start_s * SR) : round(end_s * SR)])
        high = np.fft.rfftfreq(round(end_s * SR) - round(start_s * SR), 1 / SR) > 8000  # above the 5th harmonic
        return float(np.sqrt(np.mean(np.abs(spectrum[high]) ** 2)))

    low, high = player.performance.notes[:2]
    silence, blowing, blowing_hard = (
        hiss_rms(0.2, 0.7),
        hiss_rms(low.onset_s + 0.5, low.end_s),
        hiss_rms(high.onset_s + 0.5, high.end_s),
    )
    assert blowing > 10 * silence and blowing_hard > 1.3 * blowing
