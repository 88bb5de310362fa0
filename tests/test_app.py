"""The Gradio app, served for real and asked through gradio_client."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from gradio_client import Client

from assistant.chat import Assistant
from assistant.ui import build_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(assistant: Assistant) -> Iterator[str]:
    app = build_app(assistant).queue()
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def test_app_answers_with_sources(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    history, box, sources = client.predict(
        "Bolehkah saya memberi like pada unggahan calon bupati?", [], api_name="/respond")
    assert box == ""
    assert history[-2]["role"] == "user" and history[-1]["role"] == "assistant"
    reply = history[-1]["content"]
    reply = reply if isinstance(reply, str) else str(reply)
    assert "Tidak boleh." in reply and "[1]" in reply
    assert "Memberi like" in sources and "Tidak boleh" in sources


def test_app_keeps_the_question_when_it_is_too_long(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    question = "kampanye " * 300
    history, box, _ = client.predict(question, [], api_name="/respond")
    assert box.strip() == question.strip()  # nothing typed is lost
    last = history[-1]["content"]
    assert "terlalu panjang" in (last if isinstance(last, str) else str(last))


def test_app_binds_to_loopback_by_default() -> None:
    from assistant.settings import Settings

    assert Settings().host == "127.0.0.1" and Settings().port == 7860


def test_follow_up_in_the_app_uses_the_conversation(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    history, _, _ = client.predict("Bolehkah ASN memberi like pada unggahan calon bupati?", [],
                                   api_name="/respond")
    history, _, sources = client.predict("kalau komentar?", history, api_name="/respond")
    assert len(history) == 4
    assert "Memberi like, komentar" in sources  # the follow-up found the same rule
