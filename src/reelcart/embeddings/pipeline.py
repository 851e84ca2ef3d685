"""Products to vectors to the index, encoding each product text once per model.

Runs on a worker thread (import, start-up), never on the event loop: encoding is seconds of
CPU work, and the store is reached through ``DatabaseWorker.call``, which blocks until the
database thread has answered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelcart.domain import Product, ProductStatus
from reelcart.embeddings.encoder import Encoder
from reelcart.embeddings.index import APPROXIMATE_THRESHOLD, VectorIndex
from reelcart.embeddings.index_file import IndexFileError
from reelcart.embeddings.product_index import ProductIndex
from reelcart.storage.products import all_products
from reelcart.storage.vectors import all_vectors, get_vectors, save_vectors
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ProductVectors:
    """Vectors for a batch of products, ready to be applied to an index.

    ``encoded`` rows were just computed; ``reused`` rows came from the database; both only
    for active products. ``inactive_ids`` are paused or deleted products, to be removed.
    """

    encoded_ids: np.ndarray
    encoded: np.ndarray
    reused_ids: np.ndarray
    reused: np.ndarray
    inactive_ids: np.ndarray
    #: How many products were encoded, paused ones included.
    encoded_count: int = 0


def _stack(parts: Sequence[np.ndarray], dim: int) -> np.ndarray:
    rows = [np.atleast_2d(part) for part in parts if part.size]
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)


def text_hash(text: str) -> str:
    """The digest stored beside a vector: same text, same model, same vector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class ProductEmbedder:
    """Keeps the stored vectors and the FAISS index in step with the products.

    Vectors are persisted in the database keyed by ``(encoder.name, text hash)``, so a
    restart or a re-import of unchanged products encodes nothing. Only active products are
    in the index; paused ones keep their stored vector, so resuming them is free.
    """

    def __init__(
        self,
        encoder: Encoder,
        db: DatabaseWorker,
        index: VectorIndex | None = None,
        *,
        chunk_size: int = 256,
        batch_size: int = 64,
        approximate_threshold: int = APPROXIMATE_THRESHOLD,
    ) -> None:
        """``index`` defaults to an empty one; ``sync_index`` replaces it with the saved one.
        Indexes this embedder creates turn approximate above ``approximate_threshold``."""
        self.approximate_threshold = approximate_threshold
        index = (
            index
            if index is not None
            else VectorIndex(encoder.dim, approximate_threshold=approximate_threshold)
        )
        if index.dim != encoder.dim:
            raise ValueError(f"index vectors have size {index.dim}, the encoder's {encoder.dim}")
        self.encoder = encoder
        self.index = index
        self.db = db
        # Texts per encode call: progress is reported, and vectors persisted, per chunk, so
        # an interrupted import keeps what it already paid for.
        self.chunk_size = chunk_size
        self.batch_size = batch_size
        self.index_path: Path | None = None

    def embed(self, products: Sequence[Product], progress: Progress | None = None) -> int:
        """Give every product a vector and bring ``self.index`` in line with them.

        Stored vectors whose model and text hash still match are reused; the others are
        encoded in chunks, ``progress(done, total)`` being called after each chunk with
        counts of products, and persisted. Active products are upserted into the index,
        paused and deleted ones removed from it. Returns how many products were encoded.
        """
        vectors = self.vectors_for(products, progress)
        self.apply(self.index, vectors)
        return vectors.encoded_count

    def vectors_for(
        self, products: Sequence[Product], progress: Progress | None = None
    ) -> ProductVectors:
        """The encoding half of ``embed``, leaving every index alone.

        For callers that change the index on another thread than the one that encodes:
        encode here (slow), then ``apply`` the result where the index lives (fast).
        """
        wanted = [p for p in products if p.status is not ProductStatus.DELETED]
        inactive = [p.id for p in products if p.status is not ProductStatus.ACTIVE]
        texts = {p.id: p.embedding_text() for p in wanted}
        hashes = {pid: text_hash(text) for pid, text in texts.items()}
        active = {p.id for p in wanted if p.status is ProductStatus.ACTIVE}
        stored = self.db.call(get_vectors, self.encoder.name, list(texts)) if texts else {}

        reused_ids: list[int] = []
        reused_vectors: list[np.ndarray] = []
        # Products grouped by text: two products with the same text are encoded once.
        pending: dict[str, list[int]] = {}
        for pid, text in texts.items():
            found = stored.get(pid)
            if (
                found is not None
                and found[0] == hashes[pid]
                and found[1].shape == (self.encoder.dim,)
            ):
                if pid in active:
                    reused_ids.append(pid)
                    reused_vectors.append(found[1])
            else:
                pending.setdefault(text, []).append(pid)

        total = sum(len(ids) for ids in pending.values())
        done = 0
        encoded_ids: list[int] = []
        encoded_chunks: list[np.ndarray] = []
        # In file order (each chunk is sorted by length inside the encoder), not sorted by
        # length across the whole import: the int8 encoder quantises its activations per
        # batch, so its vectors drift further from fp32 as batches' make-up changes, and the
        # sort bought no speed.
        unique_texts = list(pending)
        if total and progress is not None:
            progress(0, total)  # encoding has begun: a merchant sees it before the first chunk
        for start in range(0, len(unique_texts), self.chunk_size):
            chunk = unique_texts[start : start + self.chunk_size]
            matrix = self.encoder.encode(chunk, batch_size=self.batch_size)
            if matrix.shape != (len(chunk), self.encoder.dim):
                raise ValueError(f"encoder {self.encoder.name} returned shape {matrix.shape}")
            items: list[tuple[int, str, np.ndarray]] = []
            index_rows: list[int] = []
            for row, text in enumerate(chunk):
                for pid in pending[text]:
                    items.append((pid, hashes[pid], matrix[row]))
                    if pid in active:
                        encoded_ids.append(pid)
                        index_rows.append(row)
            self.db.call(save_vectors, self.encoder.name, items)
            encoded_chunks.append(matrix[index_rows])
            done += len(items)
            if progress is not None:
                progress(done, total)
        if total:
            log.info(
                "encoded %d products (%d distinct texts) with %s, reused %d stored vectors",
                total, len(unique_texts), self.encoder.name, len(reused_ids),
            )  # fmt: skip
        return ProductVectors(
            encoded_ids=np.array(encoded_ids, dtype=np.int64),
            encoded=_stack(encoded_chunks, self.encoder.dim),
            reused_ids=np.array(reused_ids, dtype=np.int64),
            reused=_stack(reused_vectors, self.encoder.dim),
            inactive_ids=np.array(inactive, dtype=np.int64),
            encoded_count=total,
        )

    @staticmethod
    def apply(index: ProductIndex, vectors: ProductVectors) -> None:
        """Put what ``vectors_for`` produced into ``index``: fresh vectors replace old ones,
        stored ones fill gaps, inactive products leave."""
        if len(vectors.inactive_ids):
            index.remove(vectors.inactive_ids)
        if len(vectors.encoded_ids):
            index.upsert(vectors.encoded_ids, vectors.encoded)
        if len(vectors.reused_ids):
            # A reused vector already in the index is the same one (sync_index checked the
            # file against the database), so only the missing ones are added.
            missing = np.array([pid not in index for pid in vectors.reused_ids.tolist()])
            if missing.any():
                index.upsert(vectors.reused_ids[missing], vectors.reused[missing])

    def remove(self, product_ids: Iterable[int]) -> int:
        """Take products out of the index (paused, deleted); their stored vectors stay."""
        return self.index.remove(list(product_ids))

    def sync_index(self, index_path: Path | str) -> VectorIndex:
        """Load the index saved at ``index_path`` and bring it in line with the database.

        The file is trusted only as far as it holds exactly the stored vectors of the active
        products: vectors of products that are gone or inactive are removed, missing or
        different ones are put back from the stored vectors (never by re-encoding), in
        place, so a large approximate index is not retrained; an unreadable file is
        rebuilt from the stored vectors. Then products without a current vector are encoded,
        and the result is saved back to ``index_path``. The returned index replaces
        ``self.index``: build the recommender on it.
        """
        path = Path(index_path)
        self.index_path = path
        products = self.db.call(all_products)
        active = [p for p in products if p.status is ProductStatus.ACTIVE]
        stored_ids, stored_matrix = self.db.call(all_vectors, self.encoder.name)
        if len(stored_ids) and stored_matrix.shape[1] != self.encoder.dim:
            log.warning(
                "stored vectors of %s have size %d, not %d: ignoring them",
                self.encoder.name, stored_matrix.shape[1], self.encoder.dim,
            )  # fmt: skip
            stored_ids = stored_ids[:0]
        if len(stored_ids) == 0:
            stored_matrix = np.zeros((0, self.encoder.dim), dtype=np.float32)
        keep = np.isin(stored_ids, np.array([p.id for p in active], dtype=np.int64))
        expected_ids, expected_matrix = stored_ids[keep], stored_matrix[keep]

        loaded: VectorIndex | None = None
        if path.exists():
            try:
                loaded = VectorIndex.load(
                    path, self.encoder.dim, approximate_threshold=self.approximate_threshold
                )
            except IndexFileError as exc:
                log.warning("ignoring index file: %s", exc)
        if loaded is not None:
            index = loaded
            changed = _repair(index, expected_ids, expected_matrix)
            if changed:
                log.warning(
                    "index file %s disagreed with the database on %d products: repaired",
                    path, changed,
                )  # fmt: skip
            else:
                log.info("loaded index of %d vectors from %s", len(index), path)
        else:
            index = VectorIndex(self.encoder.dim, approximate_threshold=self.approximate_threshold)
            index.upsert(expected_ids, expected_matrix)
        self.index = index
        self.embed(active)
        self.save()
        return index

    def save(self) -> None:
        """Save the index where ``sync_index`` loaded it from (nothing before that)."""
        if self.index_path is not None:
            self.index.save(self.index_path)


def _repair(index: ProductIndex, ids: np.ndarray, matrix: np.ndarray) -> int:
    """Make ``index`` hold exactly these (id, vector) pairs; returns how many it changed."""
    have_ids, have_matrix = index.items()
    extra = np.setdiff1d(have_ids, ids)
    if len(extra):
        index.remove(extra)
    position = {int(pid): row for row, pid in enumerate(have_ids.tolist())}
    stale: list[int] = []
    for row, pid in enumerate(ids.tolist()):
        at = position.get(pid)
        if at is None or not np.allclose(
            have_matrix[at], matrix[row], atol=max(1e-6, index.tolerance)
        ):
            stale.append(row)
    if stale:
        index.upsert(ids[stale], matrix[stale])
    return len(extra) + len(stale)
