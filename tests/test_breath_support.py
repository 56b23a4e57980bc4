"""Held-note support: steady notes are told from wavering ones; attack, release and fingering changes are handled."""

from __future__ import annotations

import math

import pytest
from breath_truth import run
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flutex.host.breath import HeldNote, SoundGate, SupportConfig, SupportTracker
from flutex.host.link.events import FluteSample
from flutex.sim.breathing import BeltSensors, phrases


@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
def test_steady_and_wavering_players_are_told_apart(sensors):
    steady, _ = run(phrases(), sensors, seed=4, duration_s=22.0)
    wavering, _ = run(phrases(steady=False), sensors, seed=4, duration_s=22.0)
    steady_notes, wavering_notes = steady.of_type(HeldNote), wavering.of_type(HeldNote)
    assert len(steady_notes) == len(wavering_notes) == 4
    assert all(n.steady is True and n.cv < 0.03 for n in steady_notes)
    assert all(n.steady is False and n.cv == pytest.approx(0.14, abs=0.02) for n in wavering_notes)
    assert all(n.mean_pa == pytest.approx(450.0, rel=0.02) for n in steady_notes + wavering_notes)


def _play(pressures: list[float], masks: list[int] | None = None) -> list[HeldNote]:
    """Feed a pressure sequence at 200 Hz through a gate and tracker; return every note reported."""
    config = SupportConfig()
    gate, tracker = SoundGate(config), SupportTracker(config)
    notes = []
    for i, pa in enumerate(pressures):
        sample = FluteSample(i / 200, i, masks[i] if masks else 0, pa)
        note = tracker.update(sample, gate.update(pa))
        if note is not None:
            notes.append(note)
    final = tracker.finish()
    return notes + ([final] if final is not None else [])


def test_attack_and_release_are_not_counted_as_wavering():
    attack = [50.0 * k for k in range(10)]  # 0 -> 450 Pa in 50 ms
    release = [450.0 - 60.0 * k for k in range(8)]
    notes = _play([0.0] * 20 + attack + [450.0] * 400 + release + [0.0] * 20)
    assert len(notes) == 1
    assert notes[0].wobble_pa < 1e-6 and notes[0].steady is True
    assert notes[0].t_end_s - notes[0].t_start_s == pytest.approx(2.1, abs=0.05)


def test_sagging_support_is_not_steady_and_short_notes_are_not_judged():
    sag = [500.0 - 200.0 * k / 400 for k in range(400)]  # loses 40% over 2 s, with no waver
    (note,) = _play([0.0] * 10 + sag + [0.0] * 10)
    assert note.drift_pa_per_s == pytest.approx(-100.0, rel=0.02) and note.steady is False
    (short,) = _play([0.0] * 10 + [450.0] * 60 + [0.0] * 10)
    assert short.steady is None


def test_a_new_fingering_starts_a_new_note():
    masks = [0b111] * 300 + [0b011] * 300
    notes = _play([450.0] * 600, masks)
    assert [n.closed_mask for n in notes] == [0b111, 0b011]


def test_the_gate_does_not_chatter_at_the_threshold():
    gate = SoundGate(SupportConfig())
    states = [gate.update(pa) for pa in [100, 160, 140, 125, 130, 110, 140]]
    assert states == [False, True, True, True, True, False, False]


@settings(max_examples=40, deadline=None)
@given(
    mean_pa=st.floats(200.0, 1300.0),
    wobble=st.floats(0.0, 0.3),
    wobble_hz=st.floats(2.0, 8.0),
    seconds=st.floats(1.0, 3.0),
)
def test_wobble_measures_the_waver(mean_pa, wobble, wobble_hz, seconds):
    amplitude = wobble * math.sqrt(2)  # a sine of this amplitude has a standard deviation of `wobble`
    assume(mean_pa * (1 - amplitude) > SupportConfig().sound_off_pa)  # deeper dips break the note in two
    n = round(seconds * 200)
    pressures = [mean_pa * (1 + amplitude * math.sin(2 * math.pi * wobble_hz * i / 200)) for i in range(n)]
    (note,) = _play([0.0] * 10 + pressures + [0.0] * 10)
    # a whole number of wobble periods is not guaranteed, so allow a little leakage into the trend
    assert note.cv == pytest.approx(wobble, abs=0.01 + 0.25 * wobble)
    sagged = abs(note.drift_pa_per_s) * note.judged_s / note.mean_pa
    assert note.steady is (note.cv < 0.04 and sagged < 0.15)
