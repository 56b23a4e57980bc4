"""`flutex breath FILE.csv`: reads a recorded session, prints phases and breaths; bad input is a one-line error."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from breath_truth import BELT_HZ, REST_S, true_inhales, with_artefacts

from flutex.host.cli import main
from flutex.host.link.events import BELT_CHANNELS
from flutex.sim.breathing import (
    BeltSensors,
    BreathingModel,
    BreathPattern,
    calibration_breath,
    diaphragmatic,
    phrases,
)


def _write(path, mouth: bool = False) -> BreathingModel:
    """A recording: the guided calibration followed by 20 s of diaphragmatic breathing."""
    calibration = BreathingModel(calibration_breath(), BeltSensors(), seed=1).record(
        calibration_breath().cycle_s, BELT_HZ
    )
    model = BreathingModel(diaphragmatic(), BeltSensors(), seed=2)
    playing = model.record(20.0, BELT_HZ)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["t_s", *BELT_CHANNELS, *(["mouth_pa"] if mouth else [])])
        for offset, rec in ((0.0, calibration), (calibration.t_s[-1] + 1 / BELT_HZ, playing)):
            for t, channels, pa in zip(rec.t_s, rec.channels_pa, rec.mouth_pa, strict=True):
                writer.writerow([round(offset + t, 4), *channels.round(2), *([pa] if mouth else [])])
    return model


def test_phases_csv_has_each_breath_with_its_share(tmp_path, capsys):
    path = tmp_path / "session.csv"
    model = _write(path)
    pattern: BreathPattern = model.pattern
    full_s = calibration_breath().cycle_s - REST_S
    assert main(["breath", str(path), "--rest-s", str(REST_S), "--full-s", str(full_s)]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    deep = [r for r in rows if r["phase"] == "inhale" and float(r["depth"] or 0) > 0.5]
    assert len(deep) >= 20 // pattern.cycle_s + 1  # the calibration's full breath and every deep breath after it
    assert all(float(r["abdominal_share"]) > 0.8 for r in deep[1:])
    assert all(float(r["t_end_s"]) > float(r["t_start_s"]) for r in rows)


def test_json_without_calibration_steps_calibrates_from_the_recording(tmp_path, capsys):
    path = tmp_path / "session.csv"
    _write(path, mouth=True)
    assert main(["breath", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"calibration", "rate_hz", "quality", "phases", "breaths", "notes_and_phrases"}
    assert set(out["phases"][0]) == {"t_start_s", "t_end_s", "phase", "depth", "abdominal_share"}
    assert len(out["calibration"]["tare_pa"]) == 4
    assert {row["phase"] for row in out["phases"]} == {"inhale", "exhale", "hold"}


HEADER = "t_s,abdomen,back_waist,ribs_left,ribs_right\n"


def _rows(n: int = 30, bad: int | None = None, replace: str = "") -> str:
    """A still belt at 100 Hz; row number `bad` (the header is row 1) replaced by `replace`."""
    lines = [f"{i / 100:.2f},{i % 3},0,0,0" for i in range(n)]
    if bad is not None:
        lines[bad - 2] = replace
    return HEADER + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("t_s,abdomen\n0,1\n", [], "missing back_waist"),
        (_rows(bad=5, replace="0.03,1,2,x,4"), [], "row 5, column ribs_left: 'x' is not a number"),
        (_rows(), ["--rest-s", "1"], "both"),
        (_rows(), [], "calibration failed"),
        (_rows(bad=7, replace="0.05,nan,0,0,0"), [], "row 7, column abdomen: nan is not a measurement"),
        (_rows(bad=7, replace="0.05,0,inf,0,0"), [], "row 7, column back_waist: inf is not a measurement"),
        (_rows(bad=7, replace="nan,0,0,0,0"), [], "row 7, column t_s: nan is not a measurement"),
        (_rows(bad=9, replace="0.07,1,2"), [], "row 9 has 3 values but the header has 5 columns"),
        (_rows(bad=9, replace="0.06,1,0,0,0"), [], "row 9: t_s 0.06 does not come after"),
        (_rows(bad=9, replace="0.05,1,0,0,0"), [], "rows must be in time order"),
        (_rows(bad=9, replace="0.07,1e300,0,0,0"), [], "row 9, column abdomen: 1e+300 Pa is beyond"),
        (_rows(bad=9, replace="5.0,0,0,0,0"), [], "split the recording at the gap"),
        (HEADER, [], "has 0 samples after its header; record at least 20"),
        ("", [], "is empty; it needs a header row"),
        (_rows(20).replace("0,0,0\n", "0,0,0\n", 1).replace(HEADER, HEADER.strip() + ",abdomen\n"), [], "twice"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["breath", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bytes_that_are_not_utf8_name_the_row(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes(_rows().encode() + "31.0,1,0,0,0 # d\xe9but\n".encode("latin-1"))
    assert main(["breath", str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 32: byte 0xe9 is not UTF-8" in err and err.count("\n") == 1


def test_a_file_in_kilopascals_is_told_its_units(tmp_path, capsys):
    path = tmp_path / "kpa.csv"
    model = BreathingModel(diaphragmatic(), BeltSensors(), seed=2)
    recording = model.record(20.0, BELT_HZ)
    with path.open("w") as file:
        file.write(HEADER)
        for t, c in zip(recording.t_s, recording.channels_pa / 1000.0, strict=True):
            file.write(f"{t:.2f},{c[0]:.5f},{c[1]:.5f},{c[2]:.5f},{c[3]:.5f}\n")
    assert main(["breath", str(path)]) == 2
    err = capsys.readouterr().err
    assert "must be pascals" in err and "tighten" not in err


def _write_rate(path, rate_hz: float, duration_s: float = 40.0) -> BreathingModel:
    model = BreathingModel(diaphragmatic(), BeltSensors(), seed=4)
    recording = model.record(duration_s, rate_hz)
    with path.open("w") as file:
        file.write(HEADER)
        for t, c in zip(recording.t_s, recording.channels_pa, strict=True):
            file.write(f"{t:.3f},{c[0]:.2f},{c[1]:.2f},{c[2]:.2f},{c[3]:.2f}\n")
    return model


@pytest.mark.parametrize("rate_hz", [10.0, 25.0, 1000.0])
def test_a_recording_at_another_rate_gives_the_same_breaths(tmp_path, capsys, rate_hz):
    """Windows are set for the belt's 100 Hz: other rates are resampled, not read as if they were 100 Hz."""
    counts = {}
    for rate in (100.0, rate_hz):
        path = tmp_path / f"at_{rate:g}.csv"
        _write_rate(path, rate)
        assert main(["breath", str(path), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        counts[rate] = sum(1 for row in out["breaths"] if row["depth"] > 0.5)
        assert out["rate_hz"] == pytest.approx(rate, rel=0.01)
    assert counts[100.0] == -(-40 // diaphragmatic().cycle_s)  # every breath; the last one is still going in
    assert counts[rate_hz] == counts[100.0]


def test_a_recording_of_artefacts_only_is_flagged(tmp_path, capsys):
    """A belt not worn: sensor noise and steps, and a heartbeat's ripple. JSON says so; CSV output warns on stderr."""
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 120.0, 0.01)
    ripple = 15.0 * np.exp(-(((np.mod(t * 1.2, 1.0) - 0.2) / 0.06) ** 2))
    path = tmp_path / "artefacts.csv"
    with path.open("w") as file:
        file.write(HEADER)
        for ti, r in zip(t, ripple, strict=True):
            a, b, c, d = np.round((r + rng.normal(0.0, 4.0, 4) * [1, 1, 1, 1]) / 5.0) * 5.0 + [40, 20, 20, 20]
            file.write(f"{ti:.2f},{a:g},{b:g},{c:g},{d:g}\n")
    assert main(["breath", str(path), "--json"]) == 0
    quality = json.loads(capsys.readouterr().out)["quality"]
    assert quality["breathing"] is False and "artefacts" in quality["reason"]
    assert main(["breath", str(path)]) == 0
    assert "warning" in capsys.readouterr().err


def test_a_real_session_is_judged_breathing(tmp_path, capsys):
    path = tmp_path / "session.csv"
    _write(path)
    assert main(["breath", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quality"]["breathing"] is True and out["quality"]["reason"] == ""


def test_missing_file(tmp_path, capsys):
    assert main(["breath", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_phases_list_holds_breaths_not_flickers(tmp_path, capsys):
    """A belt with heartbeat ripple, sensor steps and speech flicker: one inhale row per true breath, each with its
    depth (at most 1: calibrated from the session), in the same columns as ever; the CSV rows are the JSON's.
    Before, every flicker was an inhale row: three to four times the breaths."""
    truth = with_artefacts(BreathingModel(phrases(), BeltSensors(), seed=7).record(60.0, BELT_HZ), seed=7)
    path = tmp_path / "real_belt.csv"
    with path.open("w") as file:
        file.write(HEADER)
        for t, c in zip(truth.t_s, truth.channels_pa, strict=True):
            file.write(f"{t:.2f},{c[0]:g},{c[1]:g},{c[2]:g},{c[3]:g}\n")
    assert main(["breath", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    inhales = [row for row in out["phases"] if row["phase"] == "inhale"]
    assert len(inhales) == len(out["breaths"]) == true_inhales(truth)
    assert all(set(row) == {"t_start_s", "t_end_s", "phase", "depth", "abdominal_share"} for row in out["phases"])
    assert all(0.0 < row["depth"] <= 1.0 for row in inhales)
    assert out["quality"]["breathing"] is True
    assert main(["breath", str(path)]) == 0
    listed = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(row["phase"], float(row["t_start_s"])) for row in listed] == [
        (row["phase"], row["t_start_s"]) for row in out["phases"]
    ]
