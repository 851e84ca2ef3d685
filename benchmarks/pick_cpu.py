"""CPU time of the ranking thread per swipe, on a small catalog with a long history.

    .venv/bin/python benchmarks/pick_cpu.py                       # 72 and 10k products
    .venv/bin/python benchmarks/pick_cpu.py --sizes 72 --swipes 500

What the bot's ranking thread does for each swipe of the end-to-end benchmark
(``benchmarks/swipes.py``: 20 shoppers swiping the 72-product demo catalog as fast as
they can, each making hundreds of swipes, about half of them likes): one ``next_pick``,
then the impression and the reaction passed to ``observe``. Shoppers take turns, one card
each, so co-engagement builds up between them. The catalog is synthetic: clustered 384-d
unit vectors (cosine about 0.6 within a category, about 0 across, as all-MiniLM-L6-v2
gives for product texts), in 8 categories for 72 products as in the demo, in categories
of 200 at larger sizes; the real ``VectorIndex`` and ``HybridRecommender`` rank them.

Each swipe is timed with ``time.thread_time_ns`` (CPU time of this thread only: the GIL
time the bot's event loop loses to ranking). Printed per size: median and p99 per swipe
over all swipes, over the first 1000 and over the last 1000 (the shoppers' histories
grow), and the median of ``next_pick`` alone. The collaborative model is rebuilt in line
(``background_refresh=False``), so a run is deterministic; at the default sizes fewer
engagements than ``REFRESH_EVERY`` happen, so no rebuild falls inside the timing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from reelcart.domain import EventKind, Product, Reaction
from reelcart.embeddings.index import VectorIndex
from reelcart.evaluation.catalog import stand_in
from reelcart.ranking.hybrid import HybridRecommender

DIM = 384
#: Noise around a category's centre (cosine about 0.6 within a category).
NOISE = 0.8 / np.sqrt(DIM)
#: Products per category beyond the demo's size.
CATEGORY_SIZE = 200
#: Products of the demo catalog and its categories.
DEMO_PRODUCTS = 72
DEMO_CATEGORIES = 8
#: Merchants: one per this many products (the demo has a handful of shops).
PER_MERCHANT = 12
#: Swipes per block reported for "early" and "late".
BLOCK = 1000


def make_catalog(size: int, rng: np.random.Generator) -> tuple[list[Product], np.ndarray]:
    """``size`` products with clustered unit vectors, in categories and merchants."""
    categories = DEMO_CATEGORIES if size <= DEMO_PRODUCTS else max(1, size // CATEGORY_SIZE)
    centres = rng.normal(size=(categories, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    category = np.arange(size) % categories
    vectors = centres[category] + rng.normal(scale=NOISE, size=(size, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    products = [
        stand_in(pid + 1, f"category-{category[pid]}", merchant_id=1 + pid // PER_MERCHANT)
        for pid in range(size)
    ]
    return products, vectors.astype(np.float32)


def run(size: int, shoppers: int, swipes: int, seed: int) -> dict[str, float]:
    """Swipe ``shoppers`` x ``swipes`` cards over ``size`` products; CPU ms per swipe."""
    rng = np.random.default_rng(seed)
    products, vectors = make_catalog(size, rng)
    index = VectorIndex(DIM)
    index.upsert([p.id for p in products], vectors)
    rec = HybridRecommender(index, discovery_rate=0.1, seed=seed, background_refresh=False)
    rec.load_products(products)
    swipe_ns: list[int] = []
    pick_ns: list[int] = []
    try:
        for _ in range(swipes):
            for user in range(1, shoppers + 1):
                liked = rng.random() < 0.5
                dwell = int(rng.integers(300, 4000))
                started = time.thread_time_ns()
                pick = rec.next_pick(user)
                picked = time.thread_time_ns()
                if pick is None:
                    continue
                rec.observe(Reaction(user, pick.product_id, EventKind.IMPRESSION))
                kind = EventKind.LIKE if liked else EventKind.SKIP
                rec.observe(Reaction(user, pick.product_id, kind, dwell))
                swipe_ns.append(time.thread_time_ns() - started)
                pick_ns.append(picked - started)
    finally:
        rec.close()
    ms = np.array(swipe_ns) / 1e6
    early, late = ms[:BLOCK], ms[-BLOCK:]
    return {
        "median": float(np.median(ms)),
        "p99": float(np.percentile(ms, 99)),
        "early_median": float(np.median(early)),
        "early_p99": float(np.percentile(early, 99)),
        "late_median": float(np.median(late)),
        "late_p99": float(np.percentile(late, 99)),
        "pick_median": float(np.median(np.array(pick_ns) / 1e6)),
        "swipes": float(len(ms)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="72,10000", help="catalog sizes, comma-separated")
    parser.add_argument("--shoppers", type=int, default=20, help="shoppers taking turns")
    parser.add_argument("--swipes", type=int, default=300, help="swipes per shopper")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args()
    print(
        f"{args.shoppers} shoppers x {args.swipes} swipes; ranking-thread CPU per swipe (ms)"
        " = next_pick + observe(impression) + observe(reaction)"
    )
    print(
        f"{'products':>9} {'median':>7} {'p99':>7}   {'first ' + str(BLOCK):>15}"
        f"   {'last ' + str(BLOCK):>15}   {'pick median':>11}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size, args.shoppers, args.swipes, args.seed)
        print(
            f"{size:>9} {r['median']:>7.3f} {r['p99']:>7.3f}"
            f"   {r['early_median']:>7.3f} {r['early_p99']:>7.3f}"
            f"   {r['late_median']:>7.3f} {r['late_p99']:>7.3f}   {r['pick_median']:>11.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
