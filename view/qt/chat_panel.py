"""The chat panel: the conversation with Flute X GPT as the session's timeline holds it, and a line to type in.

The log is read from the picture like every other panel (the command puts each line said on the timeline), so a
replay shows what was said when, and the live window shows it once the agent has answered. Typing only hands the
text on, to whatever `ChatLink` the command gives it; without one the panel says so and takes no text.
"""

from __future__ import annotations

import html
from typing import Protocol

from PySide6.QtWidgets import QLabel, QLineEdit, QTextEdit, QVBoxLayout, QWidget

from flutex.tutor.lesson.events import ChatLine
from flutex.view.colours import GREY, GUIDANCE, hex_colour
from flutex.view.picture import Picture
from flutex.view.qt.timeline import INK

SPEAKERS = {"student": ("you", INK), "tutor": ("Flute X", GUIDANCE)}


class ChatLink(Protocol):
    def send(self, text: str) -> None:
        """Hand the student's text on; the conversation comes back on the session's timeline."""


class ChatPanel(QWidget):
    def __init__(self, picture: Picture, chat: ChatLink | None) -> None:
        super().__init__()
        self.picture = picture
        self.chat = chat
        self.log = QTextEdit(readOnly=True)
        self.entry = QLineEdit()
        self._shown = 0  # lines of the conversation in the log
        self._waiting = ""  # a line sent, not yet on the timeline
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(QLabel("<b>Chat with Flute X</b>"))
        layout.addWidget(self.log, stretch=1)
        layout.addWidget(self.entry)
        if chat is None:
            self.entry.setEnabled(False)
            self.entry.setPlaceholderText("chat not connected")
        else:
            self.entry.setPlaceholderText("ask Flute X (slower, guide me, how am I doing?) and press Enter")
            self.entry.returnPressed.connect(self._send)
        self._rewrite([])

    def draw(self, t_s: float) -> None:
        """Show the conversation as it stood at `t_s` (a scrub backwards takes lines away again)."""
        said = self.picture.chat_until(t_s)
        if len(said) == self._shown:
            return
        if any(line.speaker == "student" and line.text == self._waiting for _, line in said[self._shown :]):
            self._waiting = ""  # on the timeline now
        self._rewrite(said)

    def _send(self) -> None:
        text = self.entry.text().strip()
        if not text or self.chat is None:
            return
        self.entry.clear()
        self._waiting = text
        self._rewrite(self.picture.chat_until(float("inf")))
        self.chat.send(text)

    def _rewrite(self, said: list[tuple[float, ChatLine]]) -> None:
        """The log anew: a line arrives a few times a minute, so rewriting it costs nothing."""
        self.log.clear()
        if self.chat is None and not said:
            self.log.append(_line(GREY, "The chat is open in a lesson's window: flutex lesson PLAN --view."))
        for _, line in said:
            self._append(line.speaker, line.text)
        if self._waiting:
            self.log.append(_line(GREY, f"you: {self._waiting} …"))
        self._shown = len(said)

    def _append(self, speaker: str, text: str) -> None:
        name, colour = SPEAKERS.get(speaker, (speaker, INK))
        self.log.append(_line(colour, f"{name}: {text}"))


def _line(colour: tuple[int, int, int], text: str) -> str:
    return f'<span style="color:{hex_colour(colour)}">{html.escape(text)}</span>'
