"""Texts for merchants, admins, moderation, inline mode, your data, in English and French."""

EN: dict[str, str] = {}

FR: dict[str, str] = {}
