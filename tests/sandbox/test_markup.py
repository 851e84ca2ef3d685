"""parse_mode handling: entities, UTF-16 offsets and tdlib's error texts."""

from __future__ import annotations

import pytest
from telegram import Bot, MessageEntity
from telegram.error import BadRequest

from reelcart.sandbox import BotApiError, SimulatedUser
from reelcart.sandbox.markup import format_text, parse_html, parse_markdown_v2

from .conftest import ALICE


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("<b>never closed", "Can't find end tag corresponding to start tag b"),
        ("<b>a</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("oops</b>", "Unexpected end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("price < 5", 'Unsupported start tag "" at byte offset 6'),
    ],
)
def test_html_errors_use_tdlib_wording(markup: str, error: str) -> None:
    with pytest.raises(BotApiError) as caught:
        parse_html(markup)
    assert caught.value.error_code == 400
    assert caught.value.description == f"Bad Request: can't parse entities: {error}"


def test_html_entities_have_utf16_offsets() -> None:
    text, entities = parse_html('🎉 <b>Sale</b> &amp; <a href="shop.example/x">go</a> &#128512;')
    assert text == "🎉 Sale & go 😀"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},  # the emoji is two UTF-16 units
        {"type": "text_link", "offset": 10, "length": 2, "url": "http://shop.example/x"},
    ]


def test_html_supports_telegrams_tag_set() -> None:
    text, entities = parse_html(
        "<strong>b</strong><em>i</em><ins>u</ins><del>s</del><tg-spoiler>p</tg-spoiler>"
        '<code>c</code><pre><code class="language-py">x</code></pre>'
        "<blockquote expandable>q</blockquote>"
    )
    assert text == "biuspcxq"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "expandable_blockquote",
    ]
    assert entities[6]["language"] == "py"


def test_markdown_v2_requires_escaping() -> None:
    with pytest.raises(BotApiError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Only 5.99!")
    text, entities = parse_markdown_v2(r"*Only* 5\.99\!")
    assert text == "Only 5.99!"
    assert entities == [{"type": "bold", "offset": 0, "length": 4}]


def test_unknown_parse_mode_is_refused() -> None:
    with pytest.raises(BotApiError, match="unsupported parse_mode"):
        format_text("x", "BBCode", None)


def test_automatic_entities_are_added() -> None:
    text, entities = format_text("See /feed and #sneakers at https://shop.example", None, None)
    assert [(e["type"], text[e["offset"] : e["offset"] + e["length"]]) for e in entities] == [
        ("bot_command", "/feed"),
        ("hashtag", "#sneakers"),
        ("url", "https://shop.example"),
    ]


async def test_bot_gets_telegrams_error_and_entities(bot: Bot, alice: SimulatedUser) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: can't find end tag"):
        await bot.send_message(ALICE, "<b>Sale", parse_mode="HTML")
    message = await bot.send_message(ALICE, "<b>Sale</b> <i>now</i>", parse_mode="HTML")
    assert message.entities == (
        MessageEntity("bold", 0, 4),
        MessageEntity("italic", 5, 3),
    )
    too_long = "<b>" + "x" * 1025 + "</b>"
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(
            ALICE, b"data", filename="a.txt", caption=too_long, parse_mode="HTML"
        )
