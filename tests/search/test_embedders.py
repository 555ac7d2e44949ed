"""The embedders: the packaged all-MiniLM-L6-v2 on ONNX Runtime, its int8 kernels, checks and errors.

The model is loaded once per test session (about a second); every test runs on a few short texts.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from broadsheet.search.embedders import (
    DEFAULT_EMBEDDER,
    MINILM_DIM,
    MINILM_ONNX,
    EmbedderUnavailable,
    ModelFile,
    OnnxEmbedder,
    get_embedder,
    load_embedder,
    load_minilm,
    paper_text,
    quantize_matmuls,
)

TEXTS = [
    "Graphene transistors switch at room temperature.",
    "A survey of retrieval-augmented generation for question answering over scientific papers.",
    "Dark matter halos",
    "We study the electronic structure of carbon nanotubes under strain, using density functional "
    "theory and tight-binding models, and compare the band gaps with measurements.",
    "Attention is all you need.",
]


@pytest.fixture(scope="session")
def minilm() -> OnnxEmbedder:
    embedder = get_embedder(DEFAULT_EMBEDDER)  # the process-wide instance, shared with other test modules
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


def test_embeddings_have_one_unit_row_per_text(minilm: OnnxEmbedder) -> None:
    vectors = minilm.embed(TEXTS)

    assert vectors.dtype == np.float32
    assert vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_text_gives_the_same_vector(minilm: OnnxEmbedder) -> None:
    first = minilm.embed(TEXTS)
    second = minilm.embed(TEXTS)

    assert np.array_equal(first, second)


def test_batching_by_length_gives_the_vectors_of_texts_embedded_one_by_one(minilm: OnnxEmbedder) -> None:
    together = minilm.embed(TEXTS)
    one_by_one = np.stack([minilm.embed([text])[0] for text in TEXTS])

    assert np.abs(together - one_by_one).max() < 1e-5


def test_rows_come_back_in_input_order_not_length_order(minilm: OnnxEmbedder) -> None:
    forward = minilm.embed(TEXTS)
    backward = minilm.embed(TEXTS[::-1])

    assert np.abs(forward - backward[::-1]).max() < 1e-5


def test_related_texts_are_nearer_than_unrelated_ones(minilm: OnnxEmbedder) -> None:
    graphene, _, halos, nanotubes, _ = minilm.embed(TEXTS)

    assert float(graphene @ nanotubes) > float(graphene @ halos) + 0.1


@pytest.mark.parametrize("text", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_empty_text_gives_a_finite_unit_vector(minilm: OnnxEmbedder, text: str) -> None:
    vector = minilm.embed([text])[0]

    assert np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_no_texts_give_an_empty_matrix(minilm: OnnxEmbedder) -> None:
    assert minilm.embed([]).shape == (0, 384)


def test_long_text_is_truncated_to_the_token_limit(minilm: OnnxEmbedder) -> None:
    long_text = "graphene " * 5000
    longer_text = long_text + "and a different ending about dark matter halos " * 100

    assert minilm.token_counts([long_text]) == [minilm.max_tokens]
    vectors = minilm.embed([long_text, longer_text])
    # both are cut before their endings differ
    assert np.abs(vectors[0] - vectors[1]).max() < 1e-5


def test_hostile_strings_embed_without_error(minilm: OnnxEmbedder, hostile_strings: list[str]) -> None:
    vectors = minilm.embed(hostile_strings + ["\ud800 lone surrogate"])

    assert vectors.shape == (len(hostile_strings) + 1, 384)
    assert np.isfinite(vectors).all()


def test_int8_kernels_stay_close_to_the_float_arithmetic_of_the_same_weights(minilm: OnnxEmbedder) -> None:
    float_arithmetic = load_minilm(int8_kernels=False)

    cosines = (minilm.embed(TEXTS) * float_arithmetic.embed(TEXTS)).sum(axis=1)

    assert minilm.int8_matmuls == 36  # every linear layer of the 6 transformer blocks
    assert float_arithmetic.int8_matmuls == 0
    assert cosines.min() > 0.99


def test_optimized_model_has_integer_products_and_fused_attention_and_gelu() -> None:
    onnx = pytest.importorskip("onnx")

    optimized, int8_matmuls = quantize_matmuls(MINILM_ONNX.locate().read_bytes())

    operators = Counter(node.op_type for node in onnx.load_from_string(optimized).graph.node)
    assert int8_matmuls == 36
    assert {name: operators[name] for name in ("MatMulIntegerToFloat", "MultiHeadAttention", "BiasGelu")} == {
        "MatMulIntegerToFloat": 36,
        "MultiHeadAttention": 6,
        "BiasGelu": 6,
    }
    assert {name: operators[name] for name in ("Softmax", "Erf", "IsNaN")} == {
        "Softmax": 0,
        "Erf": 0,
        "IsNaN": 0,
    }


def test_quantize_matmuls_leaves_a_model_without_int8_weights_alone() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [1.0, 0.0, 0.0, 1.0])],
    )
    model = helper.make_model(graph).SerializeToString()

    assert quantize_matmuls(model) == (model, 0)
    assert onnx.load_from_string(model).graph.node[0].op_type == "MatMul"


def test_corrupted_model_file_is_refused_with_its_checksum(tmp_path: Path) -> None:
    corrupted = tmp_path / "model.onnx"
    shutil.copyfile(MINILM_ONNX.locate(), corrupted)
    with corrupted.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(EmbedderUnavailable, match="corrupted or not the pinned one") as error:
        load_minilm(model_path=corrupted)
    assert MINILM_ONNX.sha256 in str(error.value)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match="cannot read the embedding model"):
        load_minilm(model_path=tmp_path / "nowhere.onnx")


def test_model_from_a_package_that_is_not_installed_says_how_to_install_it() -> None:
    missing = ModelFile("broadsheet-no-such-model", "1.0", "model.onnx", "0" * 64)

    with pytest.raises(EmbedderUnavailable, match=r"pip install broadsheet-no-such-model==1\.0"):
        missing.locate()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("word2vec", "unknown embedder 'word2vec'"),
        ("st:", "needs a model name or path"),
    ],
)
def test_unknown_embedder_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(EmbedderUnavailable, match=message):
        load_embedder(name)


def test_sentence_transformers_backend_without_the_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a None entry in sys.modules makes the import fail as if the package were not installed
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)

    with pytest.raises(EmbedderUnavailable, match="pip install sentence-transformers"):
        load_embedder("st:sentence-transformers/all-MiniLM-L6-v2")


def test_get_embedder_defaults_to_the_setting_and_loads_once(minilm: OnnxEmbedder) -> None:
    embedder = get_embedder()

    assert embedder is minilm
    assert embedder.name == DEFAULT_EMBEDDER
    assert embedder.dim == MINILM_DIM


@pytest.mark.parametrize(
    ("title", "abstract", "expected"),
    [
        ("Graphene transistors", "Devices switch.", "Graphene transistors\nDevices switch."),
        ("  Padded title \n", "\n Padded abstract  ", "Padded title\nPadded abstract"),
        ("Title only", "", "Title only"),
        ("", "", ""),
    ],
)
def test_paper_text_is_title_then_abstract(title: str, abstract: str, expected: str) -> None:
    assert paper_text(title, abstract) == expected
