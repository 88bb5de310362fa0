"""Chunking: whole sentences, bounded size, stable ids, metadata kept."""

from __future__ import annotations

from pathlib import Path

from assistant.chunking import chunk_document, pack_sentences
from assistant.documents import load_file
from assistant.text import split_sentences
from tests.conftest import ROOT


def _news() -> Path:
    return ROOT / "corpus" / "berita" / "berita-tribunsumsel-2020-694-kasus.md"


def test_chunks_hold_whole_sentences_within_the_size() -> None:
    doc = load_file(_news())
    sentences = set(split_sentences(doc.text))
    for size in (300, 500, 900):
        chunks = chunk_document(doc, chunk_size=size, overlap=0)
        assert len(chunks) > 1
        for chunk in chunks:
            lines = chunk.text.split("\n")
            assert all(line in sentences for line in lines)
            assert len(chunk.text) <= size or len(lines) == 1  # one over-long sentence only
        # Without overlap every sentence appears exactly once, in order.
        rebuilt = [ln for c in chunks for ln in c.text.split("\n")]
        assert rebuilt == split_sentences(doc.text)


def test_overlap_repeats_the_last_sentence() -> None:
    parts = pack_sentences("Satu dua tiga. Empat lima enam. Tujuh delapan. Sembilan.", 35, 1)
    assert parts[0].split("\n")[-1] == parts[1].split("\n")[0]


def test_chunk_ids_are_stable_and_metadata_is_kept() -> None:
    doc = load_file(_news())
    first = chunk_document(doc, 500, 1)
    again = chunk_document(load_file(_news()), 500, 1)
    assert [c.id for c in first] == [c.id for c in again]
    assert [c.text for c in first] == [c.text for c in again]
    assert first[0].id == "berita-tribunsumsel-2020-694-kasus::0000"
    meta = first[1].metadata
    assert meta["doc_id"] == doc.id and meta["publisher"] == "Tribun Sumsel"
    assert meta["date"] == "2020-10-07" and meta["chunk_index"] == 1
    assert meta["n_chunks"] == len(first) and meta["doc_hash"] == doc.fingerprint
    assert "statistik" in meta["tags"]
    assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())


def test_rule_cards_split_at_their_headings() -> None:
    cards = sorted((ROOT / "corpus" / "aturan").glob("*.md"))
    assert cards, "the rule cards are missing"
    doc = load_file(cards[0], trusted=True)
    chunks = chunk_document(doc, 500, 1)
    sections = {c.metadata["section"] for c in chunks}
    assert {"Aturannya", "Cara orang menanyakannya"} <= sections
    assert all(not c.text.startswith("##") for c in chunks)
