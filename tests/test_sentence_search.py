"""Sentence search: chunks ranked by their best sentence's vector, the third ranking in retrieval's fusion."""

from __future__ import annotations

import numpy as np
import pytest

from index import CorpusIndex, HashingEmbedder
from qa.retrieval import HybridRetriever
from qa.sentence_search import SentenceSearch


@pytest.fixture
def index(tiny, settings):
    idx = CorpusIndex(tiny, settings, embedder=HashingEmbedder(), store="numpy", sentence_embedder=HashingEmbedder(dim=64))
    idx.sync()
    return idx


def _chunk_saying(index, text: str):
    return next(c for c in index.chunks if any(s.text == text for s in c.sentences))


def test_the_chunk_of_the_nearest_sentence_comes_first(index) -> None:
    search = SentenceSearch(index.snapshot(), index.sentence_vectors)
    assert len(search) == sum(len(c.sentences) for c in index.chunks)
    said = "The lighthouse keeper was Tomas Berg."
    vector = HashingEmbedder(dim=64).embed([said])[0]
    top = search.top_chunks(vector, 2)
    assert top[0][0] == _chunk_saying(index, said).id
    assert top[0][1] == pytest.approx(1.0, abs=2e-3)  # the sentence's own vector (stored as float16)
    assert len(top) == 2 and top[0][1] >= top[1][1]


def test_a_file_filter_keeps_only_that_files_chunks(index) -> None:
    search = SentenceSearch(index.snapshot(), index.sentence_vectors)
    vector = HashingEmbedder(dim=64).embed(["The lighthouse keeper was Tomas Berg."])[0]
    top = search.top_chunks(vector, 5, files=("museum.txt",))
    assert top and {index.snapshot().file_of(cid) for cid, _ in top} == {"museum.txt"}


def test_a_vector_of_another_encoder_finds_nothing(index) -> None:
    search = SentenceSearch(index.snapshot(), index.sentence_vectors)
    assert search.top_chunks(np.ones(32) / np.sqrt(32), 3) == []


def test_an_empty_index_finds_nothing(tmp_path, settings) -> None:
    (tmp_path / "empty").mkdir()
    idx = CorpusIndex(tmp_path / "empty", settings, embedder=HashingEmbedder(), store="numpy", sentence_embedder=HashingEmbedder(dim=64))
    search = SentenceSearch(idx.snapshot(), idx.sentence_vectors)
    assert len(search) == 0 and search.top_chunks(np.ones(64) / 8, 3) == []


@pytest.mark.parametrize("on", [True, False])
def test_retrieval_adds_the_sentence_searchs_chunk_only_when_on(index, on: bool) -> None:
    # top_k 1: the chunk vectors and BM25 both find the museum chunk for this question; the evidence vector is that
    # of the lighthouse sentence, which only the sentence search reads.
    retriever = HybridRetriever(index.snapshot(), index.embedder, index.store, 1, "hybrid", index.sentence_vectors, sentence_search=on)
    said = "The lighthouse keeper was Tomas Berg."
    got = retriever.retrieve("When did the Harbor Museum open?", None, HashingEmbedder(dim=64).embed([said])[0])
    ids = [c.chunk_id for c in got.chunks]
    assert ids[0] == _chunk_saying(index, "The Harbor Museum opened in 1931.").id
    assert (_chunk_saying(index, said).id in ids) is on


def test_baseline_modes_never_search_sentences(index) -> None:
    for mode in ("dense", "bm25"):
        retriever = HybridRetriever(index.snapshot(), index.embedder, index.store, 1, mode, index.sentence_vectors, sentence_search=True)
        assert retriever.sentences() is None
