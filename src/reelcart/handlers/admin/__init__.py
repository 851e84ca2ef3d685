"""The /admin panel: the moderation queue, merchant applications, trust and suspension,
bans, settings, global stats, broadcasts and the audit log; plus the ban gate in front of
every update, the admins' command menus, and the bot-blocked tracking broadcasts rely on.

Callback data: ``kit.callbacks.ADMIN`` (its refunds screens are ``checkout.refunds``).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from reelcart.handlers.admin import answers, broadcasts, menus, panel, users
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.kit.context import ReelcartApplication


def register(application: ReelcartApplication) -> None:
    """Add the gates (before everything), the admins' typed answers, the panel, and the
    job that resumes interrupted broadcasts."""
    # Before everything: banned users are stopped here.
    application.add_handler(TypeHandler(Update, users.ban_gate), group=-100)
    # Then, before the admin's first command is answered: their menu, if start-up could not.
    application.add_handler(TypeHandler(Update, menus.admin_menu_gate), group=-99)
    private = filters.ChatType.PRIVATE
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & ~filters.REPLY & private, answers.typed_answer
        ),
        group=-1,
    )
    application.add_handler(CommandHandler("admin", panel.admin_command))
    application.add_handler(CallbackQueryHandler(panel.admin_button, pattern=ADMIN.pattern))
    application.add_handler(
        ChatMemberHandler(users.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    if application.job_queue is not None:
        # Scheduled before the shop opens (slow): however late the job queue starts, run it.
        application.job_queue.run_once(
            broadcasts.resume_broadcasts,
            1.0,
            name="resume-broadcasts",
            job_kwargs={"misfire_grace_time": None},
        )
