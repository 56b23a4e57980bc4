"""Sensor meaning: touch pads to a closed-hole mask, ADC counts to pascals above a tare (start-up or TARE).

Each pressure reading is the median of three ADC conversions taken back to back: it removes the ESP32 ADC's
single-conversion spikes without smearing a breath onset across samples (the papers' breath sensor did the same).
Integer arithmetic only, so sampling allocates nothing on boards where floats live on the heap.
"""


class PressureChannel:
    """One pressure sensor on an ADC; reads pascals relative to the tare."""

    def __init__(self, adc, pa_per_count):
        self._adc = adc
        self._mpa_per_count = int(pa_per_count * 1000)
        self._tare = 0

    def tare(self, samples):
        total = 0
        for _ in range(samples):
            total += self._adc.read_u16()
        self._tare = total // samples

    def read_pa(self):
        read = self._adc.read_u16
        a, b, c = read(), read(), read()
        median = max(min(a, b), min(max(a, b), c))
        return (median - self._tare) * self._mpa_per_count // 1000


class Flute:
    """Hole pads and the mouth pressure sensor of the flute."""

    def __init__(self, peripherals):
        pinmap = peripherals.pinmap
        self._pads = peripherals.touch_pads
        self._threshold = pinmap["touch"]["threshold"]
        self.mouth = PressureChannel(peripherals.mouth_adc, pinmap["pressure"]["mouth"]["pa_per_count"])

    def closed_mask(self):
        """Bit i set when pad i reads above the threshold (ESP32-S3 touch values rise with contact)."""
        mask = 0
        bit = 1
        threshold = self._threshold
        for pad in self._pads:
            if pad.read() > threshold:
                mask |= bit
            bit <<= 1
        return mask


class Belt:
    """The breath belt's pressure channels, in the pin map's order."""

    def __init__(self, peripherals):
        configs = peripherals.pinmap["pressure"]["belt"]
        self.channels = [PressureChannel(adc, cfg["pa_per_count"]) for adc, cfg in zip(peripherals.belt_adcs, configs)]

    def read_pa(self):
        c = self.channels
        return c[0].read_pa(), c[1].read_pa(), c[2].read_pa(), c[3].read_pa()


def tare_all(flute, belt, samples):
    """Take the ambient reading of every pressure channel (done at start-up, instrument at rest)."""
    flute.mouth.tare(samples)
    for channel in belt.channels:
        channel.tare(samples)
