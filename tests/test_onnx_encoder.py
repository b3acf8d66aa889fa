"""The int8 encoder: the numpy copy computes what ONNX Runtime's int8 graph computes, and a text's vector does not
depend on what it is indexed with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import ConfigError, load_settings
from index.bert_numpy import _dense_int8, quantise_int8
from index.embedder import INT8_SUFFIX, Int8Embedder, SentenceTransformerEmbedder, make_embedder
from index.errors import ModelError
from index.settings import EVIDENCE_ENCODER, PACKAGED_MODEL


def _run_graph(nodes, inputs: dict[str, np.ndarray], initializers: dict[str, np.ndarray], outputs: list[str]):  # type: ignore[no-untyped-def]
    """Run a small ONNX graph on ONNX Runtime with no graph optimisation."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    kinds = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int32): TensorProto.INT32}
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(k, kinds[v.dtype], list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, inputs)


def test_weights_are_quantised_exactly_as_onnxruntime_quantises_them(tmp_path):
    """quantise_int8 gives onnxruntime's per-channel int8 weights and scales, bit for bit."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(1)
    weight = (rng.standard_normal((48, 20)) * 0.07).astype(np.float32)
    weight[:, 3] = 0.0  # an all-zero column
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 48])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 20])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "f.onnx")
    quantize_dynamic(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    stored = {i.name: numpy_helper.to_array(i) for i in onnx.load(tmp_path / "q.onnx").graph.initializer}
    q, scale = quantise_int8(weight)
    assert np.array_equal(stored["w_quantized"].astype(np.float32), q)
    assert np.array_equal(stored["w_scale"], scale)
    assert not stored["w_zero_point"].any()


def _cpu_flags() -> set[str]:
    try:
        line = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags"))
    except (OSError, StopIteration):
        return set()
    return set(line.split(":", 1)[1].split())


#: ONNX Runtime's u8 x s8 kernel on AVX2 alone sums pairs in 16 bits and saturates (seen on an AMD EPYC): its product
#: then differs from the exact one, and Int8Embedder sends questions through ONNX Runtime (test below).
EXACT_INT8 = bool(_cpu_flags() & {"avx512_vnni", "avx_vnni", "avx512bw"}) or not Path("/proc/cpuinfo").exists()


@pytest.mark.parametrize("rows", [1, 7, 256])
def test_dense_int8_equals_dynamic_quantize_and_matmul_integer(rows):
    if rows > 1 and not EXACT_INT8:
        pytest.skip("this CPU has neither VNNI nor AVX-512: ONNX Runtime's int8 product saturates here")
    """_dense_int8 is DynamicQuantizeLinear -> MatMulInteger -> both scales, as onnxruntime runs them."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 96)) * 0.5).astype(np.float32)
    x[:, 5] *= 25  # an outlier feature, as BERT has: it sets the quantisation step
    q, scale = quantise_int8((rng.standard_normal((96, 40)) * 0.05).astype(np.float32))
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "wq", "xz", "wz"], ["acc"]),
        helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "ws"], ["both"]),
        helper.make_node("Mul", ["accf", "both"], ["y"]),
    ]
    (want,) = _run_graph(nodes, {"x": x}, {"wq": q.astype(np.int8), "wz": np.zeros(40, np.int8), "ws": scale}, ["y"])
    got = _dense_int8(x, q, scale)
    assert np.abs(got - want).max() <= 1e-6 * np.abs(want).max()


def test_dense_int8_of_zeros_is_zero():
    q, scale = quantise_int8(np.ones((4, 3), np.float32))
    assert not _dense_int8(np.zeros((2, 4), np.float32), q, scale).any()


def test_precision_setting_picks_the_embedder(tmp_path):
    int8 = make_embedder(PACKAGED_MODEL, load_settings(home=tmp_path))
    assert isinstance(int8, Int8Embedder) and int8.name == PACKAGED_MODEL + INT8_SUFFIX
    assert make_embedder(EVIDENCE_ENCODER, load_settings(home=tmp_path)).name == EVIDENCE_ENCODER + INT8_SUFFIX
    plain = make_embedder(PACKAGED_MODEL, load_settings(home=tmp_path, embed_precision="float32"))
    assert isinstance(plain, SentenceTransformerEmbedder) and plain.name == PACKAGED_MODEL
    # int8 runs on the CPU only: another torch device keeps sentence-transformers.
    assert isinstance(make_embedder(PACKAGED_MODEL, load_settings(home=tmp_path, embed_device="cuda")), SentenceTransformerEmbedder)


def test_a_bad_precision_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="embed_precision"):
        load_settings(home=tmp_path, embed_precision="int4")


def test_a_damaged_int8_graph_says_how_to_rebuild_it(tmp_path):
    embedder = Int8Embedder(PACKAGED_MODEL, tmp_path / "models")
    embedder._batch.path.parent.mkdir(parents=True)
    embedder._batch.path.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="delete that file to rebuild it"):
        embedder.embed(["one", "two", "three", "four", "five"])


@pytest.mark.slow
@pytest.mark.parametrize("model", [PACKAGED_MODEL, EVIDENCE_ENCODER])
def test_queries_and_index_vectors_come_from_the_same_int8_encoder(tmp_path, model):
    """Index batches run on ONNX Runtime, questions on numpy: the same int8 computation. A text's vector is the same
    whatever it is indexed with, and stays close to the float32 model's."""
    from index.onnx_encoder import model_key

    embedder = Int8Embedder(model, tmp_path / "models")
    texts = ["Who claimed responsibility for the attack?", "Where is that group based?", "x",
             "How many people were killed at Crocus City Hall near Moscow in March 2024?",
             "The gunmen opened fire on concert-goers before setting the building alight. " * 3]
    batch = embedder.embed(texts)  # more texts than the numpy path takes: ONNX Runtime
    assert (tmp_path / "models" / f"{model_key(embedder._path)}.onnx").is_file()
    alone = np.concatenate([embedder.embed([t]) for t in texts])  # one at a time: numpy
    assert batch.shape == (5, 384) and np.allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-5)
    assert (batch * alone).sum(1).min() > 1 - 1e-4, "query and index vectors must agree (issue 17: to 1e-3 cosine)"
    other = embedder.embed([texts[0], "something else entirely", "a", "b", "c"])
    assert np.array_equal(other[0], batch[0]), "a vector must not depend on the texts indexed with it"
    reference = SentenceTransformerEmbedder(model).embed(texts * 2)[:5]
    assert (batch * reference).sum(1).min() > 0.97


def test_every_text_goes_through_the_exact_numpy_copy_where_onnx_runtime_is_not_exact(tmp_path):
    from index.embedder import LIGHT_MAX_TEXTS, Int8Embedder

    embedder = Int8Embedder("packaged:all-MiniLM-L6-v2", tmp_path / "models")
    embedder._agrees = False  # as on a CPU whose int8 kernel saturates
    texts = [f"The museum holds {n} model ships." for n in range(LIGHT_MAX_TEXTS + 3)]
    light = embedder._light_encoder()
    assert light is not None
    assert np.allclose(embedder.embed(texts), light.encode(texts), atol=1e-6)


def test_the_numpy_check_runs_once_per_cpu_and_is_recorded(tmp_path):
    from index.embedder import LIGHT_MAX_TEXTS, Int8Embedder

    first = Int8Embedder("packaged:all-MiniLM-L6-v2", tmp_path / "models")
    first.embed(["Who founded the Harbor Museum?"])  # a question: the exact copy, no check needed
    assert not list((tmp_path / "models").glob("*.numpy-*.json"))
    first.embed([f"The museum holds {n} model ships." for n in range(LIGHT_MAX_TEXTS + 1)])  # a batch: checked
    records = list((tmp_path / "models").glob("*.numpy-*.json"))
    assert len(records) == 1 and "agrees" in records[0].read_text()
    again = Int8Embedder("packaged:all-MiniLM-L6-v2", tmp_path / "models")
    assert again._numpy_agrees(again._light_encoder()) == first._agrees  # read back, not recomputed
