"""Next-card decision latency and resident memory at 10k, 100k and 1M products, 1M events.

    .venv/bin/python benchmarks/next_card.py                     # all three sizes
    .venv/bin/python benchmarks/next_card.py --sizes 10000,100000

Each size runs in its own process (so its resident memory is its own) and stops by itself
(``--timeout`` seconds per size). Products get synthetic clustered 384-d vectors (shaped
like all-MiniLM-L6-v2's product vectors: cosine about 0.6 within a cluster of 200) and
go through the real ``VectorIndex`` (exact up to 5k products, IVF above) and the real
``HybridRecommender``; the event log is
replayed with ``HybridRecommender.replay`` as the bot does on start. Then shoppers swipe, 200
at a time taking turns, 20 cards each: each decision is one ``next_pick`` call, timed
alone; the impression and the reaction that follow are timed as "observe". Warm shoppers
have history; cold ones (10%) are new. The recall of the index against exact search is
measured on the shoppers' own taste vectors. Last (after the memory is read), picks are
timed again while another thread writes the index file over and over, as the bot's saver
does behind catalog changes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
#: Noise around each cluster centre: a norm of about 0.8, so products of one cluster have
#: a cosine of about 0.6 to each other and about 0 to other clusters, as all-MiniLM-L6-v2
#: gives for product texts of one category and of different ones.
NOISE = 0.8 / np.sqrt(DIM)


def _rss_mb() -> tuple[float, float]:
    """(resident, peak resident) of this process in MB, from /proc."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount = line.split(":")
            values[name] = int(amount.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    array = np.array(samples)
    return float(np.percentile(array, 50)), float(np.percentile(array, 99))


def run_one(
    size: int,
    events: int,
    users: int,
    picks: int,
    seed: int,
    sessions: int = 200,
    session: int = 20,
) -> dict[str, Any]:
    """Build, replay and measure one catalog size; returns the numbers."""
    from reelcart.domain import EventKind, Reaction
    from reelcart.embeddings.index import VectorIndex
    from reelcart.evaluation.catalog import stand_in
    from reelcart.ranking.hybrid import HybridRecommender

    rng = np.random.default_rng(seed)
    clusters = max(50, size // 200)
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster_of = rng.integers(0, clusters, size)

    started = time.perf_counter()
    index = VectorIndex(DIM)
    chunk = 100_000
    matrix = np.empty((size, DIM), dtype=np.float32)
    for start in range(0, size, chunk):
        end = min(size, start + chunk)
        part = centres[cluster_of[start:end]] + rng.normal(
            scale=NOISE, size=(end - start, DIM)
        ).astype(np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        matrix[start:end] = part
        index.upsert(np.arange(start + 1, end + 1), part)
    index.wait_for_retrain()  # retrains run behind the upserts; measure the settled index
    index_seconds = time.perf_counter() - started

    rec = HybridRecommender(index, discovery_rate=0.1, seed=seed)
    rec.load_products(
        stand_in(pid, f"c{cluster_of[pid - 1] % 500}", merchant_id=1 + pid % 2000, stock=10)
        for pid in range(1, size + 1)
    )
    by_cluster = np.argsort(cluster_of, kind="stable") + 1
    bounds = np.searchsorted(cluster_of[by_cluster - 1], np.arange(clusters + 1))

    # The log: impression + reaction pairs; each shopper has three favourite clusters,
    # where half their cards come from; likes mostly there.
    favourites = rng.integers(0, clusters, size=(users, 3))
    pairs = events // 2
    who = rng.integers(0, users, pairs)
    from_taste = rng.random(pairs) < 0.5
    cluster = favourites[who, rng.integers(0, 3, pairs)]
    low, high = bounds[cluster], bounds[cluster + 1]
    in_taste = by_cluster[
        np.minimum(low + (rng.random(pairs) * (high - low)).astype(int), size - 1)
    ]
    product = np.where(from_taste & (high > low), in_taste, rng.integers(1, size + 1, pairs))
    liked = from_taste & (rng.random(pairs) < 0.5)
    disliked = ~from_taste & (rng.random(pairs) < 0.05)
    log: list[Reaction] = []
    for n in range(pairs):
        user, pid = int(who[n]), int(product[n])
        kind = EventKind.LIKE if liked[n] else EventKind.DISLIKE if disliked[n] else EventKind.SKIP
        log.append(Reaction(user, pid, EventKind.IMPRESSION, None, float(n)))
        log.append(Reaction(user, pid, kind, 3500 if liked[n] else 600, float(n)))
    started = time.perf_counter()
    rec.replay(log)
    replay_seconds = time.perf_counter() - started
    del log

    # Swipes as a live feed sees them: ``sessions`` shoppers are active at once, taking
    # turns; each swipes ``session`` cards in a row, then leaves and a new one arrives
    # (90% with history, 10% brand new). Every pick is timed, first ones included.
    pick_ms: list[float] = []
    # CPU time of the deciding thread: what the code costs, without the waits a busy
    # shared machine adds to wall time.
    cpu_ms: list[float] = []
    warm_ms: list[float] = []
    cold_ms: list[float] = []
    observe_ms: list[float] = []
    next_new = users + 1
    active: list[tuple[int, np.ndarray, int]] = []
    for turn in range(picks):
        if len(active) < sessions:
            if rng.random() < 0.1:
                active.append((next_new, rng.integers(0, clusters, 3), session))
                next_new += 1
            else:
                known = int(rng.integers(0, users))
                active.append((known, favourites[known], session))
        slot = turn % len(active)
        user, fav, left = active[slot]
        if left <= 1:
            active.pop(slot)
        else:
            active[slot] = (user, fav, left - 1)
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        pick = rec.next_pick(user)
        elapsed = (time.perf_counter_ns() - t0) / 1e6
        cpu_ms.append((time.thread_time_ns() - c0) / 1e6)
        pick_ms.append(elapsed)
        (cold_ms if user > users else warm_ms).append(elapsed)
        assert pick is not None
        like = cluster_of[pick.product_id - 1] in set(fav.tolist()) and rng.random() < 0.6
        t0 = time.perf_counter_ns()
        rec.observe(Reaction(user, pick.product_id, EventKind.IMPRESSION, None, 0.0))
        kind = EventKind.LIKE if like else EventKind.SKIP
        rec.observe(Reaction(user, pick.product_id, kind, 3500 if like else 600, 0.0))
        observe_ms.append((time.perf_counter_ns() - t0) / 1e6)

    # Recall of the index against exact search, on real tastes.
    tastes = [
        t
        for t in (rec.taste_of(int(u)) for u in range(0, users, max(1, users // 200)))
        if t is not None
    ]
    queries = np.vstack(tastes[:100]).astype(np.float32)
    truth = [set((np.argpartition(-(matrix @ q), 10)[:10] + 1).tolist()) for q in queries]

    def recall_at(cells: int | None) -> tuple[float, float]:
        """Recall@10 and median search ms of the index scanning ``cells`` (None: its own)."""
        index.nprobe = cells
        found, took = [], []
        for q in queries:
            t0 = time.perf_counter_ns()
            found.append(index.search(q, 10)[1][0])
            took.append((time.perf_counter_ns() - t0) / 1e6)
        index.nprobe = None
        hits = [len(t & set(f.tolist())) / 10 for t, f in zip(truth, found, strict=True)]
        return float(np.mean(hits)), float(np.median(took))

    recall = [recall_at(None)[0]]
    # The trade-off behind NPROBE_SHARE: recall and time against the cells scanned.
    curve = {}
    if index.approximate:
        curve = {cells: recall_at(cells) for cells in (16, 32, 64, 128, 256)}
    del matrix
    rss, peak = _rss_mb()

    # Picks while the index file is written (the bot's saver thread does this behind
    # catalog changes): a save runs again and again on another thread until at least one
    # has finished and a third as many picks as above were made.
    saving_ms: list[float] = []
    saves: list[float] = []
    stop = threading.Event()

    def save_repeatedly(folder: str) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            index.save(Path(folder) / "products.faiss")
            saves.append(time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as folder:
        saver = threading.Thread(target=save_repeatedly, args=(folder,))
        saver.start()
        while not saves or len(saving_ms) < picks // 3:
            user = int(rng.integers(0, users))
            t0 = time.perf_counter_ns()
            pick = rec.next_pick(user)
            saving_ms.append((time.perf_counter_ns() - t0) / 1e6)
            assert pick is not None
            rec.observe(Reaction(user, pick.product_id, EventKind.IMPRESSION, None, 0.0))
            rec.observe(Reaction(user, pick.product_id, EventKind.SKIP, 600, 0.0))
        stop.set()
        saver.join()
    rec.close()
    p50, p99 = _percentiles(pick_ms)
    warm50, warm99 = _percentiles(warm_ms)
    cold50, cold99 = _percentiles(cold_ms) if cold_ms else (0.0, 0.0)
    obs50, obs99 = _percentiles(observe_ms)
    cpu50, cpu99 = _percentiles(cpu_ms)
    saving50, saving99 = _percentiles(saving_ms)
    load = os.getloadavg()[0]
    return {
        "size": size,
        "events": 2 * pairs,
        "approximate": float(index.approximate),
        "nprobe": float(index.nprobe),
        "p50": p50,
        "p99": p99,
        "warm_p50": warm50,
        "warm_p99": warm99,
        "cold_p50": cold50,
        "cold_p99": cold99,
        "cpu_p50": cpu50,
        "cpu_p99": cpu99,
        "load": load,
        "saving_p50": saving50,
        "saving_p99": saving99,
        "saving_max": max(saving_ms),
        "saving_picks": len(saving_ms),
        "saves": len(saves),
        "save_s": float(np.median(saves)),
        "observe_p50": obs50,
        "observe_p99": obs99,
        "recall": float(np.mean(recall)),
        "curve": {str(cells): list(point) for cells, point in curve.items()},
        "rss_mb": rss,
        "peak_mb": peak,
        "index_s": index_seconds,
        "replay_s": replay_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--picks", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.events, args.users, args.picks, args.seed)))
        return 0

    # One process per size, each on one BLAS/OpenMP thread: a feed answers one shopper at
    # a time, and the other core is the bot's event loop.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        command = [
            sys.executable, __file__, "--one", str(size), "--events", str(args.events),
            "--users", str(args.users), "--picks", str(args.picks), "--seed", str(args.seed),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=args.timeout, check=True
            )
        except subprocess.TimeoutExpired:
            print(f"{size}: stopped after {args.timeout:.0f} s", file=sys.stderr)
            continue
        except subprocess.CalledProcessError as exc:
            print(f"{size}: failed\n{exc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = rows[-1]
        print(
            f"{size:>9,} products: next card p50 {row['p50']:.3f} ms, p99 {row['p99']:.3f} ms "
            f"(warm p99 {row['warm_p99']:.3f}, cold p99 {row['cold_p99']:.3f}; CPU time p50 "
            f"{row['cpu_p50']:.3f}, p99 {row['cpu_p99']:.3f}; load average {row['load']:.1f}); "
            f"observe p99 {row['observe_p99']:.3f} ms; recall@10 {row['recall']:.3f}; "
            f"RSS {row['rss_mb']:.0f} MB (peak {row['peak_mb']:.0f}); "
            f"index {row['index_s']:.0f} s, replay {row['replay_s']:.0f} s",
            flush=True,
        )
        print(
            f"{'':>19} while the index file is written ({row['saves']} saves, median "
            f"{row['save_s']:.2f} s): next card p50 {row['saving_p50']:.3f} ms, p99 "
            f"{row['saving_p99']:.3f} ms ({row['saving_p99'] / row['p99']:.1f}x the p99 above), "
            f"slowest {row['saving_max']:.1f} ms over {row['saving_picks']} picks",
            flush=True,
        )
    print()
    print(f"{'products':>10} {'events':>9} {'index':>7} {'p50 ms':>8} {'p99 ms':>8} {'target':>8} "
          f"{'CPU p99':>8} {'recall@10':>10} {'RSS MB':>8}")  # fmt: skip
    for row in rows:
        if row["curve"]:
            points = ", ".join(
                f"{cells} cells {r:.3f} in {ms:.2f} ms" for cells, (r, ms) in row["curve"].items()
            )
            print(f"{int(row['size']):>9,}: recall@10 by cells scanned: {points}")
    targets = {100_000: 2.0, 1_000_000: 5.0}
    for row in rows:
        target = targets.get(int(row["size"]))
        verdict = "" if target is None else ("met" if row["p99"] <= target else "MISSED")
        kind = f"IVF/{int(row['nprobe'])}" if row["approximate"] else "exact"
        print(
            f"{int(row['size']):>10,} {int(row['events']):>9,} {kind:>7} {row['p50']:>8.3f} "
            f"{row['p99']:>8.3f} {('<= ' + str(target)) if target else '':>8} "
            f"{row['cpu_p99']:>8.3f} {row['recall']:>10.3f} {row['rss_mb']:>8.0f} {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
