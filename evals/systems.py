"""The systems compared side by side: the full pipeline and three baselines.

- ``full``: hybrid retrieval (dense + BM25) with sentence evidence (the product).
- ``bm25``: the same answerer on BM25 retrieval alone.
- ``dense``: the same answerer on dense retrieval alone.
- ``generative``: the full pipeline with the LLM of ``DOCQA_LLM`` writing the answer (its
  sentences checked against the quotes; the extractive answer when nothing checks out).
- ``llamaindex``: a plain llama-index ``VectorStoreIndex`` with default settings (default
  ``SentenceSplitter`` chunking, in-memory vector store) and the same embedding model; it
  answers with the top chunk's text and cites the chunk's first line. It never abstains.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from index import CorpusIndex, Embedder, Settings
from qa import Answer, Citation, QAEngine, RetrievedChunk, Timings, make_llm, with_llm

SYSTEMS = ("full", "bm25", "dense", "llamaindex", "generative")


class System(Protocol):
    """Anything that answers a question given the conversation so far."""

    name: str

    def answer(self, question: str, history: list[Answer]) -> Answer: ...


class PipelineSystem:
    """The docqa answerer, with a chosen retrieval mode (and optionally an LLM writing the answer)."""

    def __init__(self, name: str, index: CorpusIndex, mode: str, llm: Any = None) -> None:
        self.name = name
        self.engine = with_llm(QAEngine(index, mode=mode), llm)  # type: ignore[arg-type]

    def answer(self, question: str, history: list[Answer]) -> Answer:
        return self.engine.answer(question, history)


def _llama_embedding(embedder: Embedder) -> Any:
    """Our embedder as a llama-index ``BaseEmbedding`` (so the baseline uses the same model)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    class _Wrapped(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return [float(x) for x in embedder.embed([query])[0]]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return [float(x) for x in embedder.embed([text])[0]]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in embedder.embed(texts)]

    return _Wrapped(model_name=embedder.name, embed_batch_size=64)


class LlamaIndexBaseline:
    """Plain ``VectorStoreIndex`` over the corpus; top chunk as the answer, its first line as the citation."""

    name = "llamaindex"

    def __init__(self, corpus: Path, embedder: Embedder, top_k: int = 5) -> None:
        import logging

        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

        # Plain .txt/.md need no optional reader package; silence its "not found" notice.
        logging.getLogger("llama_index.core.readers.file.base").setLevel(logging.ERROR)
        self.corpus = corpus.resolve()
        docs = SimpleDirectoryReader(
            input_dir=str(self.corpus), recursive=True, required_exts=[".txt", ".md"], filename_as_id=True
        ).load_data(show_progress=False)
        self._texts = {d.metadata["file_path"]: d.text for d in docs}
        index = VectorStoreIndex.from_documents(docs, embed_model=_llama_embedding(embedder), show_progress=False)
        self._retriever = index.as_retriever(similarity_top_k=top_k)

    def _lines_of(self, node: Any) -> tuple[str, int, int]:
        path = node.metadata["file_path"]
        text = self._texts[path]
        start = node.start_char_idx or 0
        end = node.end_char_idx or start
        rel = Path(path).resolve().relative_to(self.corpus).as_posix()
        return rel, text.count("\n", 0, start) + 1, text.count("\n", 0, max(start, end - 1)) + 1

    def answer(self, question: str, history: list[Answer]) -> Answer:
        t0 = time.perf_counter()
        nodes = self._retriever.retrieve(question)
        retrieved = []
        for n in nodes:
            rel, first, last = self._lines_of(n.node)
            retrieved.append(RetrievedChunk(chunk_id=n.node.node_id, file=rel, first_line=first, last_line=last,
                                            text=n.node.get_content(), dense_score=n.score, fused_score=float(n.score or 0)))
        citations = []
        if retrieved:
            top = retrieved[0]
            line_text = self._texts[nodes[0].node.metadata["file_path"]].split("\n")[top.first_line - 1].rstrip("\r")
            if line_text.strip():
                citations = [Citation(file=top.file, line=top.first_line, quote=line_text, start=0, end=len(line_text), score=top.fused_score)]
        ms = (time.perf_counter() - t0) * 1000
        return Answer(
            question=question, standalone_question=question, text=retrieved[0].text if retrieved else "",
            citations=citations, abstained=False, evidence_score=retrieved[0].fused_score if retrieved else 0.0,
            threshold=0.0, retrieved=retrieved, timings=Timings(total_ms=round(ms, 3)), corpus=str(self.corpus),
        )


def build_systems(corpus: Path, settings: Settings, names: list[str]) -> list[System]:
    """The named systems over one corpus; the pipeline variants share one index."""
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        from index import DocqaError

        raise DocqaError(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    index = CorpusIndex(corpus, settings)
    index.sync()
    modes = {"full": "hybrid", "bm25": "bm25", "dense": "dense"}
    systems: list[System] = []
    for name in names:
        if name == "llamaindex":
            systems.append(LlamaIndexBaseline(corpus, index.embedder))
        elif name == "generative":
            llm = make_llm(settings)
            if llm is None:
                from index import DocqaError

                raise DocqaError("the generative system needs an LLM: set DOCQA_LLM (e.g. DOCQA_LLM=llamacpp, see README)")
            systems.append(PipelineSystem(name, index, "hybrid", llm))
        else:
            systems.append(PipelineSystem(name, index, modes[name]))
    return systems
