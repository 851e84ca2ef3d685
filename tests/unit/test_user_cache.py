"""The feed's memory of users: answered without the database, never stale after a write."""

from __future__ import annotations

from reelcart.domain import Language, User
from reelcart.services.feed import _UserCache

PROFILE = ("Léa", "lea", "fr")


def test_a_known_profile_is_answered_from_memory() -> None:
    cache = _UserCache()
    user = User(1, "Léa", Language.FR)
    cache.put(user, PROFILE, cache.generation(1))
    assert cache.get(1, PROFILE) is user
    # A changed Telegram profile (new name, new app language) must be read again.
    assert cache.get(1, ("Léa B", "lea", "fr")) is None
    assert cache.get(1, ("Léa", "lea", "en")) is None


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    cache = _UserCache()
    before = cache.generation(1)  # a read of the user starts...
    cache.drop(1)  # ...the user picks English with /lang meanwhile...
    cache.put(User(1, "Léa", Language.FR), PROFILE, before)  # ...the old row comes back
    assert cache.get(1, PROFILE) is None
    cache.put(User(1, "Léa", Language.EN), PROFILE, cache.generation(1))
    assert cache.get(1, PROFILE) == User(1, "Léa", Language.EN)


def test_the_oldest_users_leave_first(monkeypatch) -> None:
    monkeypatch.setattr("reelcart.services.feed.USER_CACHE", 2)
    cache = _UserCache()
    for user_id in (1, 2):
        cache.put(User(user_id), PROFILE, 0)
    assert cache.get(1, PROFILE) is not None  # 1 is now the most recent
    cache.put(User(3), PROFILE, 0)
    assert cache.get(2, PROFILE) is None
    assert cache.get(1, PROFILE) is not None and cache.get(3, PROFILE) is not None
