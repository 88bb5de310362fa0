"""The stub LLM server (tests/llm_stub.py) itself, through the clients the project uses: other
tests trust its replies, so each model's behaviour is pinned here. Fast: no embedding model,
no Gradio."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from tests.llm_stub import StubLLM, contradict

DRAFT = "Tidak boleh. ASN dilarang ikut kampanye calon [1].\nSanksinya disiplin berat [2]."
SYSTEM = f"Use only the passages.\n\nDraft answer:\n {DRAFT}\n\nSumber:\n[1] PP 94/2021\n[2] UU ASN"
PHRASE: list[Any] = [{"role": "system", "content": SYSTEM},
          {"role": "user", "content": "Bolehkah PNS ikut kampanye?"}]
CONDENSE: list[Any] = [{"role": "system", "content": "You rewrite the last question."},
            {"role": "user", "content": "Earlier questions:\n- Bolehkah PNS ikut kampanye?\n"
                                        "- Bolehkah PNS jadi caleg?\n\nLast question: Kalau PPPK?"}]
FIRST_LINE = "Tidak boleh. ASN dilarang ikut kampanye calon [1]."
SECOND_LINE = "Sanksinya disiplin berat [2]."
EXPECTED = {
    "stub": DRAFT,
    "no-such-model": DRAFT,
    "stub:latest": DRAFT,
    "stub-invalid": DRAFT.replace("[1]", "[97]").replace("[2]", "[97]"),
    "stub-extra": f"{FIRST_LINE} [99]\n{SECOND_LINE}",
    "stub-contradict": f"Boleh. ASN dilarang ikut kampanye calon [1].\n{SECOND_LINE}",
}


@pytest.fixture(scope="module")
def stub() -> Iterator[StubLLM]:
    with StubLLM(slow=2.0) as server:
        yield server


def client(stub: StubLLM, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=stub.url, api_key="sk-test", max_retries=0, **options)


def streamed(stub: StubLLM, model: str, messages: list[Any]) -> list[str]:
    """The content pieces of a streamed reply, through the official client."""
    chunks = client(stub).chat.completions.create(model=model, messages=messages,
                                                  stream=True)
    return [c.choices[0].delta.content for c in chunks
            if c.choices and c.choices[0].delta.content]


@pytest.mark.parametrize("model", EXPECTED)
def test_each_phrasing_model_over_openai_plain_and_streamed(stub: StubLLM, model: str) -> None:
    reply = client(stub).chat.completions.create(model=model, messages=PHRASE)
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == EXPECTED[model]
    assert reply.choices[0].finish_reason == "stop"
    pieces = streamed(stub, model, PHRASE)
    assert len(pieces) > 3 and "".join(pieces) == EXPECTED[model]


@pytest.mark.parametrize("model", ["stub", "stub-invalid", "stub-contradict"])
def test_a_condensing_request_joins_the_last_two_questions(stub: StubLLM, model: str) -> None:
    reply = client(stub).chat.completions.create(model=model, messages=CONDENSE)
    assert reply.choices[0].message.content == "Bolehkah PNS jadi caleg? Kalau PPPK?"
    answer = ollama.Client(host=stub.ollama_url).chat(model=model, messages=CONDENSE,
                                                      stream=False)
    assert answer.message.content == "Bolehkah PNS jadi caleg? Kalau PPPK?"


def test_langchain_chat_openai_invoke_and_stream(stub: StubLLM) -> None:
    llm = ChatOpenAI(base_url=stub.url, api_key="sk-test", model="stub", max_retries=0,
                     timeout=5)
    assert llm.invoke(PHRASE).content == DRAFT
    chunks = [str(c.content) for c in llm.stream(PHRASE)]
    assert len([c for c in chunks if c]) > 3 and "".join(chunks) == DRAFT
    usage = client(stub).chat.completions.create(
        model="stub", messages=PHRASE, stream=True,
        stream_options={"include_usage": True})
    assert next(c.usage for c in usage if c.usage).completion_tokens > 3


def test_langchain_chat_ollama_invoke_and_stream(stub: StubLLM) -> None:
    before = len(stub.requests)
    llm = ChatOllama(base_url=stub.ollama_url, model="stub-extra", validate_model_on_init=True)
    reply = llm.invoke(PHRASE)
    assert reply.content == EXPECTED["stub-extra"]
    assert reply.response_metadata["done_reason"] == "stop"
    chunks = [str(c.content) for c in llm.stream(PHRASE)]
    assert len([c for c in chunks if c]) > 3 and "".join(chunks) == EXPECTED["stub-extra"]
    # validate_model_on_init lists the models first; invoke and stream both stream /api/chat
    calls = [(r["path"], (r["json"] or {}).get("stream")) for r in stub.requests[before:]]
    assert calls == [("/api/tags", None), ("/api/chat", True), ("/api/chat", True)]


def test_ollama_not_streamed_is_one_object(stub: StubLLM) -> None:
    answer = ollama.Client(host=stub.ollama_url).chat(model="stub", messages=PHRASE,
                                                      stream=False)
    assert answer.done and answer.done_reason == "stop" and answer.message.content == DRAFT
    assert answer.eval_count and answer.prompt_eval_count


def test_stub_fail_is_a_server_error(stub: StubLLM) -> None:
    with pytest.raises(openai.InternalServerError, match="fails on purpose"):
        client(stub).chat.completions.create(model="stub-fail", messages=PHRASE)
    with pytest.raises(openai.InternalServerError):
        streamed(stub, "stub-fail", PHRASE)
    with pytest.raises(ollama.ResponseError, match="fails on purpose"):
        ChatOllama(base_url=stub.ollama_url, model="stub-fail").invoke(PHRASE)


def test_stub_midstream_cuts_the_connection(stub: StubLLM) -> None:
    chunks = client(stub).chat.completions.create(model="stub-midstream", messages=PHRASE,
                                                  stream=True)
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in chunks:
            got.append(chunk.choices[0].delta.content or "")
    assert got and "".join(got) != DRAFT and DRAFT.startswith("".join(got))
    with pytest.raises(openai.APIConnectionError):
        client(stub).chat.completions.create(model="stub-midstream", messages=PHRASE)
    llm = ChatOllama(base_url=stub.ollama_url, model="stub-midstream")
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        list(llm.stream(PHRASE))
    with pytest.raises(httpx.RemoteProtocolError, match=r"received \d+ bytes, expected \d+"):
        ollama.Client(host=stub.ollama_url).chat(model="stub-midstream", messages=PHRASE,
                                                 stream=False)


def test_stub_slow_outlasts_a_short_client_timeout(stub: StubLLM) -> None:
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client(stub, timeout=0.3).chat.completions.create(model="stub-slow", messages=PHRASE)
    assert time.monotonic() - start < 1.5


def test_every_request_is_recorded(stub: StubLLM) -> None:
    before = len(stub.requests)
    client(stub).models.list()
    client(stub).chat.completions.create(model="stub", messages=PHRASE)
    models, chat = stub.requests[before:]
    assert (models["method"], models["path"], models["json"]) == ("GET", "/v1/models", None)
    assert chat["path"] == "/v1/chat/completions" and chat["json"]["model"] == "stub"
    assert chat["json"]["messages"] == PHRASE
    assert {k.lower(): v for k, v in chat["headers"].items()}["authorization"] == \
        "Bearer sk-test"


def test_a_fixed_reply_replaces_the_draft() -> None:
    with StubLLM(reply="Boleh saja [1].\n\nSumber:\n[1] x") as stub:
        phrased = client(stub).chat.completions.create(model="stub", messages=PHRASE)
        condensed = client(stub).chat.completions.create(model="stub", messages=CONDENSE)
    assert phrased.choices[0].message.content == "Boleh saja [1]."
    assert condensed.choices[0].message.content == "Bolehkah PNS jadi caleg? Kalau PPPK?"


def test_gather_holds_requests_until_enough_are_open() -> None:
    replies: list[str | None] = []
    with StubLLM(gather=3, patience=5) as stub:
        def ask() -> None:
            reply = client(stub).chat.completions.create(model="stub", messages=PHRASE)
            replies.append(reply.choices[0].message.content)

        threads = [threading.Thread(target=ask) for _ in range(3)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert time.monotonic() - start < 4
        assert stub.most == 3 and replies == [DRAFT] * 3
    with StubLLM(gather=5, patience=0.3) as alone:  # nobody else comes: patience runs out
        start = time.monotonic()
        client(alone).chat.completions.create(model="stub", messages=PHRASE)
        assert 0.3 <= time.monotonic() - start < 2 and alone.most == 1


def test_hang_holds_requests_and_notes_their_arrival() -> None:
    with StubLLM(hang=0.2) as short:
        reply = client(short).chat.completions.create(model="stub", messages=PHRASE)
        assert reply.choices[0].message.content == DRAFT and len(short.arrivals) == 1
    stub = StubLLM(hang=60)
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client(stub, timeout=0.3).chat.completions.create(model="stub", messages=PHRASE)
    assert len(stub.arrivals) == 1 and stub.arrivals[0] >= start
    stub.close()  # lets the held request go at once
    deadline = time.monotonic() + 2
    while stub.open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stub.open == 0


@pytest.mark.parametrize(("draft", "opposite"), [
    ("Tidak boleh. ASN dilarang [1].", "Boleh. ASN dilarang [1]."),
    ("Boleh, dengan syarat: cuti [1].\nLagi [2].", "Tidak boleh.\nLagi [2]."),
    ("No. It is forbidden [1].", "Yes, allowed. It is forbidden [1]."),
    ("Not allowed. Really [1].", "Yes, allowed. Really [1]."),
    ("Yes. Fine [1].", "Not allowed. Fine [1]."),
    ("Allowed. Fine [1].", "Not allowed. Fine [1]."),
])
def test_contradict_turns_the_first_sentence(draft: str, opposite: str) -> None:
    assert contradict(draft) == opposite


def test_it_runs_as_a_script() -> None:
    script = Path(__file__).with_name("llm_stub.py")
    server = subprocess.Popen([sys.executable, str(script), "--port", "0", "--hang", "60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        models = openai.OpenAI(base_url=url, api_key="x").models.list()
        assert next(m.id for m in models) == "stub"
    finally:
        server.kill()
        server.wait(5)
