"""What every demo scene shares: the running sandbox and bot, and the transcript it prints."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from reelcart.demo.catalog import DemoCatalog
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer
from reelcart.sandbox.views import BotMessage

DEMO_ADMIN_ID = 900001


TAG = re.compile(r"<[^>]+>")


Printer = Callable[[str], None]


def edit_of(message_id: int) -> Callable[[BotMessage], bool]:
    return lambda message: message.message_id == message_id and message.edited


def plain(text: str) -> str:
    return html.unescape(TAG.sub("", text))


def title_of(message: BotMessage) -> str:
    return message.text.split("\n", 1)[0].strip()


def buttons_of(message: BotMessage) -> str:
    return " | ".join(str(button["text"]) for button in message.buttons)


@dataclass
class DemoContext:
    """What a demo scene needs: the running sandbox and bot, the catalog, the transcript."""

    server: SandboxServer
    bot: BotProcess
    catalog: DemoCatalog
    transcript: Transcript
    db_path: Path
    admin_id: int = DEMO_ADMIN_ID


Scene = Callable[[DemoContext], Awaitable[None]]


class Transcript:
    """Prints the conversation readably, and keeps it for the tests."""

    def __init__(self, printer: Printer = print) -> None:
        self.lines: list[str] = []
        self._print = printer

    def say(self, line: str = "") -> None:
        self.lines.append(line)
        self._print(line)

    def bot(self, message: BotMessage, limit: int = 3) -> None:
        lines = [line for line in plain(message.text).splitlines() if line.strip()]
        for index, line in enumerate(lines[:limit]):
            self.say(("🤖 " if index == 0 else "   ") + line)
        if message.buttons:
            self.say(f"   [{buttons_of(message)}]")
