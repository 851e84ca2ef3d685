"""Message entities: UTF-16 offsets, links, automatic entities and their order.

Offsets and lengths are in UTF-16 code units as in the Bot API. Telegram detects mentions,
hashtags, cashtags, bot commands, URLs and e-mail addresses on its own; so does
:func:`find_auto_entities`. The markup parsers live in :mod:`reelcart.sandbox.markup`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reelcart.sandbox.errors import BotApiError

Entity = dict[str, Any]

# tdlib's order for entities that start at the same place with the same length.
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "mention": 50,
    "hashtag": 50,
    "cashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "phone_number": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
# tdlib's is_space() also counts NUL, which never occurs in Python text here.
SPACES = " \t\r\n\v"
_TRIM = " \t\r\n\v\f"


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``text[index]``, the unit of tdlib's parse errors."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def parse_error(detail: str) -> BotApiError:
    """400 ``can't parse entities: <detail>``."""
    return BotApiError.bad_request(f"can't parse entities: {detail}")


def checked_link(url: str) -> str | None:
    """Normalise a link target the way Telegram does, or ``None`` if it is not allowed."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not re.match(r"(?i)^(tg|ton|tonsite):", url):
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme in ("http", "https"):
        if not parts.hostname or any(ch in SPACES for ch in url):
            return None
        if not parts.path:
            url = parts._replace(path="/").geturl()
    return url


def mention_user_id(url: str) -> int | None:
    """The user id of a ``tg://user?id=N`` link, else None."""
    match = re.fullmatch(r"(?i)tg://user\?id=(\d{1,20})", url.strip())
    return int(match.group(1)) if match else None


@dataclass
class OpenTag:
    """An entity whose end has not been seen yet."""

    tag: str
    argument: str
    offset: int  # UTF-16 offset in the output text
    out_index: int  # index into the output chunk list, for <a> without href
    byte_offset: int = 0


class TextBuilder:
    """Accumulates parsed text while tracking the UTF-16 offset."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        """Append text."""
        self.chunks.append(text)
        self.u16 += utf16_len(text)

    def text(self, start: int = 0) -> str:
        """The text from chunk ``start`` on."""
        return "".join(self.chunks[start:])


# Automatic entities. Simplified versions of tdlib's matchers: enough for the shapes bots
# and tests produce (commands, hashtags, cashtags, mentions, plain URLs, e-mails).
_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "bot_command",
        re.compile(
            r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?"
            r"(?![\w/<>])"
        ),
    ),
    (
        "email",
        re.compile(
            r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
            r"\.[A-Za-z]{2,}(?![\w@])"
        ),
    ),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#[\w\u200c\u00b7]{1,256}(?![\w\u200c\u00b7]*#)")),
    ("cashtag", re.compile(r"(?<![\w$])\$(?:1INCH|[A-Z]{1,8})(?![\w$])")),
    (
        "url",
        re.compile(
            r"(?i)(?<![\w@/.])(?:(?:https?|ftp|tonsite)://|www\.|t\.me/)"
            r"[^\s<>\"']+"
        ),
    ),
]
_BLOCKING = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def find_auto_entities(text: str, existing: list[Entity]) -> list[Entity]:
    """Entities Telegram adds by itself, skipping text already covered by code/links."""
    blocked: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _BLOCKING
    ]
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                end = start + len(match.group(0).rstrip(".,;:!?)"))
            elif kind == "hashtag" and not any(
                unicodedata.category(ch).startswith("L") for ch in match.group(0)[1:]
            ):
                continue
            offset = utf16_len(text[:start])
            length = utf16_len(text[start:end])
            span = (offset, offset + length)
            if any(a < span[1] and span[0] < b for a, b in blocked + taken):
                continue
            taken.append(span)
            found.append({"type": kind, "offset": offset, "length": length})
    return found


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """Sort in tdlib's order: offset, then longer first, then type priority."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))


def trim_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip surrounding whitespace as tdlib does, moving and clipping entities."""
    stripped_left = text.lstrip(_TRIM)
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    stripped = stripped_left.rstrip(_TRIM)
    total = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def clip_entities(text: str, raw_entities: list[Any]) -> list[Entity]:
    """Keep explicit ``entities`` that fit the text; Telegram drops the rest silently."""
    total = utf16_len(text)
    result: list[Entity] = []
    for raw in raw_entities:
        entity = {k: v for k, v in dict(raw).items() if v is not None}
        entity["offset"] = int(entity["offset"])
        entity["length"] = int(entity["length"])
        if entity["length"] <= 0 or entity["offset"] < 0 or entity["offset"] >= total:
            continue
        entity["length"] = min(entity["length"], total - entity["offset"])
        result.append(entity)
    return result
