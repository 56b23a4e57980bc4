"""The hardware documents agree with the pin map, and the pin map only uses pins an ESP32-S3 N8R8 can give."""

import csv
import re
from collections import Counter

import pytest

from flutex.hardware import HARDWARE_DIR, load_pinmap
from flutex.host.cli import main
from flutex.host.commands.wiring import WIRING_SVG_PATH, pin_uses, render_svg

PINMAP = load_pinmap()
USES = pin_uses(PINMAP)
TOUCH_GPIOS = range(1, 15)
ADC1_GPIOS = range(1, 11)
FORBIDDEN_GPIOS = {
    19: "native USB D-", 20: "native USB D+",
    **{gpio: "SPI flash" for gpio in range(26, 33)},
    **{gpio: "octal PSRAM (N8R8)" for gpio in range(33, 38)},
    # GPIO 3 straps only the JTAG source, and only with an eFuse burnt: safe for a touch pad (see wiring.md)
    **{gpio: "strapping pin" for gpio in (0, 45, 46)},
}  # fmt: skip


def gpios_in(text: str) -> set[int]:
    return {int(number) for number in re.findall(r"\bGPIO(\d+)\b", text)}


def test_committed_wiring_svg_is_what_the_pin_map_gives():
    assert WIRING_SVG_PATH.read_text() == render_svg(PINMAP), "run `flutex wiring` and commit hardware/wiring.svg"


def test_wiring_svg_is_deterministic_and_names_every_gpio():
    svg = render_svg(PINMAP)
    assert svg == render_svg(PINMAP)
    assert gpios_in(svg) == {use.gpio for use in USES}


def test_wiring_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "wiring.svg"
    stale.write_text("<svg/>")
    assert main(["wiring", "--check", "--output", str(stale)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "differs from the pin map" in error
    assert main(["wiring", "--output", str(stale)]) == 0
    assert main(["wiring", "--check", "--output", str(stale)]) == 0


def test_pin_uses_cover_every_gpio_in_the_pin_map():
    """pin_uses is what the other checks trust, so it must not miss a "gpio" anywhere in the file."""
    text = (HARDWARE_DIR / "pinmap.json").read_text()
    assert sorted(use.gpio for use in USES) == sorted(int(n) for n in re.findall(r'"gpio":\s*(\d+)', text))


def test_no_gpio_is_used_twice():
    assert [gpio for gpio, count in Counter(use.gpio for use in USES).items() if count > 1] == []


@pytest.mark.parametrize("use", USES, ids=lambda use: f"GPIO{use.gpio}")
def test_pin_is_valid_for_the_esp32_s3(use):
    assert 0 <= use.gpio <= 48
    assert use.gpio not in FORBIDDEN_GPIOS, f"GPIO{use.gpio} is the {FORBIDDEN_GPIOS.get(use.gpio)}"
    if use.kind == "touch":
        assert use.gpio in TOUCH_GPIOS, "touch sensing exists only on GPIO 1-14"
    if use.kind == "adc":
        assert use.gpio in ADC1_GPIOS, "analog inputs must be on ADC1 (GPIO 1-10)"


def test_every_gpio_is_in_the_bom_and_the_wiring_notes():
    with (HARDWARE_DIR / "bom.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["ref", "part", "quantity", "connects_to", "notes"]
    assert all(None not in row and row["quantity"].isdigit() for row in rows), "a bom.csv row has stray commas"
    bom_gpios = set().union(*(gpios_in(row["connects_to"]) for row in rows))
    wiring_gpios = gpios_in((HARDWARE_DIR / "wiring.md").read_text())
    pinmap_gpios = {use.gpio for use in USES}
    assert pinmap_gpios - bom_gpios == set()
    assert pinmap_gpios - wiring_gpios == set()
