"""Services: what the shop does, independent of Telegram (feed, catalog, later orders)."""
