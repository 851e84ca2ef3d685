"""A fake at the services' one port to Telegram (``services.messenger.Messenger``): it
records what the services send and answers what a test scripts, SENT otherwise."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from reelcart.services.messenger import Keyboard, Media, Messenger, Outcome


@dataclass(frozen=True)
class Sent:
    """One message a service asked to send, and how it was answered."""

    user_id: int
    text: str
    buttons: Keyboard
    outcome: Outcome
    media: Media | None = None


class FakeMessenger:
    """Records every request; ``script[user_id]`` lists the outcomes of the next sends to
    that user (then SENT); ``refund_outcomes`` those of the next refunds."""

    def __init__(self) -> None:
        self.requests: list[Sent] = []
        self.edits: list[tuple[int, int, str]] = []
        self.refunds: list[str] = []
        self.script: defaultdict[int, list[Outcome]] = defaultdict(list)
        self.refund_outcomes: list[Outcome] = []
        self._ids = itertools.count(100)

    def answer(self, user_id: int) -> Outcome:
        """How the next send to ``user_id`` ends."""
        if self.script[user_id]:
            return self.script[user_id].pop(0)
        return Outcome.sent()

    def _record(self, user_id: int, text: str, buttons: Keyboard, media: Media | None) -> Outcome:
        outcome = self.answer(user_id)
        if outcome.ok:
            outcome = Outcome.sent(next(self._ids))
        self.requests.append(Sent(user_id, text, buttons, outcome, media))
        return outcome

    @property
    def delivered(self) -> list[tuple[int, str]]:
        """(user, text) of every message that arrived, in order."""
        return [(sent.user_id, sent.text) for sent in self.requests if sent.outcome.ok]

    def to(self, user_id: int) -> list[str]:
        """The texts that reached ``user_id``."""
        return [text for who, text in self.delivered if who == user_id]

    async def send_text(
        self, user_id: int, text: str, *, buttons: Keyboard = (), html: bool = True
    ) -> Outcome:
        return self._record(user_id, text, buttons, None)

    async def send_media(
        self,
        user_id: int,
        media: Media,
        *,
        caption: str = "",
        buttons: Keyboard = (),
        html: bool = True,
    ) -> Outcome:
        return self._record(user_id, caption, buttons, media)

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        buttons: Keyboard = (),
        html: bool = True,
    ) -> Outcome:
        self.edits.append((chat_id, message_id, text))
        return Outcome.sent(message_id)

    async def refund_stars(self, user_id: int, charge_id: str) -> Outcome:
        self.refunds.append(charge_id)
        return self.refund_outcomes.pop(0) if self.refund_outcomes else Outcome.sent()


def _conforms(fake: FakeMessenger) -> Messenger:
    return fake  # the type checker holds the fake to the port's signatures
