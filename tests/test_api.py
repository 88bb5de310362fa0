"""The OpenAI-compatible endpoint (assistant/api.py), served for real by uvicorn and asked
with the official ``openai`` client, as a chat front-end or a bot would."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from fastapi import FastAPI
from gradio_client import Client
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import cli
from assistant.answer import InvalidQuestion
from assistant.api import MODEL_ID, create_app
from assistant.chat import Assistant
from assistant.compose import messages, without_sources
from assistant.settings import Settings
from assistant.store import store_folder
from tests.conftest import free_port

LIKE = "Bolehkah ASN memberi like pada unggahan calon bupati?"
LOGIN = "pelatih:rahasia"
TIMEOUT = 60.0


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on a free loopback port, served by uvicorn in a thread; its /v1 URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        assert not thread.is_alive()


def client(url: str, key: str = "not-needed") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, timeout=TIMEOUT, max_retries=0)


def ask(url: str, question: Any, key: str = "not-needed", **kwargs: Any) -> Any:
    return client(url, key).chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": question}], **kwargs)


def streamed(url: str, msgs: list[Any], key: str = "not-needed",
             **kwargs: Any) -> list[Any]:
    return list(client(url, key).chat.completions.create(model=MODEL_ID, messages=msgs,
                                                         stream=True, **kwargs))


def content_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.fixture(scope="module")
def url(assistant: Assistant) -> Iterator[str]:
    with serving(create_app(assistant)) as base:
        yield base


@pytest.fixture(scope="module")
def guarded_url(settings: Settings, assistant: Assistant) -> Iterator[str]:
    """Behind a login: another assistant over the same (built) index."""
    with serving(create_app(Assistant(settings.replace(auth=LOGIN)))) as base:
        yield base


def test_the_model_list_holds_the_assistant(url: str) -> None:
    models = client(url).models.list()
    assert [m.id for m in models.data] == [MODEL_ID]
    assert client(url).models.retrieve(MODEL_ID).id == MODEL_ID


def test_a_completion_is_the_answer_with_its_sources_and_data(url: str,
                                                              assistant: Assistant) -> None:
    completion = ask(url, LIKE)
    content = completion.choices[0].message.content
    expected = assistant.ask(LIKE).to_dict()
    assert content.startswith("Tidak boleh.") and "[1]" in content and "Sumber:" in content
    assert content == expected["text"]
    assert completion.choices[0].finish_reason == "stop" and completion.model == MODEL_ID
    assert completion.usage.completion_tokens == len(content.split())
    extra = completion.model_extra
    assert extra["answer"] == expected and extra["answer"]["verdict"] == "tidak_boleh"
    assert extra["citations"] == expected["citations"]
    assert extra["citations"][0]["doc_id"] == "aturan-medsos-like-komentar-bagikan"


def test_a_streamed_completion_sends_the_same_text_in_pieces(url: str) -> None:
    whole = ask(url, LIKE)
    chunks = streamed(url, [{"role": "user", "content": LIKE}])
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len(chunks) > 10 and len({c.id for c in chunks}) == 1
    assert content_of(chunks) == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and not last.choices[0].delta.content
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert last.model_extra["answer"] == whole.model_extra["answer"]
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_a_follow_up_reads_the_earlier_turns(url: str, assistant: Assistant) -> None:
    first = ask(url, LIKE).choices[0].message.content
    msgs: list[Any] = [
        {"role": "system", "content": "You are a helpful assistant."},  # ignored
        {"role": "user", "content": LIKE},
        {"role": "assistant", "content": first},
        {"role": "user", "content": [{"type": "text", "text": "kalau komentar?"}]},
    ]
    completion = client(url).chat.completions.create(model=MODEL_ID, messages=msgs,
                                                     temperature=0.2, max_tokens=300)
    history = [{"role": "user", "content": LIKE}, {"role": "assistant", "content": first}]
    expected = assistant.ask("kalau komentar?", history)
    assert completion.choices[0].message.content == expected.text
    assert completion.model_extra["answer"] == expected.to_dict()
    assert "Memberi like, komentar" in expected.text  # the same rule as before


def test_an_english_question_is_answered_in_english(url: str, assistant: Assistant) -> None:
    question = "Can a civil servant like a regional head candidate's post on social media?"
    expected = assistant.ask(question)
    assert expected.language == "en"
    chunks = streamed(url, [{"role": "user", "content": question}],
                      stream_options={"include_usage": True})
    assert content_of(chunks) == expected.text and "Sources:" in expected.text
    *_, stop, usage = chunks
    assert stop.choices[0].finish_reason == "stop"
    assert stop.model_extra["answer"]["language"] == "en"
    assert usage.choices == [] and usage.usage.completion_tokens == len(expected.text.split())


def test_a_bad_request_is_refused_with_the_assistants_message(url: str,
                                                              assistant: Assistant) -> None:
    with pytest.raises(InvalidQuestion) as refused:
        assistant.ask("   ")
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as exc:
            ask(url, "   ", stream=stream)
        assert exc.value.body == {  # OpenAI's shape
            "message": str(refused.value), "type": "invalid_request_error", "param": None,
            "code": None}
        assert "kosong" in exc.value.message
    with pytest.raises(openai.BadRequestError, match="No user message"):
        client(url).chat.completions.create(
            model=MODEL_ID, messages=[{"role": "system", "content": "Jawab singkat."}])
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        client(url).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": LIKE}])
    body = httpx.post(f"{url}/chat/completions", content=b"{not json", timeout=TIMEOUT)
    assert body.status_code == 400 and body.json()["error"]["param"] is None


def test_behind_a_login_only_the_login_answers(guarded_url: str) -> None:
    for key in ("pelatih:salah", "pelatih", "rahasia"):
        with pytest.raises(openai.AuthenticationError):
            ask(guarded_url, LIKE, key=key)
        with pytest.raises(openai.AuthenticationError):
            client(guarded_url, key).models.list()
    missing = httpx.get(f"{guarded_url}/models", timeout=TIMEOUT)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    refused = httpx.post(f"{guarded_url}/chat/completions", timeout=TIMEOUT,
                         json={"model": MODEL_ID, "messages": [{"role": "user",
                                                                 "content": LIKE}]})
    assert refused.status_code == 401
    answer = ask(guarded_url, LIKE, key=LOGIN)
    assert answer.model_extra["answer"]["verdict"] == "tidak_boleh"
    chunks = streamed(guarded_url, [{"role": "user", "content": LIKE}], key=LOGIN)
    assert content_of(chunks) == answer.choices[0].message.content
    basic = httpx.get(f"{guarded_url}/models", auth=("pelatih", "rahasia"), timeout=TIMEOUT)
    assert basic.status_code == 200 and basic.json()["data"][0]["id"] == MODEL_ID
    wrong = httpx.get(f"{guarded_url}/models", auth=("pelatih", "salah"), timeout=TIMEOUT)
    assert wrong.status_code == 401


def _with_llm(settings: Settings, reply: str) -> Assistant:
    """An assistant over the shared index whose LLM (a LangChain fake that streams its
    reply word by word) gives this reply once."""
    return Assistant(settings, chat_model=GenericFakeChatModel(messages=iter([AIMessage(reply)])))


def test_a_stream_sends_only_the_checked_text_never_a_rejected_reply(
        settings: Settings, assistant: Assistant) -> None:
    reply = "Boleh. ASN bebas memberi like pada unggahan calon mana pun [1]."
    bot = _with_llm(settings, reply)
    preview = [p for p in _with_llm(settings, reply).ask_stream(LIKE) if isinstance(p, str)]
    assert "".join(preview) == reply  # the LLM's words did stream, as a preview
    with serving(create_app(bot)) as base:
        chunks = streamed(base, [{"role": "user", "content": LIKE}])
    content = content_of(chunks)
    answer = chunks[-1].model_extra["answer"]
    assert answer["llm"] == "rejected" and answer["verdict"] == "tidak_boleh"
    assert "Boleh." not in content and "bebas memberi like" not in content
    assert content.startswith("Tidak boleh.") and content == answer["text"]
    assert without_sources(assistant.ask(LIKE)) in content
    assert messages()["id"]["llm_rejected"] in content


def test_a_reply_that_keeps_the_verdict_is_sent_in_its_words(settings: Settings) -> None:
    reply = "Tidak boleh. Memberi like pada unggahan calon bupati melanggar netralitas ASN [1]."
    with serving(create_app(_with_llm(settings, reply))) as base:
        chunks = streamed(base, [{"role": "user", "content": LIKE}])
    content = content_of(chunks)
    answer = chunks[-1].model_extra["answer"]
    assert answer["llm"] == "phrased" and content == answer["text"]
    assert content.startswith(reply) and "Sumber:" in content


class _HeldModel(GenericFakeChatModel):
    """A fake LLM that holds its reply until the test lets it go."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        _entered.set()
        assert _release.wait(TIMEOUT)
        yield from super()._stream(*args, **kwargs)


_entered, _release = threading.Event(), threading.Event()


def test_an_answer_being_worked_on_holds_up_no_other_request(settings: Settings) -> None:
    reply = "Tidak boleh. Memberi like pada unggahan calon melanggar netralitas ASN [1]."
    bot = Assistant(settings, chat_model=_HeldModel(messages=iter([AIMessage(reply)])))
    with serving(create_app(bot)) as base, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(streamed, base, [{"role": "user", "content": LIKE}])
        assert _entered.wait(TIMEOUT)
        start = time.monotonic()
        assert [m.id for m in client(base).models.list().data] == [MODEL_ID]
        assert time.monotonic() - start < 2 and not pending.done()
        _release.set()
        chunks = pending.result(TIMEOUT)
    assert content_of(chunks).startswith(reply)
    assert chunks[-1].model_extra["answer"]["llm"] == "phrased"


def test_the_app_serves_the_endpoint_on_its_own_port(settings: Settings,
                                                     assistant: Assistant) -> None:
    from assistant.ui import launch

    port = free_port()
    app = launch(settings.replace(port=port, auth=LOGIN), prevent_thread_lock=True,
                 quiet=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert [m.id for m in client(f"{base}/v1", LOGIN).models.list().data] == [MODEL_ID]
        completion = ask(f"{base}/v1", LIKE, key=LOGIN)
        assert completion.choices[0].message.content == assistant.ask(LIKE).text
        with pytest.raises(openai.AuthenticationError):
            ask(f"{base}/v1", LIKE, key="pelatih:salah")
        page = Client(f"{base}/", auth=("pelatih", "rahasia"), verbose=False)
        answer = page.predict(LIKE, [], api_name="/answer")  # the app itself still answers
        assert answer["verdict"] == "tidak_boleh"
        assert httpx.get(f"{base}/", timeout=TIMEOUT).status_code == 200
    finally:
        app.close()


def test_the_command_indexes_then_serves(settings: Settings, assistant: Assistant,
                                         tmp_path: Path) -> None:
    """``netralitas api``, run as a user would: it indexes what changed, then answers."""
    port = free_port()
    log = tmp_path / "api.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "--corpus", str(settings.corpus_dir),
             "--index", str(settings.index_dir), "api", "--port", str(port), "--auth", LOGIN],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/models", auth=("pelatih", "rahasia"),
                             timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        answer = ask(base, LIKE, key=LOGIN)
        assert answer.choices[0].message.content == assistant.ask(LIKE).text
        with pytest.raises(openai.AuthenticationError):
            ask(base, LIKE)
    finally:
        proc.terminate()
        proc.wait(30)
    printed = log.read_text()
    assert "0 added, 0 changed, 0 removed" in printed
    assert f"http://127.0.0.1:{port}/v1 (model {MODEL_ID})" in printed


@pytest.mark.parametrize("no_index", [False, True])
def test_the_command_refuses_a_damaged_index(settings: Settings, assistant: Assistant,
                                             tmp_path: Path, no_index: bool,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    damaged = settings.replace(index_dir=tmp_path / "index")
    shutil.copytree(settings.index_dir, damaged.index_dir)
    db = store_folder(damaged) / "chroma.sqlite3"
    os.truncate(db, db.stat().st_size // 2)
    port = free_port()
    with pytest.raises(SystemExit) as exited:
        cli.main(["--corpus", str(damaged.corpus_dir), "--index", str(damaged.index_dir),
                  "api", "--port", str(port), *(["--no-index"] if no_index else [])])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "damaged" in err and str(store_folder(damaged)) in err
    assert "netralitas index --rebuild" in err and "Traceback" not in err
    with socket.socket() as s:  # nothing listens: it never started
        assert s.connect_ex(("127.0.0.1", port)) != 0
