"""Dense (Chroma), lexical (BM25) and hybrid retrieval fused by reciprocal rank.

Which mode is the default was decided on the dev set (see README); all three stay
available through ``Settings.retrieval``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np

from assistant.embedding import Embedder
from assistant.settings import Settings
from assistant.store import Store
from assistant.text import tokens


@dataclass
class Hit:
    """A retrieved chunk with the evidence for it."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    similarity: float  # cosine between the question and the chunk (dense evidence)
    lexical: float  # BM25 score (lexical evidence)
    score: float  # the score the ranking used

    @property
    def doc_id(self) -> str:
        return str(self.metadata["doc_id"])


class Retriever:
    """Loads the chunk table once; each ``search`` embeds the question once."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        got = store.collection.get(include=["documents", "metadatas", "embeddings"])
        self.ids: list[str] = got["ids"]
        self.texts: list[str] = got["documents"] or []
        self.metas: list[dict[str, Any]] = got["metadatas"] or []
        vectors = got["embeddings"]
        self.vectors = np.asarray(vectors, dtype=np.float32) if len(self.ids) else None
        self.position = {cid: i for i, cid in enumerate(self.ids)}
        self.bm25 = bm25s.BM25()
        self.vocab: set[str] = set()
        self.idf: dict[str, float] = {}
        if self.ids:
            corpus = [tokens(_lexical_text(t, m)) or ["_"] for t, m in zip(self.texts, self.metas)]
            self.bm25.index(corpus, show_progress=False)
            self.vocab = {w for doc in corpus for w in doc}
            self.idf = idf_table(corpus)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval
        if not self.ids:
            return []
        vector = self.embedder.encode_query(query)
        similarity = self.vectors @ vector
        lexical = self._bm25(query)
        depth = max(4 * k, 20)
        if mode == "dense":
            ranked = [(cid, s) for cid, s in self.store.query(vector.tolist(), k)]
        elif mode == "bm25":
            order = np.argsort(-lexical)[:k]
            ranked = [(self.ids[i], float(lexical[i])) for i in order if lexical[i] > 0]
        else:
            dense = [cid for cid, _ in self.store.query(vector.tolist(), depth)]
            order = [self.ids[i] for i in np.argsort(-lexical)[:depth] if lexical[i] > 0]
            ranked = reciprocal_rank_fusion([dense, order], self.settings.rrf_k)[:k]
        hits = []
        for cid, score in ranked:
            i = self.position[cid]
            hits.append(Hit(cid, self.texts[i], self.metas[i], float(similarity[i]),
                            float(lexical[i]), float(score)))
        return hits

    def _bm25(self, query: str) -> np.ndarray:
        terms = [t for t in tokens(query) if t in self.vocab]
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    """Fuse rankings by summing 1 / (k + rank): robust to the two scores' different scales."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def _lexical_text(text: str, meta: dict[str, Any]) -> str:
    return " ".join(str(x) for x in (meta.get("title"), meta.get("section"), text) if x)


def idf_table(chunk_tokens: list[list[str]]) -> dict[str, float]:
    """Inverse document frequency of each token over the chunks (weights matched words)."""
    df: dict[str, int] = {}
    for toks in chunk_tokens:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    n = max(len(chunk_tokens), 1)
    return {t: math.log(1 + n / c) for t, c in df.items()}
