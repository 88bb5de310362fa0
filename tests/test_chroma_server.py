"""The same store on a real Chroma server (`chroma run`), reached over HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import chromadb
import pytest
from gradio_client import Client

from assistant.answer import Answer
from assistant.chat import Assistant
from assistant.settings import Settings
from tests.conftest import free_port, served_app, write_doc


@pytest.fixture
def chroma_port(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    server = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "server"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
                break
            except Exception:  # not up yet
                assert server.poll() is None, "chroma server exited"
                assert time.monotonic() < deadline, "chroma server did not start"
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_index_and_answer_through_a_chroma_server(tmp_path: Path, chroma_port: int) -> None:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "bkn-sumsel", "BKN mencatat 694 kasus pelanggaran netralitas ASN di "
              "Sumatera Selatan menjelang Pilkada 2020. Sebanyak 492 kasus direkomendasikan.")
    write_doc(corpus, "langsa", "Webinar netralitas ASN digelar BKPSDM Langsa pada Januari 2024.")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "unused",
                        chroma_host="127.0.0.1", chroma_port=chroma_port)
    report, _ = Assistant(settings).index()
    assert sorted(report.added) == ["bkn-sumsel", "langsa"]
    assert not (tmp_path / "unused").exists()  # nothing was written locally
    # A second client sees the same collection and its manifest on the server.
    fresh = Assistant(settings)
    again, _ = fresh.index()
    assert again.unchanged == 2 and again.added == []
    answer = fresh.ask("Berapa kasus pelanggaran netralitas ASN di Sumatera Selatan?")
    assert answer.citations[0].doc_id == "bkn-sumsel" and "694" in answer.text


def test_two_app_instances_share_one_chroma_server(tmp_path: Path, chroma_port: int) -> None:
    """A team: a document added through one instance is answered by the other once it
    refreshes, without indexing anything itself; an instance that has not refreshed yet
    still answers from what it loaded."""
    corpus = tmp_path / "corpus"
    write_doc(corpus, "bkn-sumsel", "BKN mencatat 694 kasus pelanggaran netralitas ASN di "
              "Sumatera Selatan menjelang Pilkada 2020. Sebanyak 492 kasus direkomendasikan.")
    write_doc(corpus, "langsa", "Webinar netralitas ASN digelar BKPSDM Langsa pada Januari 2024.")
    shared = Settings(corpus_dir=corpus, chroma_host="127.0.0.1", chroma_port=chroma_port)
    first = Assistant(shared.replace(index_dir=tmp_path / "a", auth="admin:rahasia"))
    first.index()
    second = Assistant(shared.replace(index_dir=tmp_path / "b", refresh_seconds=0))
    stale = Assistant(shared.replace(index_dir=tmp_path / "c", refresh_seconds=3600))
    question = "Berapa kasus pelanggaran netralitas ASN yang dicatat Bawaslu Kabupaten Sabang?"
    with served_app(first), served_app(second) as url:
        client = Client(url, verbose=False)

        def until(done: Callable[[Answer], bool]) -> list[Answer]:
            """The second instance's answers, asked again until ``done`` (at most 60 s)."""
            got: list[Answer] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got.append(Answer.from_dict(client.predict(question, [], api_name="/answer")))
                if done(got[-1]):
                    break
                time.sleep(0.2)
            return got

        before = client.predict(question, [], api_name="/answer")
        assert stale.ask(question).citations[:1] == Answer.from_dict(before).citations[:1]
        new = write_doc(tmp_path / "upload", "bawaslu-sabang", "Bawaslu Kabupaten Sabang "
                        "mencatat 37 kasus pelanggaran netralitas ASN selama Pilkada 2024.")
        first.add_document(new)  # what the app's upload calls
        # The second instance notices at its next question and reloads in the background,
        # answering from what it had meanwhile.
        answers = until(lambda a: bool(a.citations[:1])
                        and a.citations[0].doc_id == "bawaslu-sabang")
        # Removed again through the first: the second, still holding it, answers without
        # error until it reloads, then no longer cites it.
        (corpus / "tambahan" / "bawaslu-sabang.md").unlink()
        first.index()
        removed = until(lambda a: all(c.doc_id != "bawaslu-sabang" for c in a.citations))
    assert all(c.doc_id != "bawaslu-sabang" for c in removed[-1].citations)
    assert all(c.doc_id != "bawaslu-sabang" for c in Answer.from_dict(before).citations)
    after = answers[-1]
    assert after.citations[0].doc_id == "bawaslu-sabang" and "37" in after.text
    # Until then (if it took more than one question) it answered as before, without error.
    assert all(a.text == Answer.from_dict(before).text for a in answers[:-1])
    assert not (tmp_path / "b" / "chroma").exists()  # the second instance indexed nothing
    assert all(c.doc_id != "bawaslu-sabang" for c in stale.ask(question).citations)
