"""The replay's controls and clock: play/pause, a speed box and a scrubber over the recording. The replay's time
runs at `speed` times wall time from the last place the user put it (a seek or a speed change re-anchors it)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

SPEEDS = (1.0, 2.0, 4.0, 8.0)
TICKS_PER_S = 100  # the scrubber's resolution: a hundredth of a second


class ReplayControls(QWidget):
    def __init__(self, start_s: float, end_s: float, *, speed: float = 1.0, at_s: float | None = None) -> None:
        super().__init__()
        self.start_s, self.end_s = start_s, end_s
        self.speed = speed
        self._anchor_s = start_s if at_s is None else min(max(at_s, start_s), end_s)
        self._anchor_wall = time.perf_counter()
        self._playing = False
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(lambda: self.set_playing(not self._playing))
        self.speed_box = QComboBox()
        for choice in sorted({*SPEEDS, speed}):
            self.speed_box.addItem(f"{choice:g}x", choice)
        self.speed_box.setCurrentIndex(self.speed_box.findData(speed))
        self.speed_box.currentIndexChanged.connect(lambda _: self.set_speed(self.speed_box.currentData()))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, round((end_s - start_s) * TICKS_PER_S))
        self.slider.valueChanged.connect(lambda value: self.seek(start_s + value / TICKS_PER_S))
        self.time_label = QLabel()
        self.time_label.setMinimumWidth(130)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        for widget in (self.play_button, self.speed_box):
            layout.addWidget(widget)
        layout.addWidget(self.slider, stretch=1)
        layout.addWidget(self.time_label)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.play_button.click)
        self.show_time(self._anchor_s)

    @property
    def playing(self) -> bool:
        return self._playing

    def now_s(self) -> float:
        """The replay's time; playing stops at the recording's end."""
        if not self._playing:
            return self._anchor_s
        t_s = self._anchor_s + (time.perf_counter() - self._anchor_wall) * self.speed
        if t_s >= self.end_s:
            self._set_state(self.end_s, playing=False)
            return self.end_s
        return t_s

    def set_playing(self, playing: bool) -> None:
        t_s = self.now_s()
        self._set_state(self.start_s if playing and t_s >= self.end_s else t_s, playing)  # at the end: start over

    def set_speed(self, speed: float) -> None:
        self._anchor(self.now_s())
        self.speed = speed

    def seek(self, t_s: float) -> None:
        self._anchor(min(max(t_s, self.start_s), self.end_s))

    def show_time(self, t_s: float) -> None:
        """Move the scrubber to `t_s` without seeking (the replay moved it, not the user)."""
        self.slider.blockSignals(True)
        self.slider.setValue(round((t_s - self.start_s) * TICKS_PER_S))
        self.slider.blockSignals(False)
        self.time_label.setText(f"{t_s:6.1f} s of {self.end_s:.1f} s")

    def _set_state(self, t_s: float, playing: bool) -> None:
        self._anchor(t_s)
        self._playing = playing
        self.play_button.setText("Pause" if playing else "Play")

    def _anchor(self, t_s: float) -> None:
        self._anchor_s, self._anchor_wall = t_s, time.perf_counter()
