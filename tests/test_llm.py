"""The LLM path over HTTP: the real assistant against the loopback stub server
(tests/llm_stub.py), through langchain-openai and langchain-ollama, streamed, with every way
a server's reply can go wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from assistant.answer import Answer
from assistant.chat import Assistant
from assistant.compose import without_sources
from assistant.settings import Settings
from tests.conftest import ROOT, served_app
from tests.llm_stub import StubLLM

LIKE = "Bolehkah ASN memberi like pada unggahan calon bupati?"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubLLM]:
    with StubLLM(slow=30) as server:
        yield server


def _bot(assistant: Assistant, stub: StubLLM, model: str, provider: str = "openai",
         **changes: object) -> Assistant:
    """An assistant with the stub as its LLM, on the shared index."""
    url = stub.url if provider == "openai" else stub.ollama_url
    bot = Assistant(assistant.settings.replace(llm_provider=provider, llm_base_url=url,
                                               llm_model=model, **changes))
    bot._retriever = assistant.retriever
    return bot


def _stream(bot: Assistant, question: str, history: list | None = None
            ) -> tuple[list[str], Answer]:
    *pieces, answer = bot.ask_stream(question, history)
    assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces)
    return pieces, answer


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_the_llm_phrases_the_decided_answer_as_it_streams(assistant: Assistant, stub: StubLLM,
                                                          provider: str) -> None:
    plain = assistant.ask(LIKE)
    pieces, answer = _stream(_bot(assistant, stub, "stub", provider), LIKE)
    assert len(pieces) > 5 and "".join(pieces).strip() == without_sources(plain)
    assert answer.llm == "phrased" and answer.verdict == plain.verdict == "tidak_boleh"
    assert answer.citations == plain.citations and answer.text.endswith(
        plain.text[len(without_sources(plain)):].strip())
    # The server was given the decision, not asked for one.
    sent = stub.requests[-1]["json"]
    system = sent["messages"][0]["content"]
    assert "Verdict: Tidak boleh" in system and plain.basis[0].label in system
    assert sent["model"] == "stub" and sent["stream"] is True


def test_made_up_markers_are_removed_and_the_rest_is_kept(assistant: Assistant,
                                                          stub: StubLLM) -> None:
    answer = _bot(assistant, stub, "stub-extra").ask(LIKE)
    assert answer.llm == "phrased" and "[99]" not in answer.text and "[1]" in answer.text


@pytest.mark.parametrize(("model", "status", "note"), [
    ("stub-invalid", "uncited", "tidak merujuk ke sumber"),
    ("stub-contradict", "rejected", "putusannya berbeda"),
    ("stub-fail", "failed", "tidak dapat dihubungi"),
    ("stub-midstream", "failed", "tidak dapat dihubungi"),
])
@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_a_reply_that_fails_gives_the_drafted_answer_with_a_note(
        assistant: Assistant, stub: StubLLM, model: str, status: str, note: str,
        provider: str) -> None:
    plain = assistant.ask(LIKE)
    _, answer = _stream(_bot(assistant, stub, model, provider), LIKE)
    assert answer.llm == status and answer.verdict == "tidak_boleh"
    assert answer.text.startswith(without_sources(plain)) and note in answer.text
    # The note goes above the sources, which views that show them their own way cut off.
    assert answer.text.endswith(plain.text[len(without_sources(plain)):].strip())
    assert note in without_sources(answer)


def test_a_slow_server_is_given_up_after_the_timeout(assistant: Assistant,
                                                     stub: StubLLM) -> None:
    start = time.monotonic()
    answer = _bot(assistant, stub, "stub-slow", llm_timeout=1.5).ask(LIKE)
    assert answer.llm == "failed" and answer.text.startswith("Tidak boleh.")
    assert time.monotonic() - start < 10


def test_a_follow_up_is_condensed_by_the_llm_before_it_is_read(assistant: Assistant,
                                                               stub: StubLLM) -> None:
    """The stub condenses by joining the turns, so the standalone question is known."""
    history = [{"role": "user", "content": "Bolehkah PNS memberi like di postingan caleg?"}]
    bot = _bot(assistant, stub, "stub")
    q = bot.understand("kalau komentar?", history)
    assert q.follow_up == "condensed" and q.text == (
        "Bolehkah PNS memberi like di postingan caleg? kalau komentar?")
    condensing = [r for r in stub.requests if "Last question:" in str(r["json"])][-1]
    assert "- Bolehkah PNS memberi like" in condensing["json"]["messages"][-1]["content"]
    answer = bot.ask("kalau komentar?", history)
    assert answer.citations[0].doc_id == "aturan-medsos-like-komentar-bagikan"


def test_condensing_can_be_turned_off(assistant: Assistant, stub: StubLLM) -> None:
    history = [{"role": "user", "content": "Bolehkah PNS memberi like di postingan caleg?"}]
    before = len(stub.requests)
    q = _bot(assistant, stub, "stub", llm_condense="false").understand("kalau komentar?",
                                                                       history)
    assert q == assistant.understand("kalau komentar?", history)
    assert len(stub.requests) == before


def test_a_server_that_cannot_condense_leaves_the_follow_up_to_the_rules(
        assistant: Assistant, stub: StubLLM) -> None:
    history = [{"role": "user", "content": "Bolehkah PNS memberi like di postingan caleg?"}]
    q = _bot(assistant, stub, "stub-fail").understand("kalau komentar?", history)
    assert q == assistant.understand("kalau komentar?", history)
    assert q.follow_up != "condensed"


def test_an_answer_without_grounds_never_reaches_the_llm(assistant: Assistant,
                                                         stub: StubLLM) -> None:
    before = len(stub.requests)
    answer = _bot(assistant, stub, "stub").ask("Berapa harga cabai di pasar hari ini?")
    assert not answer.grounded and answer.llm == "" and len(stub.requests) == before


def test_settings_choose_the_provider(settings: Settings) -> None:
    from langchain_ollama import ChatOllama
    from langchain_openai import ChatOpenAI

    from assistant.llm import OLLAMA_URL, make_chat_model

    ollama = make_chat_model(settings.replace(llm_provider="ollama", llm_model="qwen3:4b"))
    assert isinstance(ollama, ChatOllama) and ollama.base_url == OLLAMA_URL
    assert ollama.model == "qwen3:4b" and ollama.num_predict == settings.llm_max_tokens
    openai = make_chat_model(settings.replace(llm_provider="openai", llm_timeout=7,
                                              llm_base_url="http://127.0.0.1:9/v1"))
    assert isinstance(openai, ChatOpenAI) and openai.request_timeout == 7
    assert Assistant(settings).chat_model is None


@pytest.mark.parametrize(("model", "note"), [("stub", ""),
                                             ("stub-midstream", "tidak dapat dihubungi")])
def test_the_app_shows_the_words_as_they_come_then_the_checked_answer(
        assistant: Assistant, stub: StubLLM, model: str, note: str) -> None:
    """Streamed turns are plain previews; the last is the answer with its badge and chips, or,
    when the server died mid-reply, the answer from the sources with the notice."""
    from gradio_client import Client

    with served_app(_bot(assistant, stub, model)) as url:
        job = Client(url, verbose=False).submit(LIKE, [], [], api_name="/respond")
        outputs = [list(out) for out in job]
        final = job.result()
    turns = [str(out[0][-1]["content"]) for out in outputs]
    previews = [t for t in turns if 'class="preview"' in t]
    assert len(previews) >= 2 and all("verdict-" not in t for t in previews)
    assert len(previews[-1]) > len(previews[0])  # the words grow as they come
    last = str(final[0][-1]["content"])
    assert 'class="verdict verdict-tidak_boleh"' in last and 'class="chip"' in last
    assert 'class="preview"' not in last and note in last
    assert final[1] == "" and LIKE in str(final[0][-2]["content"])


def test_a_reply_that_repeats_the_draft_is_never_refused(assistant: Assistant,
                                                         stub: StubLLM) -> None:
    """Whatever the kind of answer (verdict, explanation, passages, asking back), an LLM that
    says what the draft says passes the checks: a check that refused it would throw away
    good replies. The questions are the first 80 of the validation split."""
    from assistant.evaluation import load_items, split_files

    items = load_items(split_files(ROOT / "eval", "validation"))[:80]
    bot = _bot(assistant, stub, "stub")
    answers = [bot.ask(item["question"]) for item in items]
    grounded = [a for a in answers if a.grounded]
    assert {a.outcome for a in grounded} >= {"verdict", "explanation", "clarify", "passages"}
    assert [a.llm for a in grounded] == ["phrased"] * len(grounded)


def test_the_app_says_how_a_condensed_follow_up_was_read(assistant: Assistant,
                                                         stub: StubLLM) -> None:
    from assistant.ui import chat_turn

    history = [{"role": "user", "content": "Bolehkah PNS memberi like di postingan caleg?"}]
    condensed = _bot(assistant, stub, "stub").ask("kalau komentar?", history)
    turn = chat_turn(condensed, asked="kalau komentar?")
    assert ('<div class="read-as">Dibaca sebagai: Bolehkah PNS memberi like di postingan '
            'caleg? kalau komentar?</div>') in turn
    by_rules = assistant.ask("kalau komentar?", history)
    assert "read-as" not in chat_turn(by_rules, asked="kalau komentar?")


@pytest.mark.parametrize(("named", "status"), [
    ("{basis}", "phrased"),  # the answer's own legal basis, as it writes it
    ("{regulation} Pasal 99", "unfounded"),  # an article no source holds
    ("PP 53/2010 Pasal 4", "unfounded"),  # a repealed regulation no source names
])
def test_a_reply_naming_a_law_its_sources_do_not_is_not_used(assistant: Assistant,
                                                             named: str, status: str) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    plain = assistant.ask(LIKE)
    basis = plain.basis[0]
    named = named.format(basis=basis.label, regulation=basis.regulation)
    reply = f"Tidak boleh. Memberi like pada unggahan calon dilarang oleh {named} [1]."
    bot = Assistant(assistant.settings, chat_model=FakeListChatModel(responses=[reply]))
    bot._retriever = assistant.retriever
    answer = bot.ask(LIKE)
    assert answer.llm == status
    assert answer.text.startswith(reply if status == "phrased" else without_sources(plain))


def test_legal_references_are_read_in_one_spelling() -> None:
    from assistant.understand import legal_references

    assert legal_references("menurut UU Nomor 20 Tahun 2023 dan Peraturan Pemerintah No. 94 "
                            "Tahun 2021 Pasal 5 huruf n") == {"uu 20/2023", "pp 94/2021",
                                                              "pasal 5"}
    assert legal_references("PP 94/2021 Article 43") == {"pp 94/2021", "pasal 43"}
    assert legal_references("tanpa dasar hukum") == set()
