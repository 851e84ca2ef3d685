"""Notices: a message to the admins, or to one merchant or shopper, in each reader's
language, sent once through the ``Messenger``.

A notice is a courtesy on the side of something that already happened (an application, a
moderation decision, a refund): it is not retried, and a reader who cannot be written to
(an admin who never opened the chat, someone who blocked the bot) is skipped and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from reelcart.domain import Language
from reelcart.services.feed import FeedService
from reelcart.services.messenger import Keyboard, Messenger, Outcome

log = logging.getLogger(__name__)

#: A notice's text (or buttons) in the reader's language.
Text = Callable[[Language], str]
Buttons = Callable[[Language], Keyboard]


async def language_of_user(feed: FeedService, user_id: int) -> Language:
    """The language a user chose (or Telegram's), English for strangers."""
    user = await feed.user(user_id)
    return user.language if user else Language.EN


class Notices:
    """Sends notices to the admins (``admin_ids``) and to anyone reelcart knows."""

    def __init__(self, feed: FeedService, admin_ids: frozenset[int], messenger: Messenger) -> None:
        self.feed = feed
        self.admin_ids = admin_ids
        self.messenger = messenger

    async def to_admins(self, text: Text, buttons: Buttons | None = None) -> int:
        """Send every admin ``text`` in their language; returns how many got it."""
        sent = 0
        for admin_id in sorted(self.admin_ids):
            if (await self.tell(admin_id, text, buttons)).ok:
                sent += 1
        return sent

    async def tell(self, user_id: int, text: Text, buttons: Buttons | None = None) -> Outcome:
        """Send ``user_id`` ``text`` (Telegram HTML) in their language."""
        lang = await language_of_user(self.feed, user_id)
        outcome = await self.messenger.send_text(
            user_id, text(lang), buttons=buttons(lang) if buttons else ()
        )
        if not outcome.ok:
            log.info("notice to %s: %s (%s)", user_id, outcome.status.value, outcome.detail)
        return outcome
