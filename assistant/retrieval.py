"""Dense (Chroma), lexical (BM25) and hybrid retrieval.

Hybrid fuses the two per document, by score (the default) or by reciprocal rank; which mode
and fusion are the default was decided on the dev set (see README), and all stay available
through ``Settings``. The chunk table is held in memory for BM25, article look-ups and
reading a whole document.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import bm25s
import numpy as np
import yaml

from assistant.embedding import Embedder
from assistant.settings import Settings
from assistant.store import Store
from assistant.text import detect_language, stopwords, tokens, words


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
            corpus = [tokens(_lexical_text(t, m)) or ["_"]
                      for t, m in zip(self.texts, self.metas, strict=True)]
            self.bm25.index(corpus, show_progress=False)
            self.vocab = {w for doc in corpus for w in doc}
            self.idf = idf_table(corpus)

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval
        if not self.ids:
            return []
        vector = self.embedder.encode_query(query)
        similarity = self.vectors @ vector
        lexical = self._bm25(query)
        depth = max(8 * k, 40)
        dense = self.store.query(vector.tolist(), depth) if mode != "bm25" else []
        order = np.argsort(-lexical)[:depth]
        lex = [(self.ids[i], float(lexical[i])) for i in order if lexical[i] > 0]
        # One passage per document: a card's many ways of asking must not crowd out the rest.
        if mode == "dense":
            ranked = self._best_per_doc(dense)[:k]
        elif mode == "bm25":
            ranked = self._best_per_doc(lex)[:k]
        else:
            best_dense, best_lex = self._best_per_doc(dense), self._best_per_doc(lex)
            if self.settings.fusion == "rrf":
                fused = reciprocal_rank_fusion(
                    [[self._doc(c) for c, _ in r] for r in (best_dense, best_lex)],
                    self.settings.rrf_k)
            else:
                # A document only BM25 found is scored by its lexical passage's similarity.
                dense_scores = {self._doc(c): float(similarity[self.position[c]])
                                for c, _ in best_lex[::-1]}
                dense_scores.update({self._doc(c): x for c, x in best_dense})
                fused = score_fusion(dense_scores, {self._doc(c): x for c, x in best_lex},
                                     self.settings.lexical_weight)
            # Each document brings its best dense and its best lexical passage.
            chunks: dict[str, list[str]] = {}
            for c, _ in best_dense + best_lex:
                chunks.setdefault(self._doc(c), []).append(c)
            ranked = [(c, score) for doc, score in fused[:k] for c in dict.fromkeys(chunks[doc])]
        hits = []
        for cid, score in ranked:
            i = self.position[cid]
            hits.append(Hit(cid, self.texts[i], self.metas[i], float(similarity[i]),
                            float(lexical[i]), float(score)))
        return hits

    def _doc(self, chunk_id: str) -> str:
        return str(self.metas[self.position[chunk_id]]["doc_id"])

    def _best_per_doc(self, ranking: list[tuple[str, float]]) -> list[tuple[str, float]]:
        seen: set[str] = set()
        kept = []
        for cid, score in ranking:
            doc = self._doc(cid)
            if doc not in seen:
                seen.add(doc)
                kept.append((cid, score))
        return kept

    def _hit(self, i: int, score: float = 1.0) -> Hit:
        return Hit(self.ids[i], self.texts[i], self.metas[i], 1.0, 0.0, score)

    def by_article(self, label: str) -> list[Hit]:
        """Chunks of official texts whose article is ``label`` or lies inside it
        ("PP 94/2021 Pasal 5" holds "PP 94/2021 Pasal 5 huruf n angka 2")."""
        found = [i for i, meta in enumerate(self.metas)
                 if (a := str(meta.get("article") or "")) == label or a.startswith(label + " ")]
        found.sort(key=lambda i: (self._doc(self.ids[i]), int(self.metas[i]["chunk_index"])))
        return [self._hit(i) for i in found]

    def doc_hits(self, like: Hit) -> list[Hit]:
        """Every chunk of ``like``'s document, in order, scored as ``like`` was."""
        return [
            Hit(self.ids[i], self.texts[i], self.metas[i], like.similarity, like.lexical,
                like.score)
            for i in self._chunks_of(like.doc_id)
        ]

    def section_texts(self, doc_id: str, section: str) -> list[str]:
        return [self.texts[i] for i in self._chunks_of(doc_id)
                if self.metas[i].get("section") == section]

    def _chunks_of(self, doc_id: str) -> list[int]:
        """Positions of a document's chunks in reading order (the store keeps no order)."""
        found = [i for i, m in enumerate(self.metas) if m["doc_id"] == doc_id]
        return sorted(found, key=lambda i: int(self.metas[i]["chunk_index"]))

    def unknown_names(self, question: str, lang: str) -> list[str]:
        """Names in the question that no passage mentions: capitalised words after the first
        (for English questions only acronyms, since any English word is unknown here)."""
        found = []
        for i, word in enumerate(_NAME.findall(question)):
            word = re.sub(r"-(nya|ku|mu)$", "", word)
            if i == 0 or not word[0].isupper() or word.lower() in stopwords():
                continue
            if lang == "en" and not (word.isupper() and len(word) >= 2):
                continue
            if not set(tokens(word)) <= self.vocab:
                found.append(word)
        return found

    def _bm25(self, query: str) -> np.ndarray:
        terms = [t for t in tokens(query) if t in self.vocab]
        if detect_language(query) == "en":
            glossary = english_glossary()
            terms += [t for w in words(query) for t in glossary.get(w, []) if t in self.vocab]
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    """Fuse rankings by summing 1 / (k + rank): blind to the two scores' scales."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def score_fusion(dense: dict[str, float], lexical: dict[str, float], weight: float
                 ) -> list[tuple[str, float]]:
    """Cosine similarity plus ``weight`` times the BM25 score relative to the best one.

    e5 similarities of relevant documents sit within a few hundredths of each other, so
    their ranks say little, while a clear BM25 winner says a lot: rank fusion loses exactly
    that. ``dense`` must score every document in ``lexical`` too."""
    top = max(lexical.values(), default=0.0) or 1.0
    fused = {d: dense[d] + weight * lexical.get(d, 0.0) / top for d in dense}
    return sorted(fused.items(), key=lambda kv: kv[1], reverse=True)


def _lexical_text(text: str, meta: dict[str, Any]) -> str:
    return " ".join(str(x) for x in (meta.get("title"), meta.get("section"), text) if x)


@lru_cache(maxsize=1)
def english_glossary() -> dict[str, list[str]]:
    """English word -> Indonesian tokens (data/glossary_en_id.yaml), for lexical matching
    of English questions against Indonesian passages."""
    path = resources.files("assistant.data").joinpath("glossary_en_id.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(en).lower(): [t for w in ids for t in tokens(str(w))] for en, ids in data.items()}


def idf_table(chunk_tokens: list[list[str]]) -> dict[str, float]:
    """Inverse document frequency of each token over the chunks (weights matched words)."""
    df: dict[str, int] = {}
    for toks in chunk_tokens:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    n = max(len(chunk_tokens), 1)
    return {t: math.log(1 + n / c) for t, c in df.items()}


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9/-]*")
_REG = re.compile(
    r"\b(UU|PP|Perpres|Permen\w*|Perpu|Perppu|SE)\s*(?:Nomor|No\.?)?\s*(\d+)\s*"
    r"(?:/|tahun|th\.?|thn)\s*(\d{4})", re.I)
_KIND_ALIASES = {"undang-undang": "UU", "peraturan pemerintah": "PP",
                 "peraturan presiden": "Perpres"}
_ARTICLE = re.compile(
    r"\bpasal\s+(\d+)(?:\s+ayat\s*\(?(\d+)\)?)?(?:\s+huruf\s+([a-z])\b)?"
    r"(?:\s+angka\s+(\d+))?", re.I)


def _short_kinds(question: str) -> str:
    """The question with "Peraturan Pemerintah" written "PP", and so on."""
    for long, short in _KIND_ALIASES.items():
        question = re.sub(long, short, question, flags=re.I)
    return question


def mentions_regulation(question: str) -> bool:
    """Whether a question names a regulation ("PP 37/2004", "UU Nomor 20 Tahun 2023")."""
    text = _short_kinds(question)
    return bool(_REG.search(text) or re.search(r"\b(SKB|SE MenPANRB|Perpres)\b", text, re.I))


def article_reference(question: str) -> str | None:
    """The article a question names, as a citation label ("PP 94/2021 Pasal 14"), if any."""
    text = _short_kinds(question)
    reg, art = _REG.search(text), _ARTICLE.search(text)
    if not reg or not art:
        return None
    kind = reg.group(1).upper() if reg.group(1).upper() in {"UU", "PP", "SE"} else reg.group(1)
    label = f"{kind} {int(reg.group(2))}/{reg.group(3)} Pasal {int(art.group(1))}"
    if art.group(2):
        label += f" ayat ({art.group(2)})"
    if art.group(3):
        label += f" huruf {art.group(3).lower()}"
    if art.group(4):
        label += f" angka {art.group(4)}"
    return label
