"""A damaged index: one clear message naming the fix, never a traceback or a crash, and
``netralitas index`` builds it again.

Each case damages a copy of a real store built once. For the vector index the store holds
about 1,100 one-sentence chunks: past Chroma's sync threshold (1,000 records), so its HNSW
index lies on disk beside the SQLite file. The SQLite cases need only a few chunks.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import cli
from assistant.chat import Assistant
from assistant.settings import Settings
from assistant.store import StoreDamaged, StoreUnreachable, check_store, store_folder
from tests.conftest import free_port, write_doc

NETRALITAS = Path(sys.executable).parent / "netralitas"
QUESTION = "Berapa kasus pelanggaran netralitas ASN di Sumatera Selatan?"
CHUNK_SIZE = 20  # every sentence its own chunk


def _build(root: Path, sentences: int) -> Settings:
    """A store of the news item the question asks about and 11 documents of
    ``sentences`` one-sentence chunks each."""
    corpus = root / "corpus"
    write_doc(corpus, "bkn-sumsel", "BKN mencatat 694 kasus pelanggaran netralitas ASN di "
              "Sumatera Selatan menjelang Pilkada 2020.")
    for d in range(11):
        write_doc(corpus, f"gudang-{d:02d}", " ".join(
            f"Catatan inventaris nomor {i} di gudang {d}." for i in range(sentences)))
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", chunk_size=CHUNK_SIZE)
    report, _ = Assistant(settings).index()
    assert report.chunks == 1 + 11 * sentences
    return settings


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = _build(tmp_path_factory.mktemp("damage"), 100)
    # The vector index was written to disk, so damaging its files means something.
    assert list(store_folder(settings).glob("*/index_metadata.pickle"))
    return settings


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _build(tmp_path_factory.mktemp("damage-few"), 2)


def _copy(pristine: Settings, tmp_path: Path) -> Settings:
    settings = pristine.replace(index_dir=tmp_path / "index")
    shutil.copytree(pristine.index_dir, settings.index_dir)
    return settings


def _garble(path: Path) -> None:
    """Random bytes over the middle half of the file."""
    data = bytearray(path.read_bytes())
    rnd = random.Random(7)
    for i in range(len(data) // 4, 3 * len(data) // 4):
        data[i] = rnd.randrange(256)
    path.write_bytes(bytes(data))


def _segment(folder: Path, collection: str = "netralitas") -> Path:
    """The folder of a collection's vector index (the chunks', by default)."""
    with contextlib.closing(sqlite3.connect(folder / "chroma.sqlite3")) as db:
        (segment,) = db.execute(
            "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
            "WHERE c.name = ? AND s.scope = 'VECTOR'", (collection,)).fetchone()
    assert (folder / segment / "index_metadata.pickle").exists()
    return folder / segment


def truncate_sqlite(folder: Path) -> None:
    db = folder / "chroma.sqlite3"
    os.truncate(db, db.stat().st_size // 2)


def garble_sqlite(folder: Path) -> None:
    _garble(folder / "chroma.sqlite3")


def garble_hnsw(folder: Path) -> None:
    for name in ("data_level0.bin", "link_lists.bin", "length.bin"):
        _garble(_segment(folder) / name)


def delete_segment(folder: Path) -> None:
    shutil.rmtree(_segment(folder))


def garble_sentences_hnsw(folder: Path) -> None:
    """The vector index of the quotable sentences (store.py), not the chunks'."""
    for name in ("data_level0.bin", "link_lists.bin", "length.bin"):
        _garble(_segment(folder, "netralitas-sentences") / name)


def _netralitas(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NETRALITAS), "--corpus", str(settings.corpus_dir), "--index",
         str(settings.index_dir), *args],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, NETRALITAS_CHUNK_SIZE=str(CHUNK_SIZE)))


def _main(settings: Settings, *args: str) -> int:
    return cli.main(["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
                     *args])


def _assert_clear(stderr: str, settings: Settings) -> None:
    assert "Traceback" not in stderr and "Segmentation" not in stderr
    assert "rusak" in stderr and "damaged" in stderr
    assert str(store_folder(settings)) in stderr
    assert ".venv/bin/netralitas index --rebuild" in stderr


CASES = [(truncate_sqlite, "few"), (garble_sqlite, "few"), (garble_hnsw, "pristine"),
         (delete_segment, "pristine"), (garble_sentences_hnsw, "pristine")]


@pytest.mark.parametrize(("damage", "store"), CASES)
def test_damage_gives_one_clear_message_and_index_repairs_it(
    damage: Callable[[Path], None], store: str, request: pytest.FixtureRequest,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    built: Settings = request.getfixturevalue(store)
    settings = _copy(built, tmp_path)
    damage(store_folder(settings))

    asked = _netralitas(settings, "ask", QUESTION)
    assert asked.returncode == 1 and asked.stdout == ""
    _assert_clear(asked.stderr, settings)

    monkeypatch.setenv("NETRALITAS_CHUNK_SIZE", str(CHUNK_SIZE))
    assert _main(settings, "index") == 0
    out = capsys.readouterr().out
    assert "Rebuilding the index from scratch (the index could not be read" in out
    assert "12 added, 0 changed, 0 removed, 0 unchanged" in out
    assert _main(settings, "ask", QUESTION) == 0
    assert "694" in capsys.readouterr().out


@pytest.mark.parametrize(("damage", "store"), CASES)
def test_the_app_refuses_to_start_on_a_damaged_index(
    damage: Callable[[Path], None], store: str, request: pytest.FixtureRequest,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _copy(request.getfixturevalue(store), tmp_path)
    damage(store_folder(settings))
    port = free_port()
    with pytest.raises(SystemExit) as exited:
        _main(settings, "serve", "--port", str(port))
    assert exited.value.code == 1
    _assert_clear(capsys.readouterr().err, settings)
    with socket.socket() as s:  # nothing listens: the app never started
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_a_count_that_disagrees_with_the_manifest_is_damage(pristine: Settings,
                                                            tmp_path: Path) -> None:
    settings = _copy(pristine, tmp_path)
    check_store(settings)  # the copy itself is sound
    bot = Assistant(settings)
    bot.store.collection.delete(ids=["gudang-03::0007"])
    copy = settings.replace(index_dir=tmp_path / "copy")  # a store this process never checked
    shutil.copytree(settings.index_dir, copy.index_dir)
    with pytest.raises(StoreDamaged, match="holds 1100 chunks where its manifest says 1101"):
        check_store(copy)


def test_an_interrupted_run_is_not_damage_and_is_finished_by_the_next(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for d in range(3):
        write_doc(corpus, f"doc-{d}", f"Dokumen nomor {d} tentang netralitas ASN.")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    bot = Assistant(settings)

    class Stopped(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise Stopped  # as if killed after the first document was written

    import assistant.store as store

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store, "EMBED_BATCH", 1)
        with pytest.raises(Stopped):
            bot.index(progress=stop)
    assert bot.store.count() == 1
    copy = settings.replace(index_dir=tmp_path / "copy")
    shutil.copytree(settings.index_dir, copy.index_dir)
    check_store(copy)  # no count is expected while a run writes
    report, _ = Assistant(copy).index()
    assert report.unchanged == 1 and len(report.added) == 2
    assert Assistant(copy).store.collection.metadata["chunks"] == 3


def test_index_rebuild_always_starts_from_scratch(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "satu", "ASN wajib netral dalam pemilu.")
    write_doc(corpus, "dua", "Bawaslu mengawasi netralitas ASN.")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert _main(settings, "index") == 0
    assert "2 added" in capsys.readouterr().out
    _ = Assistant(settings).retriever  # writes its copies beside the store
    copies = [tmp_path / "index" / "chunks.json", tmp_path / "index" / "bm25"]
    assert all(p.exists() for p in copies)
    assert _main(settings, "index", "--rebuild") == 0
    out = capsys.readouterr().out
    assert "Rebuilding the index from scratch (asked for with --rebuild)" in out
    assert "Rebuilt (asked for with --rebuild): 2 added, 0 changed" in out
    assert not any(p.exists() for p in copies)  # nothing of the old index is left


def test_an_unreachable_chroma_server_is_named_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()  # nothing answers there
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index",
                        chroma_host="127.0.0.1", chroma_port=port)
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{port} cannot be reached"):
        check_store(settings)
    monkeypatch.setenv("NETRALITAS_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("NETRALITAS_CHROMA_PORT", str(port))
    assert _main(settings, "ask", QUESTION) == 1
    err = capsys.readouterr().err
    assert "tidak dapat dihubungi" in err and "unset NETRALITAS_CHROMA_HOST" in err
