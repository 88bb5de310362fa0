"""Cutting documents into passages that are embedded, retrieved and quoted.

News is packed sentence by sentence up to ``chunk_size`` characters, so a passage never
ends mid-sentence; rule cards split at their ``##`` headings; official regulations split
at their articles (Pasal, ayat, huruf, angka) so a citation can name the article.
Chunk ids are ``<doc id>::<position>``: stable while the document and settings stay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from assistant import regulation
from assistant.documents import Document
from assistant.text import split_sentences

CHUNKER_VERSION = 5  # bump when chunk boundaries or texts change for the same settings
QUESTION_SECTIONS = ("cara orang menanyakannya",)  # lists of phrasings: matched, never quoted
OUT_OF_SCOPE_TYPE = "luar"  # documents that describe a near miss: matched, never quoted
QUOTABLE_CHARS = 25  # a shorter piece is a fragment of the sentence before it


def quotable(metadata: dict[str, Any]) -> bool:
    """Whether an answer may quote sentences of a chunk with this metadata."""
    return (metadata.get("type") != OUT_OF_SCOPE_TYPE
            and str(metadata.get("section", "")).lower() not in QUESTION_SECTIONS)


def stored_sentences(chunks: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """The quotable sentences of (text, metadata) chunks, each once, in order: what the
    index embeds (store.py) and what the retriever reads of them."""
    return list(dict.fromkeys(s for text, meta in chunks if quotable(meta)
                              for s in quoted_sentences(text)))


def quoted_sentences(text: str) -> list[str]:
    """The sentences an answer may quote from a passage, in order: a fragment such as
    "Selasa (16/10/2024)." belongs to the sentence before it; one before any is dropped."""
    found: list[str] = []
    for sentence in split_sentences(text):
        if len(sentence) >= QUOTABLE_CHARS:
            found.append(sentence)
        elif found:
            found[-1] = f"{found[-1]} {sentence}"
    return found


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    index: int
    text: str
    metadata: dict[str, str | int | float | bool]

    @property
    def embed_text(self) -> str:
        """What is embedded and matched: the passage with its document title and heading,
        which the passage alone often leaves implicit."""
        head = " — ".join(
            str(x) for x in (self.metadata.get("title"), self.metadata.get("section")) if x
        )
        return f"{head}\n{self.text}" if head else self.text


def chunk_document(doc: Document, chunk_size: int = 500, overlap: int = 1) -> list[Chunk]:
    if doc.regulation is not None:
        pieces = _regulation_pieces(doc.regulation, chunk_size)
    elif doc.type in ("aturan", "luar"):
        pieces = _section_pieces(doc.text, chunk_size)
    else:
        pieces = [("", "", text) for text in pack_sentences(doc.text, chunk_size, overlap)]
    base = _base_metadata(doc)
    chunks = []
    for i, (section, article, text) in enumerate(pieces):
        meta = dict(base, chunk_index=i, n_chunks=len(pieces), section=section, article=article)
        chunks.append(Chunk(f"{doc.id}::{i:04d}", doc.id, i, text, meta))
    return chunks


def pack_sentences(text: str, chunk_size: int, overlap: int = 0) -> list[str]:
    """Greedy packing of whole sentences, one per line so quoting can find them again;
    ``overlap`` sentences repeat in the next chunk."""
    sentences = split_sentences(text)
    chunks: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and len(" ".join([*current, sentence])) > chunk_size:
            chunks.append("\n".join(current))
            current = current[-overlap:] if overlap and len(current) > overlap else []
        current.append(sentence)
    if current:
        chunks.append("\n".join(current))
    return chunks


def _section_pieces(text: str, chunk_size: int) -> list[tuple[str, str, str]]:
    pieces: list[tuple[str, str, str]] = []
    for block in re.split(r"^(?=##\s)", text, flags=re.M):
        heading = ""
        if block.startswith("##"):
            first, _, block = block.partition("\n")
            heading = first.lstrip("#").strip()
        bullets = [re.sub(r"^\s*[-*]\s+", "", ln).strip().strip('"“”')
                   for ln in block.splitlines() if re.match(r"^\s*[-*]\s+", ln)]
        if heading.lower() in QUESTION_SECTIONS:
            # Each way of asking is its own passage: a user's question then meets its twin.
            pieces.extend((heading, "", b) for b in bullets if b)
            continue
        body = "\n".join(re.sub(r"^\s*[-*]\s+", "", ln) for ln in block.splitlines())
        for part in pack_sentences(body, chunk_size * 2):
            pieces.append((heading, "", part))
    return pieces


def _regulation_pieces(reg: regulation.Regulation, chunk_size: int) -> list[tuple[str, str, str]]:
    pieces: list[tuple[str, str, str]] = []
    for section in reg.sections:
        label = regulation.cite(reg, section)
        parts = (
            [section.text]
            if len(section.text) <= chunk_size * 3
            else pack_sentences(section.text, chunk_size * 2)
        )
        pieces.extend((label, label, part) for part in parts)
    return pieces


def _base_metadata(doc: Document) -> dict[str, Any]:
    tags = doc.meta.get("tags") or []
    return {
        "doc_id": doc.id,
        "title": doc.title,
        "type": doc.type,
        "publisher": doc.publisher,
        "date": doc.date,
        "url": doc.url,
        "source": doc.source,
        "region": str(doc.meta.get("region", "")),
        "tags": ", ".join(map(str, tags)) if isinstance(tags, list) else str(tags),
        "trusted": doc.trusted,
        "doc_hash": doc.fingerprint,
        "doc_meta": json.dumps(doc.meta, ensure_ascii=False, default=str),
    }
