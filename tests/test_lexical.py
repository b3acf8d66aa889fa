"""The lexical side keeps numbers, single letters and symbol-words, and matches them exactly.

Each corpus below is built so that its documents share every word but the one token under test: BM25 can only
tell them apart by that token, so every expectation is tie-free (a lost token makes all documents tie).
"""

from __future__ import annotations

import pytest

from index import CorpusIndex, HashingEmbedder
from qa import QAEngine
from qa.lexical import LexicalIndex, lexical_tokens, make_llama_retriever

from .conftest import write_tree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What did section 3 say?", ["section", "3"]),
        ("Who won World War 2?", ["won", "world", "war", "2"]),
        ("Plan B failed", ["plan", "b", "fail"]),
        ("written in C++ and C#", ["written", "c++", "c", "c#", "c"]),
        ("IS-K claimed it", ["is-k", "k", "claim"]),
        ("after 9/11", ["9/11", "9", "11"]),
        ("grew 3.5% in 2023", ["grew", "3.5%", "3.5", "2023"]),
        ("over 1,000 people", ["1000", "peopl"]),
        ("ISIS-K’s leaders", ["isis-k", "isi", "k", "leader"]),
        ("the U.S. warned", ["u.s", "u", "s", "warn"]),
        ("", []),
    ],
)
def test_tokens_keep_numbers_short_words_and_compounds(text: str, expected: list[str]) -> None:
    assert lexical_tokens(text) == expected


def test_stopwords_and_possessives_are_dropped_but_not_digits() -> None:
    assert lexical_tokens("It is the group's base") == ["group", "base"]
    assert lexical_tokens("0 1 9") == ["0", "1", "9"]


def test_bm25_prefers_the_document_with_the_number_and_breaks_ties_by_order() -> None:
    docs = [f"The budget is described in section {n} of the report." for n in (1, 2, 3, 4)]
    index = LexicalIndex(docs)
    top = index.top(lexical_tokens("What does section 3 of the report describe?"), 4)
    assert top[0][0] == 2
    assert top[0][1] > top[1][1]
    # Without the number every document scores the same: the order is the documents' own, not a library's.
    tied = index.top(lexical_tokens("What does the report describe?"), 4)
    assert [d for d, _ in tied] == [0, 1, 2, 3]
    assert len({round(s, 9) for _, s in tied}) == 1


def test_unknown_and_empty_queries_score_nothing() -> None:
    index = LexicalIndex(["alpha beta", "gamma"])
    assert index.top(lexical_tokens("zeta"), 5) == []
    assert index.top([], 5) == []
    assert LexicalIndex([]).top(["alpha"], 3) == []


def test_llama_index_retriever_wraps_the_same_index() -> None:
    from llama_index.core.schema import TextNode

    nodes = [TextNode(id_=f"n{i}", text=f"Plan {x} was chosen by the board.") for i, x in enumerate("ABCD")]
    retriever = make_llama_retriever(nodes, top_k=2)
    hits = retriever.retrieve("Why was Plan C chosen?")
    assert hits[0].node.node_id == "n2" and len(hits) == 2


#: One document per token; everything else is identical, so only the token can decide.
SHORT_TOKENS = {
    "section 3": ("What did section 3 say about the budget?", "The report's section {} said the budget would double."),
    "World War 2": ("What happened to the town in World War 2?", "In World War {} the town was occupied by troops."),
    "Plan B": ("Who approved Plan B?", "Plan {} was approved by the finance committee."),
    "C++": ("Who maintains the C++ compiler?", "The {} compiler is maintained by the tools team."),
    "IS-K": ("Who does IS-K recruit?", "{} recruits young men from the border provinces."),
    "9/11": ("What changed after 9/11 at the airport?", "After {} the airport changed its security checks."),
    "3.5%": ("Which region grew 3.5% last year?", "The northern region grew {} last year, officials said."),
}
VARIANTS = {
    "section 3": ["1", "2", "3", "4"],
    "World War 2": ["1", "2"],
    "Plan B": ["A", "B", "C", "D"],
    "C++": ["C", "C++", "C#", "D"],
    "IS-K": ["IS-K", "IS-P", "ISIS", "IS-B"],
    "9/11": ["9/11", "7/7", "3/11", "9/12"],
    "3.5%": ["3.5%", "2.5%", "3.1%", "35%"],
}
GOLD = {"section 3": "3", "World War 2": "2", "Plan B": "B", "C++": "C++", "IS-K": "IS-K", "9/11": "9/11", "3.5%": "3.5%"}


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
@pytest.mark.parametrize("key", sorted(SHORT_TOKENS))
def test_questions_naming_a_short_token_cite_the_passage_with_it(tmp_path, settings, key: str, mode: str) -> None:
    question, template = SHORT_TOKENS[key]
    files = {f"doc{i}.txt": (template.format(v) + "\n").encode() for i, v in enumerate(VARIANTS[key])}
    gold = f"doc{VARIANTS[key].index(GOLD[key])}.txt"
    corpus = write_tree(tmp_path / "c", files)
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    engine = QAEngine(index, mode=mode)  # type: ignore[arg-type]
    a = engine.answer(question)
    assert a.retrieved[0].file == gold, [(r.file, r.bm25_score) for r in a.retrieved]
    top, second = a.retrieved[0].bm25_score, a.retrieved[1].bm25_score
    assert top is not None and (second is None or top > second)
    if not a.abstained:
        assert a.citations[0].file == gold



def test_exact_vector_store_breaks_equal_similarities_by_insertion_order(tmp_path) -> None:
    import numpy as np

    from index import Chunk
    from index.store import NumpyStore

    chunks = [Chunk(id=f"c{i:02d}", file="f.txt", file_hash="0", ordinal=i, first_line=i + 1, last_line=i + 1, text="x", sentences=[])
              for i in range(40)]
    same = np.full(4, 0.5, dtype=np.float32)
    store = NumpyStore(tmp_path / "v.npz")
    store.upsert(chunks, np.stack([same] * len(chunks)))
    assert [cid for cid, _ in store.query(same, 5)] == ["c00", "c01", "c02", "c03", "c04"]


@pytest.mark.parametrize(("asked", "written"), [
    ("died", "killed"), ("caught", "captured"), ("caught", "apprehended"), ("founded", "established"),
    ("stop", "thwarting"), ("stopped", "foiled"), ("heads-up", "warnings"), ("denied", "refuted"), ("flak", "criticism"),
    ("proven", "established"), ("shooting", "attack"),
])
def test_the_lexicon_matches_words_for_the_same_idea(asked: str, written: str) -> None:
    from qa.lexicon import equivalents
    from qa.text import stem

    assert stem(written) in equivalents(stem(asked))
    assert stem("concert") not in equivalents(stem(asked))  # and nothing else


def test_equivalence_is_not_transitive_across_groups() -> None:
    # "established" is both "founded" and "proven"; "founded" is not "proven".
    from qa.lexicon import equivalents
    from qa.text import stem

    assert stem("proven") not in equivalents(stem("founded"))


def test_acronym_spellings_of_a_corpus_are_aliases(tmp_path, settings) -> None:
    # IS-K, ISKP and ISIS-K name one group; "nasal" is a word (it occurs in lower case), so it is no NASA.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "Thought to be based in Afghanistan, IS-K has grown.\nISKP claimed the attack.\nISIS-K recruits widely.\n"
        "NASA launched a probe.\nThe nasal spray sold well.\nThe IPCC and the ICC met.\n", encoding="utf-8")
    index = CorpusIndex(corpus, settings, embedder=HashingEmbedder())
    index.sync()
    from qa.features import QuestionTerms
    from qa.retrieval import acronyms_in
    from qa.text import stem, words

    retriever = QAEngine(index)._snapshot()
    assert retriever.aliases("iskp") == {"is-k"}
    assert retriever.aliases("is-k") == {"iskp", "isis-k"}
    assert retriever.aliases("nasa") == frozenset()
    assert retriever.aliases("ipcc") == frozenset()  # two plain acronyms are two names; a hyphen marks a variant
    assert acronyms_in("Where is ISKP based? Ask the UN.") == ["iskp"]  # two letters are too few
    # The evidence features count a sentence naming IS-K as covering the question's ISKP.
    q = QuestionTerms.of("Where is ISKP based?", retriever.idf, retriever.aliases)
    present = {stem(w) for w in words("Thought to be based in Afghanistan, IS-K has grown.")}
    assert q.coverage(present) == 1.0
    assert QuestionTerms.of("Where is ISKP based?", retriever.idf).coverage(present) < 1.0
