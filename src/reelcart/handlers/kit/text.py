"""Texts cut to fit Telegram's limits (an invoice title, a button label)."""

from __future__ import annotations


def cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
