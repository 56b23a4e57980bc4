"""`flutex breath FILE.csv`: reads a recorded session, prints phases and breaths; bad input is a one-line error."""

from __future__ import annotations

import csv
import json

import pytest
from breath_truth import BELT_HZ, REST_S

from flutex.cli import main
from flutex.events import BELT_CHANNELS
from flutex.sim.breathing import BeltSensors, BreathingModel, BreathPattern, calibration_breath, diaphragmatic


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
    assert set(out) == {"calibration", "phases", "breaths", "notes_and_phrases"}
    assert len(out["calibration"]["tare_pa"]) == 4
    assert {row["phase"] for row in out["phases"]} == {"inhale", "exhale", "hold"}


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("t_s,abdomen\n0,1\n", [], "missing back_waist"),
        ("t_s,abdomen,back_waist,ribs_left,ribs_right\n0,1,2,x,4\n", [], "row 2"),
        ("t_s,abdomen,back_waist,ribs_left,ribs_right\n0,1,2,3,4\n", ["--rest-s", "1"], "both"),
        ("t_s,abdomen,back_waist,ribs_left,ribs_right\n0,1,2,3,4\n", [], "calibration failed"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["breath", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_file(tmp_path, capsys):
    assert main(["breath", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
