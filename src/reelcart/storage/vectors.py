"""Product vectors, by model: kept so a restart re-encodes nothing and the index can be
rebuilt from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reelcart.storage.store import Store


def get_vectors(
    store: Store, model: str, product_ids: Sequence[int]
) -> dict[int, tuple[str, np.ndarray]]:
    """Stored vectors of ``model`` for these products: id -> (text hash, vector)."""
    found: dict[int, tuple[str, np.ndarray]] = {}
    ids = list(product_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (
            "SELECT product_id, text_hash, vector FROM product_vectors "
            f"WHERE model = ? AND product_id IN ({marks})"
        )
        for product_id, text_hash, blob in store.db.execute(sql, [model, *chunk]).fetchall():
            found[product_id] = (text_hash, np.frombuffer(blob, dtype=np.float32).copy())
    return found


def all_vectors(store: Store, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, matrix) of every stored vector of ``model``, for rebuilding the index."""
    rows = store.db.execute(
        "SELECT product_id, vector FROM product_vectors WHERE model = ? ORDER BY product_id",
        [model],
    ).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    matrix = np.vstack([np.frombuffer(row[1], dtype=np.float32) for row in rows])
    return ids, matrix


def save_vectors(store: Store, model: str, items: Sequence[tuple[int, str, np.ndarray]]) -> None:
    """Persist (product id, text hash, vector) so a restart re-encodes nothing."""
    with store.db.atomic():
        store.db.table("product_vectors").upsert_all(
            (
                {
                    "product_id": product_id,
                    "model": model,
                    "text_hash": text_hash,
                    "dim": int(vector.shape[0]),
                    "vector": np.asarray(vector, dtype=np.float32).tobytes(),
                }
                for product_id, text_hash, vector in items
            ),
            pk="product_id",
        )
