"""The same store on a real Chroma server (`chroma run`), reached over HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest

from assistant.chat import Assistant
from assistant.settings import Settings
from tests.conftest import write_doc


@pytest.fixture
def chroma_port(tmp_path: Path) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
