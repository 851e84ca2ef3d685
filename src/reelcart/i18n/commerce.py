"""Texts for buying in the chat, orders, shop links, in English and French."""

EN: dict[str, str] = {}

FR: dict[str, str] = {}
