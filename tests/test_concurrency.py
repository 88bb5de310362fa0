"""Several users at once: answers computed in parallel threads equal the sequential ones, and
the app works on several answers at once, so a slow LLM server holds up only its own users.
Speed under load is measured by benchmarks/load.py (`make load`), not here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from gradio_client import Client

from assistant.chat import Assistant
from assistant.settings import Settings
from assistant.ui import texts
from tests.conftest import served_app
from tests.llm_stub import StubLLM

LIKE = "Bolehkah saya memberi like pada unggahan calon bupati?"
REPLY = "Tidak boleh: memberi like pada unggahan calon melanggar netralitas [1]."


def _same(a: Any, b: Any) -> bool:
    """Two answers' JSON alike, scores within 1e-5: a question or a sentence embedded in
    another batch may differ in the last bits, which is no different answer."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-5
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_concurrent_answers_equal_the_sequential_ones(assistant: Assistant) -> None:
    questions = [q for lang in ("id", "en") for topic in texts(lang)["topics"]
                 for q in topic["questions"]]
    follow_up = [{"role": "user", "content": LIKE}]
    asks = [(q, None) for q in questions] + [("kalau komentar?", follow_up)] * 4
    sequential = [assistant.ask(q, history=h).to_dict() for q, h in asks]
    fresh = Assistant(assistant.settings)  # its caches empty: filled by threads at once
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda a: fresh.ask(a[0], history=a[1]).to_dict(),
                                   asks * 3))
    assert len(concurrent) == 3 * len(sequential)
    different = [c["question"] for c, s in zip(concurrent, sequential * 3, strict=True)
                 if not _same(c, s)]
    assert different == []
    threads = assistant.settings.embedding_threads
    if assistant.embedder.engine == "onnx":
        options = assistant.embedder.model.session.get_session_options()
        assert options.intra_op_num_threads == threads
    else:
        import torch

        assert torch.get_num_threads() == threads


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    """A stub LLM server that answers nobody until three requests are open at once, with a
    fixed reply, so an answer phrased by it is told apart from the extractive draft."""
    with StubLLM(gather=3, reply=REPLY) as server:
        yield server


def test_a_slow_llm_server_holds_up_only_its_own_user(settings: Settings, stub: StubLLM
                                                      ) -> None:
    """Three users ask at once while the LLM server answers nobody until it holds three
    requests: served one after another, it would only ever see one."""
    bot = Assistant(settings.replace(llm_provider="openai", llm_base_url=stub.url,
                                    llm_timeout=120))
    with served_app(bot) as url:
        clients = [Client(url, verbose=False) for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda c: c.predict(LIKE, [], api_name="/answer"),
                                    clients))
    assert stub.most == 3
    assert all(a["text"].startswith(REPLY) and a["verdict"] == "tidak_boleh" for a in answers)


def test_small_requests_waiting_for_a_core_share_one_pass(assistant: Assistant,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Questions that arrive while every core is busy are embedded together, each getting
    its own vector, equal to the one it gets alone."""
    import assistant.embedding as embedding

    embedder = assistant.embedder
    questions = [f"Bolehkah ASN nomor {i} hadir di kampanye calon bupati?" for i in range(10)]
    alone = np.stack([embedder.encode_query(q) for q in questions])
    passes: list[int] = []
    real = embedder._pass

    def counted(texts: list[str], prompt: str) -> np.ndarray:
        passes.append(len(texts))
        return real(texts, prompt)

    monkeypatch.setattr(embedder, "_pass", counted)
    lanes = embedding._lanes._initial_value  # type: ignore[attr-defined]
    for _ in range(lanes):  # every core busy
        embedding._lanes.acquire()
    try:
        pool = ThreadPoolExecutor(len(questions))
        futures = [pool.submit(embedder.encode_query, q) for q in questions]
        deadline = time.monotonic() + 30
        while len(embedder._batcher._waiting) < len(questions) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        for _ in range(lanes):
            embedding._lanes.release()
    together = np.stack([f.result(timeout=60) for f in futures])
    pool.shutdown()
    assert sum(passes) == len(questions) and len(passes) <= lanes
    assert np.abs(together - alone).max() < 1e-4


def test_an_error_in_a_shared_pass_reaches_every_request_in_it(
        assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.embedding as embedding

    embedder = assistant.embedder

    def broken(texts: list[str], prompt: str) -> np.ndarray:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(embedder, "_pass", broken)
    lanes = embedding._lanes._initial_value  # type: ignore[attr-defined]
    for _ in range(lanes):
        embedding._lanes.acquire()
    try:
        pool = ThreadPoolExecutor(4)
        futures = [pool.submit(embedder.encode_query, f"pertanyaan {i}") for i in range(4)]
        deadline = time.monotonic() + 30
        while len(embedder._batcher._waiting) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        for _ in range(lanes):
            embedding._lanes.release()
    for future in futures:
        with pytest.raises(RuntimeError, match="out of memory"):
            future.result(timeout=60)
    pool.shutdown()
    assert not embedder._batcher._waiting
