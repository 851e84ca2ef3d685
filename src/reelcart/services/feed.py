"""The feed: who sees which card next, and what every reaction teaches the ranking.

``FeedService`` is what the handlers call. It never blocks the event loop: SQLite work goes
to the database thread, ranking and FAISS to the ranking thread, the model to a worker
thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from reelcart.domain import (
    AlreadyAnswered,
    Clip,
    EventKind,
    FeedCard,
    Language,
    Pick,
    Product,
    ProductNotFound,
    ProductUnavailable,
    Reaction,
    ReasonKind,
    StaleCard,
    User,
)
from reelcart.embeddings.encoder import Encoder
from reelcart.ranking import HybridRecommender
from reelcart.storage.events import (
    add_event,
    answer_card,
    card_pick,
    create_card,
    get_card,
    latest_card,
    liked_product_ids,
    set_card_message,
)
from reelcart.storage.products import (
    cache_file_id,
    get_clip,
    get_product,
    get_products,
    interest_options,
)
from reelcart.storage.store import Store
from reelcart.storage.users import get_user, set_interests, set_language, touch_user
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_QUERY_LENGTH = 200
#: Users kept in memory between updates (about 200 bytes each).
USER_CACHE = 100_000

# Reactions that move the feed on to the next card, and the event each one records.
SWIPES: dict[str, EventKind] = {
    "like": EventKind.LIKE,
    "dislike": EventKind.DISLIKE,
    "next": EventKind.SKIP,
}


@dataclass(frozen=True)
class Explanation:
    """Why a card was shown, with what a shopper needs to read it."""

    reason: ReasonKind
    because_title: str | None = None
    because_interest: str | None = None


@dataclass(frozen=True)
class SwipeResult:
    """What a swipe recorded, and the card that replaces the swiped one (None: feed is empty)."""

    recorded: EventKind
    dwell_ms: int
    next_card: FeedCard | None


class RankingThread:
    """Runs every call on the recommender on one thread, so it needs no locks."""

    def __init__(self, recommender: HybridRecommender) -> None:
        self.recommender = recommender
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="reelcart-rank"
        )

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(fn, self.recommender, *args)
        )

    def call(self, fn: Callable[..., T], *args: object) -> T:
        return self._executor.submit(fn, self.recommender, *args).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class _UserCache:
    """Users as last read from the database, by id, with the Telegram profile they were
    read for; at most ``USER_CACHE`` of them, least recently used dropped first.

    Every write to a user goes through ``FeedService`` (or tells it, ``forget_user``) and
    drops the entry. A read that started before such a write must not put the old user
    back afterwards: each drop bumps the user's generation, and ``put`` only stores what
    was read in the current one.
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[int, tuple[tuple[object, ...], User]] = OrderedDict()
        self._generations: dict[int, int] = {}

    def get(self, user_id: int, profile: tuple[object, ...]) -> User | None:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] != profile:
            return None
        self._entries.move_to_end(user_id)
        return entry[1]

    def generation(self, user_id: int) -> int:
        return self._generations.get(user_id, 0)

    def put(self, user: User, profile: tuple[object, ...], generation: int) -> None:
        if self._generations.get(user.id, 0) != generation:
            return
        self._entries[user.id] = (profile, user)
        self._entries.move_to_end(user.id)
        while len(self._entries) > USER_CACHE:
            dropped, _ = self._entries.popitem(last=False)
            self._generations.pop(dropped, None)

    def drop(self, user_id: int) -> None:
        self._entries.pop(user_id, None)
        self._generations[user_id] = self._generations.get(user_id, 0) + 1


class FeedService:
    """Onboarding, cards, reactions, why-this, search and likes, for one shop."""

    def __init__(
        self,
        db: DatabaseWorker,
        ranking: RankingThread,
        encoder: Encoder,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.ranking = ranking
        self.encoder = encoder
        self.clock = clock
        # The model is slow compared to everything else; give it its own thread so a
        # /search never queues behind the database or the ranking.
        self._model_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="reelcart-model"
        )
        self._users = _UserCache()

    def close(self) -> None:
        self._model_executor.shutdown(wait=True)

    # -- users -------------------------------------------------------------------------

    async def meet(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> tuple[User, bool]:
        """The user as stored (created on first contact) and whether they are new.

        Every update starts here, so a user whose Telegram profile did not change since the
        last update is answered from memory (``_UserCache``), without a database hop.
        """
        profile = (first_name, username, language_code)
        known = self._users.get(user_id, profile)
        if known is not None:
            return known, False
        generation = self._users.generation(user_id)
        user, new = await self.db.run(touch_user, user_id, first_name, username, language_code)
        self._users.put(user, profile, generation)
        return user, new

    def forget_user(self, user_id: int) -> None:
        """The stored user changed (or was erased): the next update reads it again."""
        self._users.drop(user_id)

    async def user(self, user_id: int) -> User | None:
        return await self.db.run(get_user, user_id)

    async def set_language(self, user_id: int, language: Language) -> None:
        await self.db.run(set_language, user_id, language)
        self._users.drop(user_id)

    async def interest_options(self) -> list[str]:
        return await self.db.run(interest_options)

    async def set_interests(self, user_id: int, interests: Sequence[str], done: bool) -> None:
        """Store the onboarding choices and let the ranking start from them at once."""
        await self.db.run(set_interests, user_id, list(interests), done)
        self._users.drop(user_id)
        await self.ranking.run(HybridRecommender.set_interests, user_id, list(interests))

    # -- cards -------------------------------------------------------------------------

    async def next_card(
        self, user_id: int, *, on_screen: tuple[int, int] | None = None
    ) -> FeedCard | None:
        """Pick the next card for this user and log its impression; None if nothing is left.

        ``on_screen``: the (chat, message) the card will be swapped into, stored with the
        card at once so ``card_shown`` can be skipped when the swap is quick (see there).
        """
        pick = await self.ranking.run(_pick_and_count, None, user_id, self.clock())
        return None if pick is None else await self._store_card(user_id, pick, on_screen)

    async def open_product(self, user_id: int, product_id: int) -> FeedCard:
        """A card for a product the user asked for (from /likes, /search or a shared link).

        Raises ProductNotFound for an unknown or deleted product, ProductUnavailable for
        one that is paused or not approved by the moderators (nothing is recorded then).
        """
        pick = Pick(product_id=product_id, reason=ReasonKind.REQUESTED)
        return await self._card(user_id, pick)

    async def _card(self, user_id: int, pick: Pick) -> FeedCard:
        card = await self._store_card(user_id, pick, None)
        reaction = Reaction(user_id, card.product.id, EventKind.IMPRESSION, at=self.clock())
        await self.ranking.run(HybridRecommender.observe, reaction)
        return card

    async def _store_card(
        self, user_id: int, pick: Pick, on_screen: tuple[int, int] | None
    ) -> FeedCard:
        return await self.db.run(_create_card, user_id, pick, self.clock(), on_screen)

    async def card_shown(self, card_id: int, chat_id: int, message_id: int) -> None:
        """The card is on screen now: dwell time counts from here.

        A card swapped into the message it was created for (``on_screen``) by a clip already
        on Telegram's servers needs no call: it was stored with that message, and its clock
        started when it was picked, a few milliseconds earlier.
        """
        await self.db.run(set_card_message, card_id, chat_id, message_id, self.clock())

    async def clip_uploaded(self, clip: Clip, file_id: str) -> None:
        """Cache Telegram's file_id so the clip is never uploaded twice."""
        await self.db.run(cache_file_id, clip.product_id, clip.source, file_id)

    async def swipe(
        self,
        user_id: int,
        card_id: int,
        action: str,
        *,
        on_screen: tuple[int, int] | None = None,
    ) -> SwipeResult:
        """Record like / dislike / next on the user's current card and pick the next one.

        One trip off the event loop: on the database thread, the card is answered and the
        reaction logged; the ranking thread (called from there) learns from it, picks the
        next card and counts its impression; back on the database thread, that card is
        stored with its impression (and ``on_screen``, see ``next_card``). The ranking never
        waits for the database, so the two threads cannot deadlock.

        Raises StaleCard when the card is not this user's current, unanswered card (an old
        message, a button pressed twice, a forged id): nothing is recorded then.
        """
        kind = SWIPES[action]
        reaction, card = await self.db.run(
            _swipe, self.ranking, user_id, card_id, kind, self.clock(), on_screen
        )
        return SwipeResult(kind, reaction.dwell_ms or 0, card)

    async def pending_card(
        self, user_id: int, card_id: int, message: tuple[int, int]
    ) -> FeedCard | None:
        """The card picked to replace ``card_id`` in ``message`` (chat, message id), if the
        swipe that answered ``card_id`` is the user's last and its card is still waiting for
        an answer; None otherwise.

        A swipe records its reaction and stores the next card before that card is swapped
        into the message; if the swap never reached Telegram, the message still shows the
        answered card, and its next tap brings this one (nothing is recorded here).
        """
        return await self.db.run(_pending_card, user_id, card_id, message)

    async def still_waiting(self, user_id: int, card_id: int) -> bool:
        """Whether ``card_id`` is still the card this user's screen should show: their newest
        card, not answered yet. A retried swap asks first, so a late retry never puts an old
        card back over one the shopper has already moved on to."""
        return await self.db.run(_still_waiting, user_id, card_id)

    async def record(self, user_id: int, product_id: int, kind: EventKind) -> None:
        """Record a reaction that does not move the feed (share, shop click, buy)."""
        reaction = Reaction(user_id, product_id, kind, at=self.clock())
        await self.db.run(add_event, reaction, None)
        await self.ranking.run(HybridRecommender.observe, reaction)

    async def explain(self, user_id: int, card_id: int) -> Explanation:
        """Why this user was shown this card. Raises StaleCard for someone else's card."""
        card = await self.db.run(get_card, card_id)
        if card is None or card["user_id"] != user_id:
            raise StaleCard(card_id)
        because_title = None
        if card["because_product_id"] is not None:
            try:
                product = await self.db.run(get_product, card["because_product_id"])
                because_title = product.title
            except ProductNotFound:
                because_title = None
        reason = ReasonKind(card["reason"])
        if reason in (ReasonKind.SIMILAR_TO_LIKED, ReasonKind.OTHERS_LIKED) and not because_title:
            reason = ReasonKind.POPULAR
        return Explanation(reason, because_title, card["because_interest"])

    async def card_product(self, user_id: int, card_id: int) -> Product:
        """The product on one of this user's cards. Raises StaleCard / ProductNotFound."""
        card = await self.db.run(get_card, card_id)
        if card is None or card["user_id"] != user_id:
            raise StaleCard(card_id)
        return await self.db.run(get_product, card["product_id"])

    # -- search and likes --------------------------------------------------------------

    async def search(self, text: str, limit: int = 8) -> list[Product]:
        """Available products closest in meaning to ``text``."""
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(self._model_executor, self.encoder.encode, [text])
        ids = await self.ranking.run(HybridRecommender.search, vectors[0], limit)
        products = await self.db.run(get_products, ids)
        return [products[i] for i in ids if i in products]

    async def product(self, product_id: int) -> Product:
        return await self.db.run(get_product, product_id)

    async def likes(self, user_id: int, limit: int = 20) -> tuple[list[Product], int]:
        """The user's newest liked products (deleted ones left out) and how many in all."""
        ids = await self.db.run(liked_product_ids, user_id, 10_000)
        products = await self.db.run(get_products, ids)
        liked = [products[i] for i in ids if i in products and products[i].status != "deleted"]
        return liked[:limit], len(liked)


def _swipe(
    store: Store,
    ranking: RankingThread,
    user_id: int,
    card_id: int,
    kind: EventKind,
    now: float,
    on_screen: tuple[int, int] | None,
) -> tuple[Reaction, FeedCard | None]:
    """On the DB thread: the whole of ``FeedService.swipe``."""
    reaction = _answer_and_record(store, user_id, card_id, kind, now)
    pick = ranking.call(_pick_and_count, reaction, user_id, now)
    if pick is None:
        return reaction, None
    return reaction, _create_card(store, user_id, pick, now, on_screen)


def _pick_and_count(
    recommender: HybridRecommender, reaction: Reaction | None, user_id: int, now: float
) -> Pick | None:
    """On the ranking thread: learn from ``reaction`` (if any), pick the next card and count
    its impression, in one call so that a swipe crosses to the ranking thread once."""
    if reaction is not None:
        recommender.observe(reaction)
    pick = recommender.next_pick(user_id)
    if pick is not None:
        recommender.observe(Reaction(user_id, pick.product_id, EventKind.IMPRESSION, at=now))
    return pick


def _create_card(
    store: Store,
    user_id: int,
    pick: Pick,
    now: float,
    on_screen: tuple[int, int] | None = None,
) -> FeedCard:
    """On the DB thread: load the product, create the card row (with ``on_screen``, the
    message it goes into, if known), log the impression."""
    product = get_product(store, pick.product_id)
    if pick.reason is ReasonKind.REQUESTED and not product.shareable:
        raise ProductUnavailable(product.id)
    clip = get_clip(store, product.id)
    # The card and its impression go together, so the event log always explains every card.
    with store.db.atomic():
        chat_id, message_id = on_screen if on_screen else (None, None)
        card_id = create_card(store, user_id, pick, now, chat_id, message_id)
        impression = Reaction(user_id, product.id, EventKind.IMPRESSION, at=now)
        add_event(store, impression, card_id)
    return _feed_card(store, card_id, product, clip, pick, message_id)


def _feed_card(
    store: Store,
    card_id: int,
    product: Product,
    clip: Clip | None,
    pick: Pick,
    message_id: int | None,
) -> FeedCard:
    """On the DB thread: the card as the handlers show it (with the liked product's title)."""
    because = None
    if pick.because_product_id is not None:
        try:
            because = get_product(store, pick.because_product_id).title
        except ProductNotFound:
            because = None
    return FeedCard(card_id, product, clip, pick, because_title=because, message_id=message_id)


def _pending_card(
    store: Store, user_id: int, card_id: int, message: tuple[int, int]
) -> FeedCard | None:
    """On the DB thread: the whole of ``FeedService.pending_card``."""
    answered = get_card(store, card_id)
    if answered is None or answered["user_id"] != user_id or answered["answered_at"] is None:
        return None
    latest = latest_card(store, user_id)
    if (
        latest is None
        or latest["id"] <= card_id
        or latest["answered_at"] is not None
        or (latest["chat_id"], latest["message_id"]) != message
    ):
        return None
    try:
        product = get_product(store, latest["product_id"])
    except ProductNotFound:
        return None
    clip = get_clip(store, product.id)
    return _feed_card(store, latest["id"], product, clip, card_pick(latest), latest["message_id"])


def _answer_and_record(
    store: Store, user_id: int, card_id: int, kind: EventKind, now: float
) -> Reaction:
    """On the DB thread: answer the user's current card and log the reaction, atomically.

    One transaction, so a crash can never leave a card answered without its event (the
    reaction would be lost and the button would then say "already noted").
    """
    with store.db.atomic():
        card = get_card(store, card_id)
        if card is None or card["user_id"] != user_id:
            raise StaleCard(card_id)
        if card["answered_at"] is not None:
            raise AlreadyAnswered(card_id)
        latest = latest_card(store, user_id)
        if latest is None or latest["id"] != card_id:
            raise StaleCard(card_id)
        if not answer_card(store, card_id):
            raise AlreadyAnswered(card_id)
        dwell_ms = max(0, int((now - card["shown_at"]) * 1000))
        reaction = Reaction(user_id, card["product_id"], kind, dwell_ms, now)
        add_event(store, reaction, card_id)
    return reaction


def _still_waiting(store: Store, user_id: int, card_id: int) -> bool:
    latest = latest_card(store, user_id)
    return latest is not None and latest["id"] == card_id and latest["answered_at"] is None
