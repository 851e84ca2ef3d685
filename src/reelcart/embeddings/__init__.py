"""Text to vectors (sentence-transformers) and the FAISS index of product vectors."""

from reelcart.embeddings.encoder import (
    DEFAULT_MODEL_NAME,
    Encoder,
    HashingEncoder,
    SentenceEncoder,
    load_encoder,
)
from reelcart.embeddings.index import IndexFileError, VectorIndex
from reelcart.embeddings.pipeline import ProductEmbedder, text_hash

__all__ = [
    "DEFAULT_MODEL_NAME",
    "Encoder",
    "HashingEncoder",
    "IndexFileError",
    "ProductEmbedder",
    "SentenceEncoder",
    "VectorIndex",
    "load_encoder",
    "text_hash",
]
