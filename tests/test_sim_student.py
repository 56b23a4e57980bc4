"""The learning simulated student on the running simulator: each attempt starts at its beat 0 (the board's sensors
and the microphone follow it), the servos' presses show in its guided notes, its truth is what the host observed,
and the sim:// parameters that ask for it are checked."""

import asyncio
import time

import numpy as np
import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.host.link.events import FluteSample
from flutex.host.link.opener import Instrument, PlainTune, open_instrument
from flutex.sim.learner import FIRST
from flutex.sim.performance import LEAD_IN_S
from flutex.sim.simulated import settings as sim_settings

BOEHM = InstrumentProfile.load("boehm")
BEAT_S = 0.5  # every note a beat at 120 bpm
FIRST_TUNE = PlainTune(
    tuple((midi, float(beat), 1.0, False) for beat, midi in enumerate((62, 64, 66, 67, 69, 71))), ((0.0, 120.0),)
)
# the upper register, none of the first tune's pitches
SECOND_TUNE = PlainTune(
    tuple((midi, float(beat), 1.0, False) for beat, midi in enumerate((81, 79, 77, 76, 74))), ((0.0, 120.0),)
)
AHEAD_S = 1.3  # an attempt is asked for this long before its beat 0 (the lead-in takes 1 s)
SETTLE_S = 0.05  # a fingering reaches the host's samples within this (world loop, pipe, a sample period)
GUIDED_NOTE = 2  # of the second tune


def _written_s(tune: PlainTune, index: int) -> float:
    return tune.notes[index][1] * BEAT_S


async def _attempt(instrument: Instrument, tune: PlainTune, guide_note: int | None = None) -> tuple[float, dict]:
    """Have the student play `tune` (guiding `guide_note` with the servos during it); its beat 0 and `played()`."""
    student = instrument.student
    assert student is not None
    beat0 = time.monotonic() + AHEAD_S
    student.play(tune, beat0, "free", 0)
    if guide_note is not None:
        onset_s = beat0 + _written_s(tune, guide_note) + 0.05
        await asyncio.sleep(onset_s - time.monotonic())
        mask, _ = BOEHM.fingering_for(tune.notes[guide_note][0])
        assert (await instrument.client.arm()).accepted  # an arming lapses: arm just before
        assert (await instrument.client.guide(BOEHM.servo_targets(mask).targets, 250)).accepted
    end_s = beat0 + _written_s(tune, len(tune.notes) - 1) + BEAT_S + 0.3
    await asyncio.sleep(end_s - time.monotonic())
    return beat0, student.played()


def _masks_during(samples: list[tuple[float, int]], start_s: float, end_s: float) -> set[int]:
    return {mask for t_s, mask in samples if start_s <= t_s <= end_s}


def _pitch_midi(blocks: list[tuple[float, np.ndarray]], start_s: float, end_s: float, rate: int) -> float:
    """The strongest frequency heard between two moments, as a (fractional) MIDI note."""
    sound = np.concatenate(
        [samples for t_s, samples in blocks if start_s <= t_s and t_s + len(samples) / rate <= end_s]
    )
    spectrum = np.abs(np.fft.rfft(sound * np.hanning(len(sound)), n=4 * rate))
    hz = np.fft.rfftfreq(4 * rate, 1 / rate)
    audible = hz > 200
    peak_hz = hz[audible][np.argmax(spectrum[audible])]
    return 69 + 12 * np.log2(peak_hz / 440)


async def test_two_attempts_start_at_their_beat0_the_microphone_follows_and_guidance_is_felt():
    async with open_instrument("sim://?profile=boehm&student=5", microphone="sim") as instrument:
        client, truth, student = instrument.client, instrument.truth, instrument.student
        assert truth is not None and student is not None
        samples: list[tuple[float, int]] = []
        client.events.add_listener(
            lambda event: (
                samples.append((truth.board_monotonic_s(round(event.t_s * 1e6)), event.closed_mask))
                if isinstance(event, FluteSample)
                else None
            )
        )
        blocks: list[tuple[float, np.ndarray]] = []

        async def listen() -> None:
            async for block in instrument.audio:
                blocks.append((block.adc_s, block.samples))

        hearing = asyncio.create_task(listen())
        first_item = (FIRST, FIRST_TUNE.notes[0][0])
        before = student.learner.error_probability(first_item, False, 0.0)
        beat0_first, first = await _attempt(instrument, FIRST_TUNE)
        assert student.learner.error_probability(first_item, False, 0.0) < before, "the student learned"
        beat0_second, second = await _attempt(instrument, SECOND_TUNE, GUIDED_NOTE)
        hearing.cancel()

    for tune, beat0, played in ((FIRST_TUNE, beat0_first, first), (SECOND_TUNE, beat0_second, second)):
        assert [note["index"] for note in played["notes"]] == list(range(len(tune.notes)))
        clean = [note for note in played["notes"] if not note["errors"]]
        assert len(clean) >= 3, f"a drawn student makes a few slips, not this many: {played}"
        for note in clean:
            onset = beat0 + note["onset_s"]
            assert abs(note["onset_s"] - _written_s(tune, note["index"])) < 0.05, "each note near its written time"
            fingering, _ = BOEHM.fingering_for(note["midi"])
            held = _masks_during(samples, onset + SETTLE_S, onset + BEAT_S - 0.1)
            assert held == {fingering}, f"note {note['index']} fingered on the board at its time"
            pitch = _pitch_midi(blocks, onset + 0.15, onset + BEAT_S - 0.05, instrument.sample_rate_hz)
            assert abs(pitch - note["midi"]) < 0.5, f"note {note['index']} heard at {pitch:.2f}"
        for note in played["notes"]:
            if "fingering" in note["errors"]:
                onset = beat0 + note["onset_s"]
                wrong = _masks_during(samples, onset + SETTLE_S, onset + BEAT_S - 0.1)
                assert BOEHM.fingering_for(note["midi"])[0] not in wrong, "a fingering slip shows on the board"
    assert first["guided_notes"] == [], "no servo pressed during the first attempt"
    assert second["guided_notes"] == [GUIDED_NOTE], "the servos pressed during that note only"
    rest_s = (beat0_first + _written_s(FIRST_TUNE, 5) + BEAT_S + 0.1, beat0_second - LEAD_IN_S - 0.05)
    assert len(_masks_during(samples, *rest_s)) == 1, "between attempts the hands rest"


def test_a_student_is_asked_for_with_a_seed_and_a_population():
    chosen = sim_settings("student=4&learner=typical&profile=boehm")
    assert chosen.student == 4 and chosen.learner == "typical"
    assert sim_settings("").student is None


@pytest.mark.parametrize(
    ("query", "named", "allowed"),
    [
        ("student=-1", "student", "whole number"),
        ("student=x", "student", "whole number"),
        ("student=1&learner=genius", "learner", "typical"),
        ("learner=typical", "learner", "student=SEED"),
        ("student=1&errors=0.1", "errors", "drop one"),
        ("student=1&loop=1", "loop", "drop one"),
    ],
)
def test_a_bad_student_parameter_is_named_with_what_it_allows(query, named, allowed):
    with pytest.raises(UsageError) as refused:
        sim_settings(query)
    assert named in str(refused.value) and allowed in str(refused.value)
