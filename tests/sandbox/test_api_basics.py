"""Wire-level behaviour: tokens, method names, parameter encodings, response shapes."""

from __future__ import annotations

import json

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageOriginUser
from telegram.error import BadRequest, Forbidden, InvalidToken

from reelcart.sandbox import SandboxServer, SimulatedUser

from .conftest import ALICE, BOB, RawApi


async def test_get_me_describes_the_sandbox_bot(bot: Bot, server: SandboxServer) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "reelcart_sandbox_bot" == server.bot_username
    assert me.supports_inline_queries is True
    assert str(me.id) == server.token.split(":")[0]


def test_token_looks_like_botfathers(server: SandboxServer) -> None:
    bot_id, secret = server.token.split(":")
    assert bot_id.isdigit()
    assert len(secret) == 35


async def test_wrong_token_is_unauthorized(server: SandboxServer, raw: RawApi) -> None:
    status, body = await raw.post_json("getMe", {}, token="123456:" + "A" * 35)
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    with pytest.raises(InvalidToken):
        async with Bot("123456:" + "B" * 35, base_url=server.base_url):
            pass
    status, body = await raw.post_json("getMe", {}, token="not-a-token")
    assert (status, body["description"]) == (404, "Not Found")


async def test_unknown_method_is_not_found_and_names_are_case_insensitive(
    raw: RawApi,
) -> None:
    status, body = await raw.post_json("sendTeleport", {})
    assert (status, body["description"]) == (404, "Not Found")
    status, body = await raw.post_json("GETME", {})
    assert status == 200 and body["result"]["is_bot"] is True


async def test_parameters_arrive_as_json_form_query_or_multipart(
    raw: RawApi,
    alice: SimulatedUser,
) -> None:
    markup = {"inline_keyboard": [[{"text": "❤️ Like", "callback_data": "like:1"}]]}
    status, by_json = await raw.post_json(
        "sendMessage", {"chat_id": ALICE, "text": "json", "reply_markup": markup}
    )
    assert status == 200
    status, by_form = await raw.post_form(
        "sendMessage", {"chat_id": str(ALICE), "text": "form", "reply_markup": json.dumps(markup)}
    )
    assert status == 200
    status, _ = await raw.get("sendMessage", chat_id=str(ALICE), text="query")
    assert status == 200
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("text", "multipart")
    form.add_field("reply_markup", json.dumps(markup))
    async with raw.session.post(raw.url("sendMessage"), data=form) as response:
        by_multipart = await response.json()
    assert by_json["result"]["reply_markup"] == markup
    assert by_form["result"]["reply_markup"] == markup
    assert by_multipart["result"]["reply_markup"] == markup
    assert [m.text for m in alice.messages] == ["json", "form", "query", "multipart"]


async def test_sent_message_has_telegrams_shape(
    bot: Bot, alice: SimulatedUser, raw: RawApi
) -> None:
    status, body = await raw.post_json(
        "sendMessage",
        {
            "chat_id": ALICE,
            "text": "<b>Sneakers</b> 49 € #shoes",
            "parse_mode": "HTML",
            "reply_markup": {"inline_keyboard": [[{"text": "🛒 Buy", "callback_data": "buy:7"}]]},
        },
    )
    assert status == 200 and body["ok"] is True
    message = body["result"]
    assert isinstance(message["message_id"], int)
    assert isinstance(message["date"], int)
    assert message["from"]["is_bot"] is True
    assert message["from"]["username"] == "reelcart_sandbox_bot"
    assert message["chat"] == {
        "id": ALICE,
        "first_name": "Alice",
        "username": "alice_shops",
        "type": "private",
    }
    assert message["text"] == "Sneakers 49 € #shoes"
    assert message["entities"] == [
        {"type": "bold", "offset": 0, "length": 8},
        {"type": "hashtag", "offset": 14, "length": 6},
    ]
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "buy:7"
    # message ids are shared with the user's own messages in a private chat
    assert message["message_id"] == 2


async def test_chat_errors(bot: Bot, server: SandboxServer, alice: SimulatedUser) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello?")
    SimulatedUser(server, BOB, "Bob")  # known user who never wrote to the bot
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(BOB, "hello?")
    await alice.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "still there?")
    updates = await bot.get_updates()
    blocked = updates[-1].my_chat_member
    assert blocked is not None and blocked.new_chat_member.status == "kicked"
    await alice.unblock_bot()
    assert (await bot.send_message(ALICE, "welcome back")).text == "welcome back"


async def test_text_limits_count_characters_after_parsing(bot: Bot, alice: SimulatedUser) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "   ")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "<b></b>", parse_mode="HTML")
    exact = await bot.send_message(ALICE, "<i>" + "😀" * 4096 + "</i>", parse_mode="HTML")
    assert exact.text == "😀" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "x" * 4097)


async def test_keyboard_validation(bot: Bot, alice: SimulatedUser) -> None:
    def keyboard(button: InlineKeyboardButton) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[button]])

    too_long = keyboard(InlineKeyboardButton("b", callback_data="x" * 65))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(ALICE, "x", reply_markup=too_long)
    script = keyboard(InlineKeyboardButton("b", url="javascript:alert(1)"))
    with pytest.raises(BadRequest, match="Button_url_invalid"):
        await bot.send_message(ALICE, "x", reply_markup=script)
    # 64 bytes exactly: 32 two-byte characters
    fits = keyboard(InlineKeyboardButton("b", callback_data="é" * 32))
    ok = await bot.send_message(ALICE, "x", reply_markup=fits)
    assert ok.reply_markup is not None


async def test_text_only_button_is_refused(raw: RawApi, alice: SimulatedUser) -> None:
    status, body = await raw.post_json(
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b"}]]}},
    )
    assert status == 400
    assert body["description"] == (
        "Bad Request: can't parse inline keyboard button: Text "
        "buttons are unallowed in the inline keyboard"
    )


async def test_parameters_are_checked_against_the_method_model(
    raw: RawApi,
    alice: SimulatedUser,
) -> None:
    status, body = await raw.post_json(
        "deleteMessage", {"chat_id": ALICE, "message_id": "not-a-number"}
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: invalid message_id specified")
    status, body = await raw.post_json("sendMessage", {"chat_id": ALICE})
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await raw.post_json(
        "sendMessage",
        {
            "chat_id": ALICE,
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": 5}]]},
        },
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse inline keyboard "
        'button: Field "callback_data" must be of '
        "type String",
    )
    status, body = await raw.post_json(
        "sendMessage", {"chat_id": ALICE, "text": "x", "disable_notification": "perhaps"}
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: invalid disable_notification")
    status, body = await raw.post_json(
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "link_preview_options": {"is_disabled": "sometimes"}},
    )
    assert status == 400
    assert body["description"].startswith(
        'Bad Request: can\'t parse link_preview_options: field "is_disabled"'
    )
    status, body = await raw.post_form(
        "sendMessage", {"chat_id": str(ALICE), "text": "x", "reply_markup": "{broken"}
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse reply_markup JSON object",
    )


async def test_chat_action_is_recorded_and_checked(bot: Bot, alice: SimulatedUser) -> None:
    assert await bot.send_chat_action(ALICE, "upload_video") is True
    assert alice.chat_actions == ["upload_video"]
    with pytest.raises(BadRequest, match="Wrong parameter action in request"):
        await bot.send_chat_action(ALICE, "dancing")


async def test_copy_and_forward(bot: Bot, alice: SimulatedUser, server: SandboxServer) -> None:
    bob = SimulatedUser(server, BOB, "Bob")
    await bob.send_text("hi")
    original = await bot.send_message(ALICE, "Look at this <b>deal</b>", parse_mode="HTML")
    copied = await bot.copy_message(BOB, ALICE, original.message_id)
    assert bob.last_message is not None and bob.last_message.message_id == copied.message_id
    assert bob.last_message.data["entities"] == original.to_dict()["entities"]
    forwarded = await bot.forward_message(BOB, ALICE, original.message_id)
    assert isinstance(forwarded.forward_origin, MessageOriginUser)
    assert forwarded.forward_origin.sender_user.id == bot.id
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(BOB, ALICE, 9999)


async def test_lenient_mode_keeps_telegrams_own_checks() -> None:
    async with SandboxServer(limits=None, strict=False) as server:
        alice = SimulatedUser(server, ALICE, "Alice")
        await alice.send_command("start")
        async with Bot(server.token, base_url=server.base_url) as bot:
            sent = await bot.send_message(
                ALICE,
                "<b>ok</b>",
                parse_mode="HTML",
                protect_content=False,
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("❤️", callback_data="like:1")]]
                ),
            )
            assert sent.text == "ok" and sent.has_protected_content is None
            with pytest.raises(BadRequest, match="Button_data_invalid"):
                await bot.send_message(
                    ALICE,
                    "x",
                    reply_markup=InlineKeyboardMarkup(
                        [[InlineKeyboardButton("b", callback_data="x" * 65)]]
                    ),
                )
            with pytest.raises(BadRequest, match="Message text is empty"):
                await bot.send_message(ALICE, "")
