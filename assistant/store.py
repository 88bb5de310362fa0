"""The Chroma vector store and incremental indexing.

The store is a persistent Chroma database under ``index/`` or, when ``chroma_host`` is set,
a Chroma server. Vectors always come from the project's own ``Embedder``; the collection
has no embedding function, so Chroma's downloading default can never be used.

Beside the chunks, a second collection keeps the vector of every sentence an answer may
quote (``<collection>-sentences``, keyed by the sentence's hash): quoting compares them with
the question, and embedding them while a user waits cost more than the rest of an answer.
It is a cache: a sentence it lacks is embedded when needed, so it is never wrong, at worst
incomplete (a run that stopped), and the next ``index`` completes it.

The manifest (embedding model and chunking settings) lives in the collection's metadata,
so it travels with the data to a server. Each chunk records its document's fingerprint
and chunk count: a document is re-embedded when either no longer matches, which also
repairs a document left half-written by an interrupted run.

A persistent store is checked before this process opens it (``check_store``): a damaged
file can make Chroma raise deep inside, or crash the process outright (a garbled HNSW
segment segfaults), so the risky part, opening it and a probe query, runs in a child
process. A failed check raises ``StoreDamaged``, whose message names the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.api.models.Collection import Collection

from assistant.chunking import Chunk, chunk_document, stored_sentences
from assistant.documents import Document
from assistant.embedding import Embedder
from assistant.settings import Settings

MANIFEST_VERSION = 2  # 2: each chunk says whether its document is trusted
CHECK_TIMEOUT = 60.0  # seconds the check of a persistent store may take
SERVER_TIMEOUT = 10.0  # seconds a Chroma server has to answer its heartbeat
REBUILD_COMMAND = ".venv/bin/netralitas index --rebuild"
# What the user reads, Indonesian then English like the rest of the command line's errors.
DAMAGED_MESSAGE = (
    "Indeks di {folder} rusak dan tidak dapat dibaca. Bangun ulang dengan: {command}\n"
    "The index in {folder} is damaged and cannot be read. Rebuild it with: {command}\n"
    "({detail})")
UNREACHABLE_MESSAGE = (
    "Server Chroma di {address} tidak dapat dihubungi ({detail}). Jalankan servernya "
    "(chroma run --path FOLDER --port {port}) atau kosongkan NETRALITAS_CHROMA_HOST.\n"
    "The Chroma server at {address} cannot be reached ({detail}). Start it "
    "(chroma run --path FOLDER --port {port}) or unset NETRALITAS_CHROMA_HOST.")


class StoreError(RuntimeError):
    """The store cannot be used; the message says why and what to do."""


class StoreDamaged(StoreError):
    def __init__(self, where: Path | str, detail: str) -> None:
        self.detail = detail
        super().__init__(DAMAGED_MESSAGE.format(folder=where, detail=detail,
                                                command=REBUILD_COMMAND))


class StoreUnreachable(StoreError):
    def __init__(self, settings: Settings, detail: str) -> None:
        self.detail = detail
        address = f"{settings.chroma_host}:{settings.chroma_port}"
        super().__init__(UNREACHABLE_MESSAGE.format(address=address, detail=detail,
                                                    port=settings.chroma_port))


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
    return chromadb.PersistentClient(path=str(store_folder(settings)),
                                     settings=chroma_settings)


def store_folder(settings: Settings) -> Path:
    """Where the persistent store keeps its files."""
    return settings.index_dir / "chroma"


# The check, run by a fresh interpreter that imports only chromadb (about a second), of the
# chunks' collection and the sentences' beside it. It prints the problem it found ("" for
# none) as JSON; a Chroma error exits with it on stderr, a crash with a signal. Each sampled
# item's own vector must find it: a lost vector index fails that, while the count alone
# comes from the SQLite file. The query asks for many items (every one of a small store),
# since HNSW's usual beam can miss a lone chunk among many alike (seen in the tests).
_PROBE = """
import json, sys
import chromadb
folder, collections = sys.argv[1], sys.argv[2:]
client = chromadb.PersistentClient(path=folder,
                                   settings=chromadb.Settings(anonymized_telemetry=False))
problem = ""
names = {c.name for c in client.list_collections()}
for what in collections:
    if what not in names or problem:
        continue
    col = client.get_collection(what)
    count, expected = col.count(), (col.metadata or {}).get("chunks", -1)
    if expected >= 0 and count != expected:
        problem = f"it holds {count} chunks where its manifest says {expected}"
    for offset in sorted({0, count // 2, count - 1}) if count and not problem else []:
        got = col.get(limit=1, offset=offset, include=["embeddings"])
        near = col.query(query_embeddings=got["embeddings"], n_results=min(count, 1000),
                         include=[])
        if got["ids"][0] not in near["ids"][0]:
            problem = f"{what} item {got['ids'][0]} is missing from its vector index"
            break
print(json.dumps({"problem": problem}))
"""
_check_lock = threading.RLock()
_sound: set[str] = set()  # stores this process checked (or created): never checked again
_running: dict[str, subprocess.Popen[str]] = {}


def start_check(settings: Settings) -> None:
    """Begin checking the persistent store in a child process, so that it runs while the
    caller loads the model; ``check_store`` waits for it. Nothing to do for a server, a
    store not built yet, or one this process has checked."""
    folder = store_folder(settings)
    key = str(folder.resolve())
    with _check_lock:
        if (settings.chroma_host or key in _sound or key in _running
                or not (folder / "chroma.sqlite3").exists()):
            return
        _running[key] = subprocess.Popen(
            [sys.executable, "-c", _PROBE, str(folder), settings.collection,
             sentences_name(settings)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_store(settings: Settings, timeout: float = CHECK_TIMEOUT) -> None:
    """Raise ``StoreDamaged`` when the persistent store cannot be read (``StoreUnreachable``
    when a Chroma server does not answer). Each store is checked once per process."""
    if settings.chroma_host:
        _check_server(settings)
        return
    folder = store_folder(settings)
    key = str(folder.resolve())
    with _check_lock:
        start_check(settings)
        child = _running.pop(key, None)
        if child is not None:
            try:
                out, err = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                raise StoreDamaged(folder, f"reading it took over {timeout:g} s") from None
            problem = _problem(child.returncode, out, err)
            if problem:
                raise StoreDamaged(folder, problem)
        _sound.add(key)  # checked, or not built yet (then this process builds it)


def _problem(returncode: int, out: str, err: str) -> str:
    """What the check's child process found, in one line."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"reading it crashed the process ({name})"
    if returncode:
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        return _one_line(lines[-1] if lines else f"exit status {returncode}")
    try:
        return str(json.loads(out.strip().splitlines()[-1])["problem"])
    except (IndexError, KeyError, ValueError):
        return f"the check printed {out.strip()[:100]!r}"


def _one_line(error: str) -> str:
    """An error's first line, its exception named without its module path."""
    line = error.strip().splitlines()[0] if error.strip() else ""
    return re.sub(r"^[\w.]*\.(\w+: )", r"\1", line)[:300]


def _check_server(settings: Settings) -> None:
    from chromadb.config import APIVersion

    url = (f"http://{settings.chroma_host}:{settings.chroma_port}"
           f"{APIVersion.V2.value}/heartbeat")
    try:
        with urllib.request.urlopen(url, timeout=SERVER_TIMEOUT) as response:
            response.read()
    except (OSError, ValueError) as exc:
        raise StoreUnreachable(settings, str(getattr(exc, "reason", exc))) from None


def erase_store(settings: Settings) -> None:
    """Delete the whole store, so that the next sync builds it from scratch: the persistent
    folder when this process has not opened it (it may be damaged), else the collection
    through Chroma, which keeps an opened store's state in memory."""
    folder = store_folder(settings)
    with _check_lock:
        if settings.chroma_host or str(folder.resolve()) in _sound:
            check_store(settings)
            client = open_client(settings)
            names = {c.name for c in client.list_collections()}
            for name in (settings.collection, sentences_name(settings)):
                if name in names:
                    client.delete_collection(name)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    # The retriever's copies beside the store (retrieval.py): keyed by what they copy, so
    # never used stale, but 130 MB at 100k chunks that a rebuild would leave behind.
    (settings.index_dir / "chunks.json").unlink(missing_ok=True)
    shutil.rmtree(settings.index_dir / "bm25", ignore_errors=True)


def sentences_name(settings: Settings) -> str:
    """The collection of quotable sentences that goes with the chunks' collection."""
    return f"{settings.collection}-sentences"


def sentence_id(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()


def manifest_for(settings: Settings, embedder_signature: str) -> dict[str, Any]:
    return {"version": MANIFEST_VERSION, "embedding": embedder_signature,
            "chunking": settings.chunking}


class Store:
    """One Chroma collection of chunks; opening it checks it (``check_store``)."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        if client is None:
            check_store(settings)
        self.client = client or open_client(settings)
        self.collection = self._collection()
        self.sentences = self._collection(sentences_name(settings))

    def _collection(self, name: str | None = None) -> Collection:
        return self.client.get_or_create_collection(
            name or self.settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    def sentence_vectors(self, sentences: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of ``sentences`` the index holds (sentence ->
        vector): asked for per answer, so that no process holds every sentence's vector."""
        if not sentences:
            return {}
        with self.reading():
            got = _get(self.sentences, ["documents", "embeddings"],
                       [sentence_id(s) for s in sentences])
        return {text: np.asarray(v, dtype=np.float32)
                for text, v in zip(got["documents"], got["embeddings"], strict=True)}

    def vectors(self, ids: list[str]) -> np.ndarray:
        """The chunks' vectors, in the order of ``ids``. A chunk another process removed
        since the caller read the table (an app instance on the same Chroma server) gets a
        zero vector, similar to nothing, until the caller reloads (chat.py)."""
        if not ids:
            return np.zeros((0, 0), np.float32)
        with self.reading():
            got = _get(self.collection, ["embeddings"], ids)
        by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
        if len(by_id) < len(set(ids)):
            with self.reading():  # the width, from any chunk (a rare case)
                some = self.collection.get(limit=1, include=["embeddings"])["embeddings"]
            width = len(some[0]) if len(some) else 0
            by_id = {i: by_id.get(i, np.zeros(width)) for i in ids}
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    @property
    def manifest(self) -> dict[str, Any]:
        raw = (self.collection.metadata or {}).get("manifest")
        return json.loads(raw) if raw else {}

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Chroma's internal error (damage the check did not see) as ``StoreDamaged``, so
        the user gets its message and fix rather than Chroma's traceback."""
        try:
            yield
        except chromadb.errors.InternalError as exc:
            where = (f"{self.settings.chroma_host}:{self.settings.chroma_port}"
                     if self.settings.chroma_host else store_folder(self.settings))
            raise StoreDamaged(where, _one_line(f"{type(exc).__name__}: {exc}")) from exc

    def count(self) -> int:
        return self.collection.count()

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the ``k`` nearest chunks."""
        with self.reading():
            res = self.collection.query(query_embeddings=[vector], n_results=k,
                                        include=["distances"])
        return [(i, 1.0 - d) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def sync(
        self,
        documents: list[Document],
        embedder: Embedder,
        progress: Callable[[int, int], None] | None = None,
        sentence_progress: Callable[[int, int], None] | None = None,
    ) -> SyncReport:
        """Bring the collection in line with ``documents``, embedding only what changed;
        ``progress`` hears of the chunks embedded, ``sentence_progress`` of the sentences."""
        with self.reading():
            return self._sync(documents, embedder, progress, sentence_progress)

    def _sync(self, documents: list[Document], embedder: Embedder,
              progress: Callable[[int, int], None] | None,
              sentence_progress: Callable[[int, int], None] | None) -> SyncReport:
        report = SyncReport()
        wanted = manifest_for(self.settings, embedder.signature)
        current = self.manifest
        if current and current != wanted:
            changed = [k for k in ("embedding", "chunking", "version")
                       if current.get(k) != wanted.get(k)]
            report.rebuilt = f"{' and '.join(changed)} changed"
            self.client.delete_collection(self.settings.collection)
            self.client.delete_collection(sentences_name(self.settings))
            self.collection = self._collection()
            self.sentences = self._collection(sentences_name(self.settings))

        indexed = self._indexed_documents()
        by_id = {doc.id: doc for doc in documents}
        removed = sorted(set(indexed) - set(by_id))
        todo: list[tuple[Document, list[Chunk]]] = []
        for doc in documents:
            if indexed.get(doc.id) == doc.fingerprint:
                report.unchanged += 1
                continue
            chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
            todo.append((doc, chunks))
            (report.changed if doc.id in indexed else report.added).append(doc.id)
        # Read before anything is written: were the sentences complete for the chunks as
        # they stood? Then marked incomplete until the sentences step has run, so that a run
        # killed after writing chunks leaves it to the next run to finish.
        complete = bool((self.sentences.metadata or {}).get("complete"))
        if current != wanted or removed or todo:
            self._describe(wanted, chunks=-1)  # being written: no count to expect yet
            self.sentences.modify(metadata={"complete": False})
        for doc_id in removed:
            self.collection.delete(where={"doc_id": doc_id})
            report.removed.append(doc_id)

        # Smaller documents first, so one huge file holds up none of the rest; embedded a few
        # documents (or a slice of a big one) at a time with the progress shown after each,
        # and each document written whole once its vectors are done, so a run that stops
        # keeps what it finished (a document is written whole or found incomplete).
        todo.sort(key=lambda item: len(item[1]))
        total = sum(len(chunks) for _, chunks in todo)
        done = 0
        for batch in _batches(todo, EMBED_BATCH):
            texts = [c.embed_text for _, chunks in batch for c in chunks]
            vectors: list[list[float]] = []
            for start in range(0, len(texts), EMBED_BATCH):
                vectors += embedder.encode_passages(texts[start:start + EMBED_BATCH]).tolist()
                if progress and len(vectors) < len(texts):  # a big document, part way
                    progress(done + len(vectors), total)
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
        if (self.collection.metadata or {}).get("chunks") != report.chunks:
            self._describe(wanted, report.chunks)
        if removed or report.changed or not complete or current != wanted:
            self._sync_sentences(embedder, sentence_progress)
        elif todo:  # documents added only: no sentence can have gone stale
            self._sync_sentences(embedder, sentence_progress,
                                 [c for _, chunks in todo for c in chunks])
        return report

    def _sync_sentences(self, embedder: Embedder, progress: Callable[[int, int], None] | None,
                        added: list[Chunk] | None = None) -> None:
        """Embed the quotable sentences of every chunk (or only of the ``added`` ones) the
        store lacks, drop those no chunk holds any more (not needed when chunks were only
        added: reading them all took 1.1 s at 10k chunks and grows with them), and mark the
        collection complete once it is."""
        self.sentences.modify(metadata={"complete": False})
        if added is None:
            got = _get(self.collection, ["documents", "metadatas"])
            chunks = zip(got["documents"], got["metadatas"], strict=True)
        else:
            chunks = ((c.text, c.metadata) for c in added)
        wanted = {sentence_id(s): s for s in stored_sentences(chunks)}
        if added is None:
            have = set(_get(self.sentences, [])["ids"])
            stale = sorted(have - set(wanted))
            for start in range(0, len(stale), 1000):
                self.sentences.delete(ids=stale[start:start + 1000])
        else:
            have = set(_get(self.sentences, [], list(wanted))["ids"])
        # Shortest first: sentences of like length then share an embedding pass.
        missing = sorted((i for i in wanted if i not in have), key=lambda i: len(wanted[i]))
        for start in range(0, len(missing), EMBED_BATCH):
            ids = missing[start:start + EMBED_BATCH]
            texts = [wanted[i] for i in ids]
            self.sentences.add(ids=ids, documents=texts,
                               embeddings=embedder.encode_passages(texts).tolist())
            if progress:
                progress(start + len(ids), len(missing))
        self.sentences.modify(metadata={"complete": True})

    def _describe(self, manifest: dict[str, Any], chunks: int) -> None:
        """Write the manifest and the chunk count the check expects (-1: none, as while a
        sync writes, so that an interrupted run is repaired by the next, not rebuilt), and a
        new revision: the chunks are changing or have changed."""
        self.collection.modify(metadata={"manifest": json.dumps(manifest, sort_keys=True),
                                         "chunks": chunks, "revision": uuid.uuid4().hex})

    def revision(self) -> str:
        """What the collection's chunks are now, as the last sync that changed them left it
        ("" for a store written before revisions): a copy of the chunk table made under one
        revision holds for as long as it stays the same (retrieval.py)."""
        with self.reading():
            metadata = self.client.get_collection(self.settings.collection).metadata or {}
        return str(metadata.get("revision", ""))

    def chunk_table(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Every chunk's id, text and metadata, in the store's order."""
        with self.reading():
            got = _get(self.collection, ["documents", "metadatas"])
        return got["ids"], got["documents"], got["metadatas"]

    def _indexed_documents(self) -> dict[str, str]:
        """doc id -> fingerprint of its chunks; "" when they are incomplete or mixed."""
        got = _get(self.collection, ["metadatas"])
        seen: dict[str, tuple[set[str], int, int]] = {}
        for meta in got["metadatas"]:
            hashes, found, expected = seen.get(meta["doc_id"], (set(), 0, int(meta["n_chunks"])))
            seen[meta["doc_id"]] = (hashes | {str(meta["doc_hash"])}, found + 1, expected)
        return {
            doc_id: next(iter(hashes)) if len(hashes) == 1 and found == expected else ""
            for doc_id, (hashes, found, expected) in seen.items()
        }


# Chunks embedded and written together: enough that texts of like length fill each pass
# (embedding.py sorts a request by length), few enough that the progress moves every few
# seconds and an interrupted run loses little.
EMBED_BATCH = 256

# Items per Chroma request: one get of every item fails past about 30k items ("too many SQL
# variables", seen at 100k chunks), so reads go page by page.
PAGE = 5000


def _get(collection: Collection, include: list[str], ids: list[str] | None = None
         ) -> dict[str, list[Any]]:
    """``collection.get`` of every item (or of ``ids``), a page at a time; the lists asked
    for in ``include`` plus the ids, in the store's order (the order of ``ids``' pages)."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        if ids is None:
            got = collection.get(include=include, limit=PAGE, offset=offset)
        else:
            if offset >= len(ids):
                break
            got = collection.get(ids=ids[offset:offset + PAGE], include=include)
        for key in out:
            found = got[key]
            out[key].extend(found if found is not None else [])
        if ids is None and len(got["ids"]) < PAGE:
            break
        offset += PAGE
    return out


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
