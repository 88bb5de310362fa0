"""Dense (Chroma), lexical (BM25) and hybrid retrieval.

Hybrid fuses the two per document, by score (the default) or by reciprocal rank; which mode
and fusion are the default was decided on the dev set (see README), and all stay available
through ``Settings``. The chunk table (texts and metadata) is held in memory for article
look-ups and reading a whole document; vectors only for the trusted documents, which decide
answers: the dense search is the store's own index, and any other chunk's vector is read
from the store when an answer needs it. The BM25 index is saved beside the store and loaded,
not rebuilt, at the next start (README, "Scale").
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from assistant import text as text_module
from assistant.chunking import stored_sentences
from assistant.embedding import Embedder
from assistant.settings import Settings
from assistant.store import Store
from assistant.text import tokens
from assistant.understand import Question, english_glossary


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


class Similarity:
    """The question's cosine similarity to chunks, by position: the trusted chunks' computed
    at once from the vectors the retriever holds, the nearest others' taken from the store's
    search, and any other's from its stored vector when first asked for. One question's,
    used by one thread."""

    def __init__(self, vector: np.ndarray, known: dict[int, float],
                 fetch: Callable[[list[int]], np.ndarray]) -> None:
        self.vector = vector
        self._known = known
        self._fetch = fetch

    def learn(self, position: int, value: float) -> None:
        self._known.setdefault(position, value)

    def of(self, positions: Sequence[int]) -> list[float]:
        missing = list(dict.fromkeys(i for i in positions if i not in self._known))
        if missing:
            self._known.update(zip(missing, (self._fetch(missing) @ self.vector).tolist(),
                                   strict=True))
        return [self._known[i] for i in positions]


@dataclass
class Retrieval:
    """The outcome of one search: the hits, and the question's vector and similarity to the
    chunks, which deciding and quoting reuse instead of embedding the question again."""

    hits: list[Hit]
    vector: np.ndarray | None = None
    similarity: Similarity | None = None


class Retriever:
    """Loads the chunk table once; each ``search`` embeds the question once."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.ids, self.texts, self.metas = self._chunk_table()
        self.position = {cid: i for i, cid in enumerate(self.ids)}
        # Vectors of the trusted documents' chunks, which every decision compares.
        self._held = [i for i, m in enumerate(self.metas) if m.get("trusted")]
        self._held_vectors = store.vectors([self.ids[i] for i in self._held])
        # The stored vectors of the trusted chunks' quotable sentences, which rule answers
        # quote (read once: asking the store for them per answer slowed 50 users at once),
        # and of any other sentence quoted before, shared by concurrent answers under a lock.
        self._held_sentences = store.sentence_vectors(stored_sentences(
            (self.texts[i], self.metas[i]) for i in self._held))
        self._sentence_cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()
        self._terms: dict[str, set[str]] = {}
        self._positions: dict[str, list[int]] = {}
        for i, meta in enumerate(self.metas):
            self._positions.setdefault(str(meta["doc_id"]), []).append(i)
        for found in self._positions.values():
            found.sort(key=lambda i: int(self.metas[i]["chunk_index"]))
        # Only the chunks of official texts carry an article: a short list to scan.
        self._articles = [(str(m["article"]), i) for i, m in enumerate(self.metas)
                          if m.get("article")]
        self._doc_meta = {doc: json.loads(str(self.metas[found[0]].get("doc_meta") or "{}"))
                          for doc, found in self._positions.items()}
        self._trusted = {doc for doc, found in self._positions.items()
                         if self.metas[found[0]].get("trusted")}
        self.bm25 = bm25s.BM25()
        self.vocab: set[str] = set()
        self.idf: dict[str, float] = {}
        if self.ids:
            self._lexical_index()

    def _chunk_table(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """The store's chunk table, from a copy beside the index made under the store's
        current revision: reading the table from Chroma took 1.1 s at 10k chunks and grows
        with them, a first start at 100k chunks 20 s against 4.5 s from the copy (README,
        "Scale"). A copy is made only when the revision did not change while
        the table was read."""
        path = self.settings.index_dir / "chunks.json"
        revision = self.revision = self.store.revision()
        if revision:
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                if saved["revision"] == revision:
                    return saved["ids"], saved["texts"], saved["metas"]
            except (OSError, ValueError, KeyError, TypeError):
                pass
        ids, texts, metas = self.store.chunk_table()
        if revision and self.store.revision() == revision:
            partial = path.with_name(path.name + ".partial")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps({"revision": revision, "ids": ids,
                                               "texts": texts, "metas": metas},
                                              ensure_ascii=False), encoding="utf-8")
                partial.replace(path)
            except OSError:  # a folder that cannot be written: read from the store again
                partial.unlink(missing_ok=True)
        return ids, texts, metas

    def _lexical_index(self) -> None:
        """BM25 over every chunk: loaded from beside the store when it was saved for these
        very chunks (and this tokeniser), else built and saved (a few seconds at 100k
        chunks, README "Scale")."""
        key = hashlib.sha1(Path(text_module.__file__).read_bytes())
        for cid, meta in zip(self.ids, self.metas, strict=True):
            key.update(f"{cid}\t{meta.get('doc_hash', '')}\n".encode())
        folder = self.settings.index_dir / "bm25"
        try:
            if json.loads((folder / "key.json").read_text("utf-8"))["key"] != key.hexdigest():
                raise ValueError("saved for other chunks")
            self.bm25 = bm25s.BM25.load(str(folder), mmap=True)
        except (OSError, ValueError, KeyError):
            corpus = [tokens(_lexical_text(t, m)) or ["_"]
                      for t, m in zip(self.texts, self.metas, strict=True)]
            self.bm25.index(corpus, show_progress=False)
            _save_bm25(self.bm25, folder, key.hexdigest())
        # Inverse document frequency from the index's own counts (chunks holding a token);
        # bm25s's vocabulary also names an empty token that no chunk holds.
        df = np.diff(np.asarray(self.bm25.scores["indptr"]))
        n = max(len(self.ids), 1)
        self.idf = {t: math.log(1 + n / int(df[j])) for t, j in self.bm25.vocab_dict.items()
                    if j < len(df) and df[j]}
        self.vocab = set(self.idf)

    def _fetch(self, positions: list[int]) -> np.ndarray:
        return self.store.vectors([self.ids[i] for i in positions])

    def search_all(self, questions: list[Question]) -> list[Retrieval]:
        """``search`` for each question, their vectors computed together."""
        if not self.ids:
            return [Retrieval([]) for _ in questions]
        vectors = self.embedder.encode_queries([q.query for q in questions])
        return [self.search(q, vector=v) for q, v in zip(questions, vectors, strict=True)]

    def search(self, q: Question, k: int | None = None, mode: str | None = None,
               vector: np.ndarray | None = None) -> Retrieval:
        """The best passages for a question, one or two per document, best document first.
        A question about the rules is searched in the trusted documents only: a document
        someone added may be quoted for a fact, never decide a rule. ``vector``: the
        question's, when already computed."""
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval
        if not self.ids:
            return Retrieval([])
        if vector is None:
            vector = self.embedder.encode_query(q.query)
        held = (self._held_vectors @ vector).tolist() if self._held else []
        similarity = Similarity(vector, dict(zip(self._held, held, strict=True)), self._fetch)
        lexical = self._bm25(q.terms)
        depth = max(8 * k, 40)
        dense = self.store.query(vector.tolist(), depth) if mode != "bm25" else []
        # Chunks another process added since this table was read (an app instance on the
        # same Chroma server) wait for the next refresh (chat.py); removed ones are no longer
        # found here, and similar to nothing when BM25 finds them (store.vectors).
        dense = [(c, x) for c, x in dense if c in self.position]
        for c, x in dense:
            similarity.learn(self.position[c], x)
        if mode != "bm25" and self._held:
            # The trusted chunks' nearest, exactly, from the similarities just computed:
            # Chroma's approximate search missed 82 of the dev questions' 30,680 nearest
            # chunks, now and then the very nearest, and not the same ones from one process
            # start to the next; the chunks that decide rules must not depend on that.
            exact = {self.ids[self._held[i]]: held[i]
                     for i in np.argsort(-np.asarray(held), kind="stable")[:depth]}
            found = [c for c, _ in dense]  # with the held chunks' exact similarity too
            merged = dict(zip(found, similarity.of([self.position[c] for c in found]),
                              strict=True))
            dense = sorted({**merged, **exact}.items(), key=lambda cx: (-cx[1], cx[0]))
        order = np.argsort(-lexical)[:depth]
        lex = [(self.ids[i], float(lexical[i])) for i in order if lexical[i] > 0]
        # One passage per document: a card's many ways of asking must not crowd out the rest.
        if not q.open_to_any_document:
            dense = [(c, x) for c, x in dense if self._doc(c) in self._trusted]
            lex = [(c, x) for c, x in lex if self._doc(c) in self._trusted]
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
                lex_sims = similarity.of([self.position[c] for c, _ in best_lex])
                dense_scores = {self._doc(c): x for (c, _), x in
                                reversed(list(zip(best_lex, lex_sims, strict=True)))}
                dense_scores.update({self._doc(c): x for c, x in best_dense})
                fused = score_fusion(dense_scores, {self._doc(c): x for c, x in best_lex},
                                     self.settings.lexical_weight)
            # Each document brings its best dense and its best lexical passage.
            chunks: dict[str, list[str]] = {}
            for c, _ in best_dense + best_lex:
                chunks.setdefault(self._doc(c), []).append(c)
            ranked = [(c, score) for doc, score in fused[:k] for c in dict.fromkeys(chunks[doc])]
        hits = []
        sims = similarity.of([self.position[cid] for cid, _ in ranked])
        for (cid, score), sim in zip(ranked, sims, strict=True):
            i = self.position[cid]
            hits.append(Hit(cid, self.texts[i], self.metas[i], sim, float(lexical[i]),
                            float(score)))
        return Retrieval(hits, vector, similarity)

    def doc_ids(self) -> list[str]:
        return list(self._doc_meta)

    def passage(self, chunk_id: str) -> str:
        """The text of a passage by its id ("" for one the index does not hold)."""
        i = self.position.get(chunk_id)
        return self.texts[i] if i is not None else ""

    def documents(self) -> list[dict[str, Any]]:
        """What the index holds, a row per document: id, title, type, date, chunks."""
        return [{"id": d, "title": str(m.get("title", "")), "type": str(m.get("type", "")),
                 "date": str(m.get("date", "")), "chunks": len(self._positions.get(d, []))}
                for d, m in sorted(self._doc_meta.items())]

    def doc_meta(self, doc_id: str) -> dict[str, Any]:
        """The front matter of a document (rule cards carry their verdict, basis, ...)."""
        return self._doc_meta.get(doc_id, {})

    def best_chunk(self, doc_id: str, similarity: Similarity) -> Hit:
        """A document's chunk closest to the question, as a hit."""
        positions = self._chunks_of(doc_id)
        i, sim = max(zip(positions, similarity.of(positions), strict=True), key=lambda p: p[1])
        return Hit(self.ids[i], self.texts[i], self.metas[i], sim, 0.0, sim)

    def doc_similarity(self, doc_id: str, similarity: Similarity,
                       sections: tuple[str, ...] | None = None) -> float:
        """The best similarity of the question to a document's chunks (optionally only to
        those of some sections, such as a card's ways of asking)."""
        found = [i for i in self._chunks_of(doc_id)
                 if sections is None or str(self.metas[i].get("section", "")).lower() in sections]
        return max(similarity.of(found), default=0.0)

    def doc_terms(self, doc_id: str) -> set[str]:
        """Every lexical token of a document (title and sections included), tokenised when
        first asked for."""
        terms = self._terms.get(doc_id)
        if terms is None:
            terms = {t for i in self._chunks_of(doc_id)
                     for t in tokens(_lexical_text(self.texts[i], self.metas[i]))}
            self._terms[doc_id] = terms  # concurrent answers may both compute it: harmless
        return terms

    def sentence_vectors(self, sentences: list[str]) -> np.ndarray:
        """Passage vectors of sentences: quoting compares them with the question. They come
        from a cache, else from the index, else are embedded. Concurrent answers share the
        cache: it is read and trimmed under a lock (a trim must not drop a vector another
        answer is about to read), the store and the embedding are asked outside it."""
        known = {s: self._held_sentences[s] for s in sentences if s in self._held_sentences}
        with self._cache_lock:
            known.update((s, self._sentence_cache[s]) for s in sentences
                         if s in self._sentence_cache)
        new = [s for s in dict.fromkeys(sentences) if s not in known]
        if new:
            found = self.store.sentence_vectors(new)
            rest = [s for s in new if s not in found]
            if rest:
                found.update(zip(rest, self.embedder.encode_passages(rest), strict=True))
            known.update(found)
            with self._cache_lock:
                self._sentence_cache.update(found)
                while len(self._sentence_cache) > 20_000:
                    self._sentence_cache.pop(next(iter(self._sentence_cache)))
        return np.stack([known[s] for s in sentences]) if sentences else \
            np.zeros((0, 1), np.float32)

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
        found = [i for a, i in self._articles if a == label or a.startswith(label + " ")]
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
        """Positions of a document's chunks in reading order (the store keeps none)."""
        return self._positions.get(doc_id, [])

    def unknown_names(self, q: Question) -> list[str]:
        """The names a question uses that no passage mentions ("TNI-Polri" is two)."""
        glossary = english_glossary()

        def known(token: str) -> bool:
            return token in self.vocab or any(t in self.vocab for t in glossary.get(token, ()))

        return [name for name in q.names
                if not all(known(t) for part in re.split(r"[-/]", name) if part
                           for t in tokens(part))]

    def _bm25(self, query_terms: tuple[str, ...]) -> np.ndarray:
        terms = [t for t in query_terms if t in self.vocab]
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


def _save_bm25(bm25: bm25s.BM25, folder: Path, key: str) -> None:
    """Save the BM25 index whole or not at all (the key is written last); a folder that
    cannot be written only means building it again at the next start."""
    partial = folder.with_name(folder.name + ".partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        bm25.save(str(partial))
        (partial / "key.json").write_text(json.dumps({"key": key}), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)


def _lexical_text(text: str, meta: dict[str, Any]) -> str:
    return " ".join(str(x) for x in (meta.get("title"), meta.get("section"), text) if x)
