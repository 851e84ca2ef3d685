"""Telegram's markup languages: HTML, MarkdownV2 and legacy Markdown.

``parse_mode`` markup is turned into plain text plus ``MessageEntity`` objects, with the
grammar and error texts of tdlib (``can't parse entities: ...``), so a bot sees what
Telegram would tell it. Length limits (4096/1024) count Unicode characters after parsing,
as tdlib's ``utf8_length`` does, not UTF-16 units.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reelcart.sandbox.entities import (
    SPACES,
    Entity,
    OpenTag,
    TextBuilder,
    byte_offset,
    checked_link,
    clip_entities,
    find_auto_entities,
    mention_user_id,
    parse_error,
    sort_entities,
    trim_text,
)
from reelcart.sandbox.errors import BotApiError

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_HTML = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}


def _decode_html_entity(src: str, pos: int) -> tuple[str | None, int]:
    """Decode ``&...;`` at ``pos``; return (character or None, position after it)."""
    end = pos + 1
    code = 0
    if src.startswith("&#", pos):
        end += 1
        if src.startswith("x", end):
            end += 1
            start = end
            while end < len(src) and src[end] in "0123456789abcdefABCDEF":
                end += 1
            code = int(src[start:end], 16) if end > start else 0
        else:
            start = end
            while end < len(src) and src[end].isdigit() and src[end].isascii():
                end += 1
            code = int(src[start:end]) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
    else:
        while end < len(src) and src[end].isascii() and src[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(src[pos + 1 : end])
        if named is None:
            return None, pos
        code = ord(named)
    if end < len(src) and src[end] == ";":
        end += 1
    return chr(code), end


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Parse Telegram-flavoured HTML into text and entities; raise 400 like Telegram."""
    out = TextBuilder()
    stack: list[OpenTag] = []
    entities: list[Entity] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "&":
            decoded, after = _decode_html_entity(src, i)
            if decoded is not None:
                out.add(decoded)
                i = after
                continue
        if ch != "<":
            out.add(ch)
            i += 1
            continue
        begin = i
        if i + 1 < n and src[i + 1] == "/":
            i = _close_html_tag(src, begin, stack, out, entities)
        else:
            i = _open_html_tag(src, begin, stack, out)
    if stack:
        raise parse_error(f"Can't find end tag corresponding to start tag {stack[-1].tag}")
    text = out.text()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise parse_error(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        ) from None
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return text, entities


def _open_html_tag(src: str, begin: int, stack: list[OpenTag], out: TextBuilder) -> int:
    n = len(src)
    i = begin + 1
    while i < n and src[i] not in SPACES and src[i] != ">":
        i += 1
    if i >= n:
        raise parse_error(f"Unclosed start tag at byte offset {byte_offset(src, begin)}")
    tag = src[begin + 1 : i].lower()
    where = f"at byte offset {byte_offset(src, begin)}"
    if tag not in _HTML_TAGS:
        raise parse_error(f'Unsupported start tag "{tag}" {where}')
    argument = ""
    while True:
        while i < n and src[i] in SPACES:
            i += 1
        if i >= n:
            raise parse_error(f"Unclosed start tag {where}")
        if src[i] == ">":
            break
        name_start = i
        while i < n and src[i] not in SPACES and src[i] not in "=>":
            i += 1
        name = src[name_start:i]
        if not name:
            raise parse_error(f'Empty attribute name in the tag "{tag}" {where}')
        while i < n and src[i] in SPACES:
            i += 1
        if tag == "blockquote" and name.lower() == "expandable" and (i >= n or src[i] != "="):
            argument = "expandable"
            continue
        if i >= n or src[i] != "=":
            raise parse_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" {where}'
            )
        i += 1
        while i < n and src[i] in SPACES:
            i += 1
        if i >= n:
            raise parse_error(f'Unclosed start tag "{tag}" {where}')
        if src[i] in "'\"":
            quote = src[i]
            i += 1
            value_chars: list[str] = []
            while i < n and src[i] != quote:
                if src[i] == "&":
                    decoded, after = _decode_html_entity(src, i)
                    if decoded is not None:
                        value_chars.append(decoded)
                        i = after
                        continue
                value_chars.append(src[i])
                i += 1
            if i >= n:
                raise parse_error(f"Unclosed start tag {where}")
            i += 1
            value = "".join(value_chars)
        else:
            token_start = i
            while i < n and ((src[i].isalnum() and src[i].isascii()) or src[i] in ".-"):
                i += 1
            value = src[token_start:i].lower()
            if i < n and src[i] not in SPACES and src[i] != ">":
                raise parse_error(
                    f"Unexpected end of name token at byte offset {byte_offset(src, token_start)}"
                )
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
    if tag == "span" and argument != "spoiler":
        raise parse_error(f'Tag "span" must have class "tg-spoiler" {where}')
    stack.append(OpenTag(tag, argument, out.u16, len(out.chunks)))
    return i + 1


def _close_html_tag(
    src: str, begin: int, stack: list[OpenTag], out: TextBuilder, entities: list[Entity]
) -> int:
    n = len(src)
    where = f"at byte offset {byte_offset(src, begin)}"
    if not stack:
        raise parse_error(f"Unexpected end tag {where}")
    i = begin + 2
    while i < n and src[i] not in SPACES and src[i] != ">":
        i += 1
    name = src[begin + 2 : i].lower()
    while i < n and src[i] in SPACES:
        i += 1
    if i >= n or src[i] != ">":
        raise parse_error(f"Unclosed end tag {where}")
    top = stack.pop()
    if name and name != top.tag:
        raise parse_error(f'Unmatched end tag {where}, expected "</{top.tag}>", found "</{name}>"')
    length = out.u16 - top.offset
    if length > 0:
        entity = _html_entity(top, length, out)
        if entity is not None:
            _merge_pre_code(entities, entity)
    return i + 1


def _html_entity(top: OpenTag, length: int, out: TextBuilder) -> Entity | None:
    base: Entity = {"offset": top.offset, "length": length}
    if top.tag in _SIMPLE_HTML:
        return {"type": _SIMPLE_HTML[top.tag], **base}
    if top.tag == "span":
        return {"type": "spoiler", **base}
    if top.tag == "blockquote":
        kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
        return {"type": kind, **base}
    if top.tag == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise BotApiError.bad_request(
                "can't parse entities: Invalid custom emoji identifier specified"
            )
        return {"type": "custom_emoji", **base, "custom_emoji_id": top.argument}
    if top.tag == "a":
        url = top.argument or out.text(top.out_index)
        user_id = mention_user_id(url)
        if user_id is not None:
            return {"type": "text_mention", **base, "user": {"id": user_id}}
        link = checked_link(url)
        return {"type": "text_link", **base, "url": link} if link else None
    if top.tag == "pre":
        return {"type": "pre", **base}
    # <code>, possibly carrying a language for an enclosing or enclosed <pre>
    return {"type": "code", **base, "language": top.argument}


def _merge_pre_code(entities: list[Entity], entity: Entity) -> None:
    """``<pre><code class="language-x">`` (either nesting order) is one pre entity."""
    last = entities[-1] if entities else None
    same_span = (
        last is not None
        and last["offset"] == entity["offset"]
        and last["length"] == entity["length"]
    )
    if last is not None and same_span:
        if entity["type"] == "pre" and last["type"] == "code" and last.get("language"):
            entities[-1] = {**entity, "language": last["language"]}
            return
        if entity["type"] == "code" and last["type"] == "pre" and entity.get("language"):
            last["language"] = entity["language"]
            return
    entities.append(entity)


_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!\n")
_MD2_END = {"bold": "*", "italic": "_", "strikethrough": "~", "code": "`", "text_link": "]"}
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into text and entities; raise 400 like Telegram."""
    out = TextBuilder()
    stack: list[OpenTag] = []
    entities: list[Entity] = []
    i, n = 0, len(src)
    in_quote = False

    def reserved(ch: str) -> BotApiError:
        return parse_error(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        top = stack[-1].tag if stack else None
        special = {"`"} if top in ("code", "pre") else _MD2_RESERVED
        if ch not in special:
            out.add(ch)
            i += 1
            continue
        if top is not None and _md2_closes(src, i, top, in_quote):
            opened = stack.pop()
            if ch == "\n" and opened.tag != "blockquote":
                raise parse_error(
                    f"Can't find end of {_MD2_NAMES[opened.tag]} entity at byte "
                    f"offset {opened.byte_offset}"
                )
            i = _md2_close(src, i, opened, out, entities)
            if opened.tag == "blockquote":
                in_quote = False
            continue
        start_byte = byte_offset(src, i)
        argument = ""
        if ch == "_" and src.startswith("__", i):
            tag, i = "underline", i + 2
        elif ch in "_*~":
            tag, i = {"_": "italic", "*": "bold", "~": "strikethrough"}[ch], i + 1
        elif ch == "|" and src.startswith("||", i):
            tag, i = "spoiler", i + 2
        elif ch == "[":
            tag, i = "text_link", i + 1
        elif ch == "!" and src.startswith("![", i):
            tag, i = "custom_emoji", i + 2
        elif ch == "`" and src.startswith("```", i):
            tag = "pre"
            argument, i = _pre_language(src, i + 3)
        elif ch == "`":
            tag, i = "code", i + 1
        elif ch == "\n":
            out.add("\n")
            i += 1
            if i < n and src[i] == ">":
                i += 1
                if not in_quote:
                    in_quote = True
                    stack.append(OpenTag("blockquote", "", out.u16, len(out.chunks), start_byte))
            continue
        elif ch == ">" and i == 0:
            tag, i, in_quote = "blockquote", i + 1, True
        else:
            raise reserved(ch)
        stack.append(OpenTag(tag, argument, out.u16, len(out.chunks), start_byte))
    if stack and stack[-1].tag == "blockquote":
        opened = stack.pop()
        if out.u16 > opened.offset:
            entities.append(
                {"type": "blockquote", "offset": opened.offset, "length": out.u16 - opened.offset}
            )
    if stack:
        opened = stack[-1]
        raise parse_error(
            f"Can't find end of {_MD2_NAMES[opened.tag]} entity at byte offset {opened.byte_offset}"
        )
    return out.text(), entities


def _pre_language(src: str, i: int) -> tuple[str, int]:
    """After an opening ```: the optional language word and where the code starts
    (one line break right after the fence is skipped)."""
    n = len(src)
    language = ""
    lang_end = i
    while lang_end < n and src[lang_end] not in SPACES and src[lang_end] != "`":
        lang_end += 1
    if lang_end != i and lang_end < n and src[lang_end] != "`":
        language, i = src[i:lang_end], lang_end
    if src.startswith(("\r\n", "\n\r"), i):
        i += 2
    elif i < n and src[i] in "\r\n":
        i += 1
    return language, i


def _md2_closes(src: str, i: int, top: str, in_quote: bool) -> bool:
    ch = src[i]
    nxt = src[i + 1] if i + 1 < len(src) else ""
    if in_quote and ch == "\n" and nxt != ">":
        return True
    if top == "italic":
        return ch == "_" and nxt != "_"
    if top == "underline":
        return src.startswith("__", i)
    if top == "spoiler":
        return src.startswith("||", i)
    if top == "pre":
        return src.startswith("```", i)
    if top == "custom_emoji":
        return ch == "]"
    return _MD2_END.get(top) == ch


def _md2_close(src: str, i: int, opened: OpenTag, out: TextBuilder, entities: list[Entity]) -> int:
    tag = opened.tag
    length = out.u16 - opened.offset
    extra: dict[str, Any] = {}
    skip = length == 0
    if tag == "blockquote":
        # tdlib counts the closing newline as part of the quote
        out.add("\n")
        entities.append(
            {"type": "blockquote", "offset": opened.offset, "length": out.u16 - opened.offset}
        )
        return i + 1
    if tag in ("underline", "spoiler"):
        i += 2
    elif tag == "pre":
        i += 3
        if opened.argument:
            extra["language"] = opened.argument
    elif tag in ("text_link", "custom_emoji"):
        i += 1
        url, i = _md2_url(src, i, tag)
        if tag == "custom_emoji":
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
            if not match:
                raise BotApiError.bad_request(
                    "can't parse entities: Custom emoji entity must contain a tg://emoji URL"
                )
            extra["custom_emoji_id"] = match.group(1)
        else:
            url = url if url is not None else out.text(opened.out_index)
            user_id = mention_user_id(url)
            link = checked_link(url)
            if user_id is not None:
                tag, extra = "text_mention", {"user": {"id": user_id}}
            elif link is None:
                skip = True
            else:
                extra["url"] = link
    else:
        i += 1
    if not skip:
        entities.append({"type": tag, "offset": opened.offset, "length": length, **extra})
    return i


def _md2_url(src: str, i: int, tag: str) -> tuple[Any, int]:
    """Read ``(url)`` after ``]``; ``None`` when there is none (text is the URL)."""
    if i >= len(src) or src[i] != "(":
        if tag == "custom_emoji":
            raise BotApiError.bad_request(
                "can't parse entities: Custom emoji entity must contain a tg://emoji URL"
            )
        return None, i
    start = i + 1
    i = start
    chars: list[str] = []
    while i < len(src) and src[i] != ")":
        if src[i] == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
            chars.append(src[i + 1])
            i += 2
            continue
        chars.append(src[i])
        i += 1
    if i >= len(src):
        raise parse_error(f"Can't find end of a URL at byte offset {byte_offset(src, start)}")
    return "".join(chars), i + 1


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out = TextBuilder()
    entities: list[Entity] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        begin = i
        end_char = "]" if ch == "[" else ch
        is_pre = src.startswith("```", i)
        language = ""
        i += 3 if is_pre else 1
        if is_pre:
            language, i = _pre_language(src, i)
        start = out.u16
        start_index = len(out.chunks)
        while i < n and not (src.startswith("```", i) if is_pre else src[i] == end_char):
            out.add(src[i])
            i += 1
        if i >= n:
            raise parse_error(
                f"Can't find end of the entity starting at byte offset {byte_offset(src, begin)}"
            )
        length = out.u16 - start
        i += 3 if is_pre else 1
        url: str | None = None
        if ch == "[":
            url = out.text(start_index)
            if i < n and src[i] == "(":
                close = src.find(")", i)
                close = n if close < 0 else close
                url, i = src[i + 1 : close], close + 1
        if length == 0:
            continue
        base: Entity = {"offset": start, "length": length}
        if ch == "_":
            entities.append({"type": "italic", **base})
        elif ch == "*":
            entities.append({"type": "bold", **base})
        elif is_pre:
            entities.append({"type": "pre", **base, **({"language": language} if language else {})})
        elif ch == "`":
            entities.append({"type": "code", **base})
        elif url is not None:
            user_id = mention_user_id(url)
            link = checked_link(url)
            if user_id is not None:
                entities.append({"type": "text_mention", **base, "user": {"id": user_id}})
            elif link:
                entities.append({"type": "text_link", **base, "url": link})
    return out.text(), entities


UserLookup = Callable[[int], dict[str, Any] | None]


def format_text(
    text: str,
    parse_mode: str | None,
    entities: list[Any] | None,
    *,
    users: UserLookup | None = None,
) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` or explicit ``entities`` and add automatic entities.

    Returns the text Telegram would store and its sorted entities. Raises
    :class:`BotApiError` for markup errors and an unknown ``parse_mode``.
    """
    mode = (parse_mode or "").lower()
    if mode == "html":
        text, parsed = parse_html(text)
    elif mode == "markdownv2":
        text, parsed = parse_markdown_v2(text)
    elif mode == "markdown":
        text, parsed = parse_markdown(text)
    elif mode:
        raise BotApiError.bad_request("unsupported parse_mode")
    else:
        parsed = clip_entities(text, entities or [])
    text, parsed = trim_text(text, parsed)
    resolved: list[Entity] = []
    for entity in parsed:
        if entity["type"] == "text_mention":
            # A mention of an unknown user is dropped, as tdlib does.
            user = users(int(entity["user"]["id"])) if users else None
            if user is None:
                continue
            entity = {**entity, "user": user}
        resolved.append(entity)
    resolved.extend(find_auto_entities(text, resolved))
    return text, sort_entities(resolved)
