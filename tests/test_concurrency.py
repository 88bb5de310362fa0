"""Several users at once: answers computed in parallel threads equal the sequential ones, and
the app works on several answers at once, so a slow LLM server holds up only its own users.
Speed under load is measured by benchmarks/load.py (`make load`), not here."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import torch
from gradio_client import Client

from assistant.chat import Assistant
from assistant.settings import Settings
from assistant.ui import build_app, texts

LIKE = "Bolehkah saya memberi like pada unggahan calon bupati?"
REPLY = "Tidak boleh: memberi like pada unggahan calon melanggar netralitas [1]."


def _rounded(value: Any) -> Any:
    """An answer's JSON with its scores to 6 places: a sentence embedded in another batch may
    differ in the last bits, which is no different answer."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_concurrent_answers_equal_the_sequential_ones(assistant: Assistant) -> None:
    questions = [q for lang in ("id", "en") for topic in texts(lang)["topics"]
                 for q in topic["questions"]]
    follow_up = [{"role": "user", "content": LIKE}]
    asks = [(q, None) for q in questions] + [("kalau komentar?", follow_up)] * 4
    sequential = [_rounded(assistant.ask(q, history=h).to_dict()) for q, h in asks]
    fresh = Assistant(assistant.settings)  # its caches empty: filled by threads at once
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda a: _rounded(fresh.ask(a[0], history=a[1]).to_dict()),
                                   asks * 3))
    assert concurrent == sequential * 3
    assert torch.get_num_threads() == assistant.settings.embedding_threads


class StubLLM:
    """An OpenAI-compatible server that holds each request until ``users`` requests are open
    at once (or ``patience`` seconds passed), then answers all of them."""

    def __init__(self, users: int, patience: float = 30.0) -> None:
        self.open = self.most = 0
        self.all_in = threading.Event()
        lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    stub.open += 1
                    stub.most = max(stub.most, stub.open)
                    if stub.open >= users:
                        stub.all_in.set()
                stub.all_in.wait(patience)
                with lock:
                    stub.open -= 1
                body = json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                                   "model": "stub", "choices": [{
                                       "index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": REPLY}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    server = StubLLM(users=3)
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_a_slow_llm_server_holds_up_only_its_own_user(settings: Settings, stub: StubLLM
                                                      ) -> None:
    """Three users ask at once while the LLM server answers nobody until it holds three
    requests: served one after another, it would only ever see one."""
    bot = Assistant(settings.replace(llm_base_url=stub.url, llm_timeout=120))
    app = build_app(bot).queue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        clients = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda c: c.predict(LIKE, [], api_name="/answer"),
                                    clients))
    finally:
        app.close()
    assert stub.most == 3
    assert all(a["text"].startswith(REPLY) and a["verdict"] == "tidak_boleh" for a in answers)
