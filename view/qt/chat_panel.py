"""The chat panel: the student's words to the agent and its replies. The view only hands the text on (to whatever
`ChatLink` the command gives it); replies may come from any thread and are carried to the window's by a signal."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QTextEdit, QVBoxLayout, QWidget

from flutex.view.colours import GREY, GUIDANCE, hex_colour
from flutex.view.qt.timeline import INK


class ChatLink(Protocol):
    def send(self, text: str, reply: Callable[[str], None]) -> None:
        """Hand the student's text on; `reply(text)` is called once later, from ANY thread, with the answer."""


class ChatPanel(QWidget):
    replied = Signal(str)  # emitted from any thread; Qt queues it to the panel's own

    def __init__(self, chat: ChatLink | None) -> None:
        super().__init__()
        self.chat = chat
        self.log = QTextEdit(readOnly=True)
        self.entry = QLineEdit()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(QLabel("<b>Chat with Flute X</b>"))
        layout.addWidget(self.log, stretch=1)
        layout.addWidget(self.entry)
        self.replied.connect(self._show_reply)
        if chat is None:
            self.entry.setEnabled(False)
            self.entry.setPlaceholderText("chat not connected")
            self._append("The chat is not connected: start the view from a lesson with the agent to talk.", GREY)
        else:
            self.entry.setPlaceholderText("ask Flute X (slower, guide me, how am I doing?) and press Enter")
            self.entry.returnPressed.connect(self._send)

    def _send(self) -> None:
        text = self.entry.text().strip()
        if not text or self.chat is None:
            return
        self.entry.clear()
        self._append(f"you: {text}", INK)
        self.chat.send(text, self.replied.emit)

    def _show_reply(self, text: str) -> None:
        self._append(f"Flute X: {text}", GUIDANCE)

    def _append(self, text: str, colour: tuple[int, int, int]) -> None:
        self.log.append(f'<span style="color:{hex_colour(colour)}">{html.escape(text)}</span>')
