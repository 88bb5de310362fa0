"""The Chroma vector store and incremental indexing.

The store is a persistent Chroma database under ``index/`` or, when ``chroma_host`` is set,
a Chroma server. Vectors always come from the project's own ``Embedder``; the collection
has no embedding function, so Chroma's downloading default can never be used.

The manifest (embedding model and chunking settings) lives in the collection's metadata,
so it travels with the data to a server. Each chunk records its document's fingerprint
and chunk count: a document is re-embedded when either no longer matches, which also
repairs a document left half-written by an interrupted run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import chromadb
from chromadb.api.models.Collection import Collection

from assistant.chunking import Chunk, chunk_document
from assistant.documents import Document
from assistant.embedding import Embedder
from assistant.settings import Settings

MANIFEST_VERSION = 1


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    rebuilt: str = ""  # why the whole index was rebuilt, if it was

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.changed)} changed",
            f"{len(self.removed)} removed",
            f"{self.unchanged} unchanged",
            f"{self.chunks} chunks in the index",
        ]
        text = ", ".join(parts)
        return f"Rebuilt ({self.rebuilt}): {text}" if self.rebuilt else text


def open_client(settings: Settings) -> Any:
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir / "chroma"),
                                     settings=chroma_settings)


def manifest_for(settings: Settings, embedder_signature: str) -> dict[str, Any]:
    return {"version": MANIFEST_VERSION, "embedding": embedder_signature,
            "chunking": settings.chunking}


class Store:
    """One Chroma collection of chunks."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.client = client or open_client(settings)
        self.collection = self._collection()

    def _collection(self) -> Collection:
        return self.client.get_or_create_collection(
            self.settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    @property
    def manifest(self) -> dict[str, Any]:
        raw = (self.collection.metadata or {}).get("manifest")
        return json.loads(raw) if raw else {}

    def count(self) -> int:
        return self.collection.count()

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the ``k`` nearest chunks."""
        if not self.count():
            return []
        res = self.collection.query(query_embeddings=[vector], n_results=k,
                                    include=["distances"])
        return [(i, 1.0 - d) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def sync(
        self,
        documents: list[Document],
        embedder: Embedder,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncReport:
        """Bring the collection in line with ``documents``, embedding only what changed."""
        report = SyncReport()
        wanted = manifest_for(self.settings, embedder.signature)
        current = self.manifest
        if current and current != wanted:
            changed = [k for k in ("embedding", "chunking", "version")
                       if current.get(k) != wanted.get(k)]
            report.rebuilt = f"{' and '.join(changed)} changed"
            self.client.delete_collection(self.settings.collection)
            self.collection = self._collection()
        if current != wanted:
            self.collection.modify(metadata={"manifest": json.dumps(wanted, sort_keys=True)})

        indexed = self._indexed_documents()
        by_id = {doc.id: doc for doc in documents}
        for doc_id in sorted(set(indexed) - set(by_id)):
            self.collection.delete(where={"doc_id": doc_id})
            report.removed.append(doc_id)

        todo: list[tuple[Document, list[Chunk]]] = []
        for doc in documents:
            if indexed.get(doc.id) == doc.fingerprint:
                report.unchanged += 1
                continue
            chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
            todo.append((doc, chunks))
            (report.changed if doc.id in indexed else report.added).append(doc.id)

        # Embedded and written a few documents at a time: the progress shows, and a run that
        # stops keeps what it finished (a document is written whole or found incomplete).
        total = sum(len(chunks) for _, chunks in todo)
        done = 0
        for batch in _batches(todo, EMBED_BATCH):
            texts = [c.embed_text for _, chunks in batch for c in chunks]
            vectors = embedder.encode_passages(texts).tolist()
            offset = 0
            for doc, chunks in batch:
                if doc.id in indexed:
                    self.collection.delete(where={"doc_id": doc.id})
                n = len(chunks)
                self.collection.add(
                    ids=[c.id for c in chunks],
                    embeddings=vectors[offset:offset + n],
                    documents=[c.text for c in chunks],
                    metadatas=[c.metadata for c in chunks],
                )
                offset += n
            done += len(texts)
            if progress:
                progress(done, total)
        report.chunks = self.count()
        return report

    def _indexed_documents(self) -> dict[str, str]:
        """doc id -> fingerprint of its chunks; "" when they are incomplete or mixed."""
        got = self.collection.get(include=["metadatas"])
        seen: dict[str, tuple[set[str], int, int]] = {}
        for meta in got["metadatas"] or []:
            hashes, found, expected = seen.get(meta["doc_id"], (set(), 0, int(meta["n_chunks"])))
            seen[meta["doc_id"]] = (hashes | {str(meta["doc_hash"])}, found + 1, expected)
        return {
            doc_id: next(iter(hashes)) if len(hashes) == 1 and found == expected else ""
            for doc_id, (hashes, found, expected) in seen.items()
        }


EMBED_BATCH = 64  # chunks embedded and written together


def _batches(todo: list[tuple[Document, list[Chunk]]], size: int
             ) -> list[list[tuple[Document, list[Chunk]]]]:
    """Whole documents grouped until a group holds about ``size`` chunks."""
    groups: list[list[tuple[Document, list[Chunk]]]] = [[]]
    count = 0
    for item in todo:
        if groups[-1] and count + len(item[1]) > size:
            groups.append([])
            count = 0
        groups[-1].append(item)
        count += len(item[1])
    return [g for g in groups if g]
