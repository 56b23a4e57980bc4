"""sim:// query parameters: the profile the board runs, the player's seed, mistakes, voice and looping; the tune as
plain data; the truth of the performance."""

import asyncio
import time

import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.host.link.events import FluteSample
from flutex.host.link.opener import PlainTune, open_instrument
from flutex.sim.music import default_tune
from flutex.sim.performance import EXTRA, MISSED, OCTAVE, PITCH, WRONG_FINGERING, Mistakes, perform
from flutex.sim.simulated import PLAYER_WAIT_S, kinds_weighted
from flutex.sim.simulated import settings as sim_settings
from flutex.sim.truth import performance_truth

BOEHM = InstrumentProfile.load("boehm")
# D4 E4 F#4 G4, a beat each at 120 bpm, then a rest: two seconds of music on the Boehm flute
SHORT = PlainTune(
    ((62, 0.0, 1.0, False), (64, 1.0, 1.0, False), (66, 2.0, 1.0, False), (67, 3.0, 1.0, False)), ((0.0, 120.0),)
)


def test_settings_read_every_parameter():
    settings = sim_settings("profile=boehm&seed=7&errors=fingering:0.05,late:0.05,missed:0.02&loop=1")
    assert settings.profile == "boehm" and settings.seed == 7 and settings.loop is True and not settings.voice
    assert dict(settings.errors) == {WRONG_FINGERING: 0.05, "late": 0.05, MISSED: 0.02}
    assert sim_settings("").errors == () and sim_settings("").loop is None


def test_one_rate_spreads_evenly_over_every_kind_and_a_singer_has_no_fingering():
    flute = dict(sim_settings("errors=0.16").errors)
    assert len(flute) == 8 and sum(flute.values()) == pytest.approx(0.16)
    assert len(set(flute.values())) == 1
    voice = dict(sim_settings("errors=0.14&instrument=voice").errors)
    assert WRONG_FINGERING not in voice and sum(voice.values()) == pytest.approx(0.14)


def test_kinds_are_drawn_in_proportion_to_their_rates():
    kinds = kinds_weighted(((WRONG_FINGERING, 0.05), ("late", 0.05), (MISSED, 0.02)))
    assert (kinds.count(WRONG_FINGERING), kinds.count("late"), kinds.count(MISSED)) == (5, 5, 2)


@pytest.mark.parametrize(
    ("query", "named", "allowed"),
    [
        ("profile=tuba", "profile", "six_hole"),
        ("seed=-3", "seed", "whole number"),
        ("errors=1.5", "errors", "[0, 1]"),
        ("errors=fingering:0.6,late:0.6", "errors", "at most 1"),
        ("errors=bogus:0.1", "bogus", "no_breath"),
        ("errors=fingering:0.1&instrument=voice", "fingering", "pitch"),
        ("instrument=piano", "instrument", "voice"),
        ("loop=yes", "loop", "0 (play the tune once)"),
        ("tempo=90", "tempo", "profile, seed, errors, instrument, loop"),
        ("seed=1&seed=2", "seed", "once"),
    ],
)
def test_a_bad_parameter_is_named_with_what_it_allows(query, named, allowed):
    with pytest.raises(UsageError) as refused:
        sim_settings(query)
    assert named in str(refused.value) and allowed in str(refused.value)


def test_truth_lists_each_mistake_with_its_consequences():
    tune = default_tune()
    mistakes = Mistakes(at=((1, WRONG_FINGERING), (4, OCTAVE), (7, MISSED), (10, PITCH), (13, EXTRA)))
    performance = perform(tune, InstrumentProfile.load("six_hole"), mistakes)
    truth = performance_truth(tune, performance)
    errors = {note["index"]: note["errors"] for note in truth["notes"]}
    assert errors[1] == ["fingering", "pitch"] and errors[4] == ["octave"] and errors[7] == ["missed"]
    assert errors[10] == ["pitch"] and errors[13] == []
    assert [k for k, found in errors.items() if found] == [1, 4, 7, 10], "no error on any other note"
    extra = next(note for note in performance.notes if note.score_index is None)
    assert truth["extra_notes"] == [{"after_index": 13, "midi": extra.midi}]
    assert len(truth["notes"]) == sum(note.midi is not None for note in tune.notes), "rests are not graded"
    sung = performance_truth(tune, performance, sings=True)
    assert next(note for note in sung["notes"] if note["index"] == 1)["errors"] == ["pitch"]


async def _samples(client, seconds: float) -> list[FluteSample]:
    samples: list[FluteSample] = []
    remove = client.events.add_listener(lambda event: samples.append(event) if isinstance(event, FluteSample) else None)
    await asyncio.sleep(seconds)
    remove()
    return samples


async def test_the_board_runs_the_profile_of_the_url_and_the_player_plays_the_tune():
    async with open_instrument("sim://?profile=boehm&seed=3", microphone=None, tune=SHORT) as instrument:
        assert instrument.client.info.details["profile"] == "boehm"
        assert instrument.beat0_monotonic_s is not None and not instrument.sings
        wait_s = instrument.beat0_monotonic_s + 2.0 - time.monotonic()  # until the end of the tune's 4 beats
        masks = {sample.closed_mask for sample in await _samples(instrument.client, wait_s)}
        truth = instrument.performance_truth()
    fingered = {BOEHM.fingering_for(midi)[0] for midi, *_ in SHORT.notes}
    assert fingered <= masks, "every note's Boehm fingering reached the board"
    assert [note["index"] for note in truth["notes"]] == [0, 1, 2, 3]
    assert all(note["errors"] == [] for note in truth["notes"]) and truth["extra_notes"] == []


async def test_the_player_waits_for_the_host_before_its_lead_in():
    async with open_instrument("sim://?profile=boehm", microphone=None, tune=SHORT) as instrument:
        ahead_s = instrument.beat0_monotonic_s - time.monotonic()
    assert ahead_s > PLAYER_WAIT_S - 0.5, "beat 0 is still well ahead when the host is connected"


async def test_a_singer_leaves_the_holes_open_and_does_not_blow():
    async with open_instrument("sim://?instrument=voice&profile=boehm", microphone="sim", tune=SHORT) as instrument:
        assert instrument.sings
        blocks = aiter(instrument.audio)
        loud = 0.0
        wait_s = instrument.beat0_monotonic_s + 1.0 - time.monotonic()
        samples_task = asyncio.create_task(_samples(instrument.client, wait_s))
        while time.monotonic() < instrument.beat0_monotonic_s + 1.0:
            block = await anext(blocks)
            loud = max(loud, float(abs(block.samples).max()))
        samples = await samples_task
    assert samples and {sample.closed_mask for sample in samples} == {0}
    assert max(sample.mouth_pa for sample in samples) < BOEHM.sounding_pa
    assert loud > 0.05, "the singer is heard"
