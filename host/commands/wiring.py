"""The wiring diagram, drawn from the pin map so the picture can never disagree with what the firmware drives.

`pin_uses` lists every GPIO the pin map assigns (also used by the hardware-docs tests); `render_svg` draws them
around the ESP32-S3 with schemdraw's own SVG backend (no matplotlib), which writes no timestamps or random ids,
so the committed hardware/wiring.svg can be checked byte for byte with `flutex wiring --check`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schemdraw
import schemdraw.elements as elm

from flutex.hardware import HARDWARE_DIR, load_pinmap
from flutex.host.commands.generated import write_or_check

WIRING_SVG_PATH = HARDWARE_DIR / "wiring.svg"
LEAD_LENGTH = 1.5  # schemdraw units (one unit is about a resistor's length)
LABEL_MARGIN = 4.0


@dataclass(frozen=True, slots=True)
class PinUse:
    """One GPIO and what it connects to. `kind` is touch, adc, pwm, output or input; `key` is its pin map path."""

    gpio: int
    kind: str
    key: str
    label: str


def pin_uses(pinmap: dict[str, Any]) -> list[PinUse]:
    """Every GPIO the pin map assigns, in pin map order (inputs first, then outputs)."""
    pressure = pinmap["pressure"]
    uses = [PinUse(pad["gpio"], "touch", "touch.pads", f"touch pad {pad['hole']}") for pad in pinmap["touch"]["pads"]]
    uses.append(PinUse(pressure["mouth"]["gpio"], "adc", "pressure.mouth", "mouth pressure sensor"))
    uses += [
        PinUse(channel["gpio"], "adc", "pressure.belt", f"belt sensor {channel['channel']}")
        for channel in pressure["belt"]
    ]
    uses.append(PinUse(pinmap["estop"]["gpio"], "input", "estop", "e-stop button (sense)"))
    uses.append(PinUse(pinmap["help"]["gpio"], "input", "help", "help-me pedal or button"))
    uses += [
        PinUse(finger["gpio"], "pwm", "servos.fingers", f"finger servo {finger['finger']} (signal)")
        for finger in pinmap["servos"]["fingers"]
    ]
    uses.append(PinUse(pinmap["clutch"]["gpio"], "output", "clutch", "clutch MOSFET gate (via 100 Ω)"))
    return uses


def render_svg(pinmap: dict[str, Any]) -> str:
    """The wiring diagram as SVG text; the same pin map always gives the same bytes."""
    schemdraw.use("svg")
    uses = pin_uses(pinmap)
    inputs = [use for use in uses if use.kind in ("touch", "adc", "input")]
    outputs = [use for use in uses if use not in inputs]
    # schemdraw stacks a side's pins bottom-up; reversed, the diagram reads top-down in pin map order
    pins = [
        elm.IcPin(name=f"GPIO{use.gpio}", side=side, anchorname=f"gpio{use.gpio}")
        for side, group in (("left", inputs), ("right", outputs))
        for use in reversed(group)
    ]
    drawing = schemdraw.Drawing(show=False)
    drawing.config(fontsize=11, margin=LABEL_MARGIN)  # schemdraw underestimates label widths: leave room
    chip = drawing.add(elm.Ic(pins=pins, pinspacing=0.8, edgepadH=0.6, w=5).label("ESP32-S3 DevKitC-1", loc="top"))
    for side, group in (("left", inputs), ("right", outputs)):
        for use in group:
            lead = elm.Line().at(chip.absanchors[f"gpio{use.gpio}"]).length(LEAD_LENGTH)
            lead = lead.left() if side == "left" else lead.right()
            drawing.add(lead)
            drawing.add(elm.Dot(open=True).label(f"{use.label}  [{use.key}]", loc=side, fontsize=9))
    return drawing.get_imagedata("svg").decode()


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = "Render the wiring diagram from the pin map, or check that the committed one is up to date."
    parser.add_argument("--output", type=Path, default=WIRING_SVG_PATH, help="SVG file (default hardware/wiring.svg)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if --output differs from the pin map"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    svg = render_svg(load_pinmap())
    return write_or_check(args.output, svg, args.check, "the pin map", f"flutex wiring --output {args.output}")
