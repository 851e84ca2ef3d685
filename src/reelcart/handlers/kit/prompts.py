"""Asking a question and taking the typed answer.

A handler that needs typed text (a shop name, a price, a rejection reason, a broadcast)
leaves a ``Prompt`` in the person's ``user_data`` with ``ask``; the feature's typed-answer
handler takes it back with ``take_prompt`` (its own prompts only) and answers. A prompt
lasts ``PROMPT_TTL`` seconds; any command drops it (``drop_prompt``), and /cancel says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from telegram import Update

from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.i18n import t

PROMPT_KEY = "reelcart.prompt"
PROMPT_TTL = 15 * 60


@dataclass(frozen=True)
class Prompt:
    """What the bot asked a person to type next: ``owner`` is the feature that asked."""

    owner: str
    kind: str
    target: int = 0
    data: str = ""
    at: float = field(default_factory=time.monotonic)


def ask(context: ReelcartContext, prompt: Prompt) -> None:
    """Wait for ``prompt``'s answer (replacing any other question)."""
    if context.user_data is not None:
        context.user_data[PROMPT_KEY] = prompt


def take_prompt(context: ReelcartContext, owner: str) -> Prompt | None:
    """The open question of ``owner``'s, removed; None if there is none or it expired."""
    data = context.user_data
    if data is None:
        return None
    prompt = data.get(PROMPT_KEY)
    if not isinstance(prompt, Prompt) or prompt.owner != owner:
        return None
    del data[PROMPT_KEY]
    if time.monotonic() - prompt.at > PROMPT_TTL:
        return None
    return prompt


async def drop_prompt(update: Update, context: ReelcartContext) -> None:
    """Any command abandons the open question (the command itself then runs)."""
    if context.user_data is not None:
        context.user_data.pop(PROMPT_KEY, None)


async def cancel_command(update: Update, context: ReelcartContext) -> None:
    """/cancel: say the open question was dropped (``drop_prompt`` already dropped it)."""
    user = await shopper(update, context)
    assert update.message is not None
    await update.message.reply_text(t(user.language, "prompt.cancelled"))
