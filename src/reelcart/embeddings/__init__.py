"""Text to vectors (sentence-transformers) and the FAISS index of product vectors."""

from reelcart.embeddings.encoder import (
    DEFAULT_MODEL_NAME,
    Encoder,
    HashingEncoder,
    SentenceEncoder,
    load_encoder,
)
from reelcart.embeddings.exact import ExactIndex
from reelcart.embeddings.index import VectorIndex
from reelcart.embeddings.index_file import IndexFileError
from reelcart.embeddings.ivf import IvfIndex
from reelcart.embeddings.pipeline import ProductEmbedder, text_hash
from reelcart.embeddings.product_index import ProductIndex

__all__ = [
    "DEFAULT_MODEL_NAME",
    "Encoder",
    "ExactIndex",
    "HashingEncoder",
    "IndexFileError",
    "IvfIndex",
    "ProductEmbedder",
    "ProductIndex",
    "SentenceEncoder",
    "VectorIndex",
    "load_encoder",
    "text_hash",
]
