"""A deterministic fake LLM for tests: a llama-index ``CustomLLM`` whose output is a function of the prompt.

It is registered with ``qa.register_llm`` like the real backends, so ``DOCQA_LLM=<name>`` reaches it
through the same settings -> make_llm -> GenerativeEngine path.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from index import CorpusIndex, HashingEmbedder, load_settings
from qa import GenerativeEngine, QAEngine, make_llm


class ScriptedLLM(CustomLLM):
    """Answers every prompt with ``script(prompt)``, streamed word by word; records the prompts it saw."""

    _script: Callable[[str], str] = PrivateAttr()
    _delay: float = PrivateAttr(default=0.0)
    _error: Exception | None = PrivateAttr(default=None)
    _prompts: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, script: Callable[[str], str], delay: float = 0.0, error: Exception | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._script = script
        self._delay = delay
        self._error = error
        self._prompts = []

    @property
    def prompts(self) -> list[str]:
        return self._prompts

    @classmethod
    def class_name(cls) -> str:
        return "ScriptedLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted", is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(r.delta or "" for r in self.stream_complete(prompt, formatted=True)))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        self._prompts.append(prompt)
        if self._error is not None:
            raise self._error
        out = self._script(prompt)

        def gen() -> CompletionResponseGen:
            text = ""
            for piece in re.findall(r"\S+\s*|\s+", out) or [""]:  # an empty answer is one empty chunk, as servers send
                if self._delay:
                    time.sleep(self._delay)
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        return gen()


def last_question(prompt: str) -> str:
    """The question a prompt asks (the last 'Question:' line)."""
    return re.findall(r"^Question: (.*)$", prompt, re.MULTILINE)[-1]


def passages_of(prompt: str) -> dict[str, str]:
    """label -> passage text, for the passages of a prompt (the worked example's guide.txt excluded)."""
    found = re.finditer(r"^\[([^\]]+)\] (.*)$", prompt, re.MULTILINE)
    return {m.group(1): m.group(2) for m in found if not m.group(1).startswith("guide.txt:")}


def careful_reader(prompt: str) -> str:
    """Answers like a careful reader: the passage sharing most words with the question, cited."""
    if "Standalone question:" in prompt.rsplit("\n\n", 1)[-1]:
        return " When was the old bridge built by the Calder company?"
    q = set(last_question(prompt).lower().rstrip("?").split())
    label, text = max(passages_of(prompt).items(), key=lambda kv: len(q & set(kv[1].lower().split())))
    return f" {text.rstrip('.')} [{label}].\nQuestion: this line is past the stop and never read"


def generative_engine(corpus: Path, home: Path, **settings: Any) -> GenerativeEngine:
    """The generative engine over ``corpus`` with the test embedder, the exact store and the LLM ``settings`` name."""
    config = load_settings(home=home, **settings)
    index = CorpusIndex(corpus, config, embedder=HashingEmbedder(), store="numpy")
    index.sync()
    llm = make_llm(config)
    assert llm is not None, "these settings configure no LLM"
    return GenerativeEngine(QAEngine(index), llm)
