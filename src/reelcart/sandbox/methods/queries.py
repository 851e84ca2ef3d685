"""Answers to callback and inline queries."""

from __future__ import annotations

import re
from typing import Any

from reelcart.sandbox.dispatch import Call, bot_method
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.markup import format_text
from reelcart.sandbox.methods.common import TEXT_LIMIT, inline_keyboard
from reelcart.sandbox.state import JSON

CALLBACK_TEXT_LIMIT = 200
MAX_INLINE_RESULTS = 50
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


@bot_method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    """answerCallbackQuery: once per query, before it expires."""
    params = call.params
    text = params.text("text")
    if len(text) > CALLBACK_TEXT_LIMIT:
        raise BotApiError.bad_request("MESSAGE_TOO_LONG")
    url = params.text("url")
    if url:
        # Without a game, only links that start this bot are allowed.
        username = re.escape(call.state.bot_username)
        pattern = rf"(?i)(https?://)?t\.me/{username}\?start=[A-Za-z0-9_-]{{1,64}}"
        if not re.fullmatch(pattern, url):
            raise BotApiError.bad_request("URL_INVALID")
    answer: JSON = {
        "text": text or None,
        "show_alert": params.flag("show_alert"),
        "url": url or None,
        "cache_time": params.integer("cache_time", 0),
    }
    call.state.answer_query("callback", params.text("callback_query_id"), answer)
    return True


def _check_result(call: Call, result: Any, seen: set[str]) -> None:
    if not isinstance(result, dict):
        raise BotApiError.bad_request("can't parse InlineQueryResult JSON object")
    result_id = str(result.get("id", ""))
    if not 1 <= len(result_id.encode("utf-8")) <= 64:
        raise BotApiError.bad_request("RESULT_ID_INVALID")
    if result_id in seen:
        raise BotApiError.bad_request("RESULT_ID_DUPLICATE")
    seen.add(result_id)
    if result.get("reply_markup") is not None:
        result["reply_markup"] = inline_keyboard(result["reply_markup"])
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        text, _ = format_text(
            str(content["message_text"]),
            content.get("parse_mode"),
            content.get("entities"),
            users=call.state.user_json,
        )
        if not text:
            raise BotApiError.bad_request("MESSAGE_EMPTY")
        if len(text) > TEXT_LIMIT:
            raise BotApiError.bad_request("MESSAGE_TOO_LONG")
    if result.get("type") == "article" and content is None:
        raise BotApiError.bad_request(
            "can't parse InlineQueryResult: input_message_content must be specified"
        )


@bot_method("answerInlineQuery")
async def answer_inline_query(call: Call) -> bool:
    """answerInlineQuery: up to 50 results with unique ids."""
    params = call.params
    results = params.json("results")
    if not isinstance(results, list):
        raise BotApiError.bad_request("can't parse results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise BotApiError.bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        _check_result(call, result, seen)
    next_offset = params.text("next_offset")
    if len(next_offset.encode("utf-8")) > 64:
        raise BotApiError.bad_request("NEXT_OFFSET_INVALID")
    button = params.json("button")
    if (
        isinstance(button, dict)
        and "start_parameter" in button
        and not _START_PARAMETER.fullmatch(str(button["start_parameter"]))
    ):
        raise BotApiError.bad_request("START_PARAM_INVALID")
    answer: JSON = {
        "results": results,
        "next_offset": next_offset,
        "cache_time": params.integer("cache_time", 300),
        "is_personal": params.flag("is_personal"),
        "button": button,
    }
    query_id = params.text("inline_query_id")
    call.state.answer_query("inline", query_id, answer)
    call.state.inline_answers[query_id] = answer
    return True
