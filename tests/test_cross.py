"""The answer checker (qa.cross): its file format, its numpy forward pass, and the near-misses its training makes.

The checker is not shipped (it is trained by ``python -m evals.train_cross``), so these tests write one from the
evidence encoder's own first layers and a random head: the arithmetic is what they check, not what it learned."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evals.train_cross import near_miss
from qa.cross import AnswerChecker, checker_path, load_checker

from .conftest import write_checker

SENTENCE = "The granary in Tromsø was rebuilt by Oskar Lind in 1902 after the fire."


@pytest.fixture
def checker(tmp_path) -> AnswerChecker:  # type: ignore[no-untyped-def]
    return load_checker(write_checker(checker_path(tmp_path)))


def test_the_checker_file_holds_int8_layers_and_reads_back(checker: AnswerChecker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from safetensors import safe_open

    from index.settings import EVIDENCE_ENCODER_DIR

    path = checker_path(tmp_path)
    assert path == tmp_path.resolve() / "models" / "evidence-cross.safetensors"
    with safe_open(str(path), framework="numpy") as f:
        assert f.get_tensor("encoder.layer.0.attention.self.query.weight.q").dtype == np.int8
    with safe_open(str(EVIDENCE_ENCODER_DIR / "model.safetensors"), framework="numpy") as f:
        original = f.get_tensor("encoder.layer.0.attention.self.query.weight").astype(np.float32)
    # Stored transposed for x @ W; int8 per output row loses at most half a step of that row's scale.
    restored = checker._w["encoder.layer.0.attention.self.query.weight"].T
    step = np.abs(original).max(axis=1, keepdims=True) / 127.0
    assert np.all(np.abs(restored - original) <= step / 2 + 1e-6)
    assert checker.layers == 3 and load_checker(path) is checker


def test_padding_in_a_batch_does_not_change_a_logit(checker: AnswerChecker) -> None:
    texts = ["Oskar Lind rebuilt it.", SENTENCE, "A much longer sentence about harbours, ferries, bridges and the many roads of the north."]
    together = checker.logits("Who rebuilt the granary?", texts)
    alone = np.concatenate([checker.logits("Who rebuilt the granary?", [t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)
    assert checker.logits("Who?", []).shape == (0,)


@pytest.mark.slow
def test_the_numpy_checker_computes_what_torch_computes(checker: AnswerChecker) -> None:
    """The int8 layers, dequantised, run through transformers' BertModel give the same logits."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertModel

    from index.settings import EVIDENCE_ENCODER_DIR

    config = BertConfig.from_pretrained(str(EVIDENCE_ENCODER_DIR), num_hidden_layers=checker.layers)
    model = BertModel(config, add_pooling_layer=False).eval()
    state = {}
    for name, value in checker._w.items():
        transposed = name.startswith("encoder.") and name.endswith(("dense.weight", "query.weight", "key.weight", "value.weight"))
        state[name] = torch.from_numpy(np.ascontiguousarray(value.T) if transposed else value)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in m for m in missing)
    enc = checker._tokenizer.encode("Who rebuilt the granary?", SENTENCE)
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([enc.ids]), token_type_ids=torch.tensor([enc.type_ids])).last_hidden_state
    expected = float(hidden.mean(1)[0].numpy() @ checker.head_w + checker.head_b)
    assert checker.logits("Who rebuilt the granary?", [SENTENCE])[0] == pytest.approx(expected, abs=1e-3)


def test_a_missing_checker_file_names_the_rebuild_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from index.errors import ModelError

    with pytest.raises(ModelError, match=r"nope.safetensors.*python -m evals.train_cross.*DOCQA_EVIDENCE=hybrid"):
        AnswerChecker(tmp_path / "nope.safetensors")


@pytest.mark.parametrize(
    ("seed", "question"),
    [(s, q) for s in range(5) for q in ["Who rebuilt the granary in Tromsø?", "In 1902, what did Oskar Lind rebuild?"]],
)
def test_a_near_miss_changes_what_the_sentence_supports(seed: int, question: str) -> None:
    words = ["Bergen", "Anna", "harbour", "lighthouse", "1877", "museum", "Kors"]
    changed = near_miss(question, SENTENCE, words, random.Random(seed))
    assert changed is not None and changed != question
    gone = [w for w in question.rstrip("?").replace(",", "").split() if w not in changed]
    assert gone or " not " in changed
    # What came in is not in the sentence: a swapped term from the article, or a negation.
    new = [w for w in changed.rstrip("?").replace(",", "").split() if w not in question]
    assert all(w.lower() not in SENTENCE.lower() for w in new)


def test_no_near_miss_without_anything_to_change() -> None:
    assert near_miss("Why?", SENTENCE, [], random.Random(0)) is None
