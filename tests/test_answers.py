"""The answer contract: citations, verdicts, abstention, languages, bad input, LLMs."""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

import assistant as api
from assistant import Answer, Assistant, Citation, InvalidQuestion
from assistant.settings import Settings
from tests.conftest import free_port


def _markers(answer: Answer) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}


def test_news_question_quotes_the_article_with_citations(assistant: Assistant) -> None:
    answer = assistant.ask("Berapa kasus pelanggaran netralitas ASN di Sumsel menjelang "
                           "Pilkada 2020?")
    assert isinstance(answer, Answer) and answer.grounded and answer.language == "id"
    assert "694" in answer.text
    assert answer.citations and all(isinstance(c, Citation) for c in answer.citations)
    news = next(c for c in answer.citations if c.doc_id == "berita-tribunsumsel-2020-694-kasus")
    assert news.quote in answer.text and "694" in news.quote
    assert (news.type, news.publisher, news.date) == ("berita", "Tribun Sumsel", "2020-10-07")
    assert 0.8 < news.score <= 1.0
    assert _markers(answer) == {c.n for c in answer.citations}
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert answer.verdict is None


def test_rule_question_gets_a_verdict_first(assistant: Assistant) -> None:
    answer = assistant.ask("Bolehkah saya memberi like pada unggahan calon bupati?")
    assert answer.grounded and answer.verdict == "tidak_boleh"
    assert answer.text.startswith("Tidak boleh.")
    assert "SKB 2022" in answer.text and "Sanksi:" in answer.text
    assert answer.citations[0].type == "aturan"


def test_english_question_gets_english_framing(assistant: Assistant) -> None:
    answer = assistant.ask("May a civil servant like a regent candidate's post on Instagram?")
    assert answer.language == "en" and answer.verdict == "tidak_boleh"
    assert answer.text.startswith("No.") and "Legal basis:" in answer.text
    assert "Sources:" in answer.text


def test_out_of_scope_questions_abstain(assistant: Assistant) -> None:
    for question, lang in [("Bagaimana resep rendang daging sapi yang empuk?", "id"),
                           ("Who won the 2022 FIFA World Cup?", "en")]:
        answer = assistant.ask(question)
        assert not answer.grounded and answer.citations == [] and answer.verdict is None
        assert answer.language == lang
        assert ("netralitas ASN" in answer.text) if lang == "id" else ("civil servants" in
                                                                          answer.text)


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_bad_questions_get_a_clear_message(assistant: Assistant, question: str) -> None:
    with pytest.raises(InvalidQuestion) as info:
        assistant.ask(question)
    message = str(info.value)
    assert "kosong" in message or "terlalu panjang (5000 karakter" in message


def test_an_answer_comes_back_whole_from_its_json(assistant: Assistant) -> None:
    answer = assistant.ask("Bolehkah ASN memberi like pada unggahan calon bupati?")
    again = Answer.from_dict(json.loads(json.dumps(answer.to_dict())))
    assert again == answer and isinstance(again.citations[0], Citation)
    with pytest.raises(ValueError):
        Answer.from_dict({"question": "q", "text": "t", "citations": [{"n": "satu"}]})


def test_follow_up_uses_the_history(assistant: Assistant) -> None:
    history = [{"role": "user", "content": "Bolehkah ASN memberi like pada unggahan calon?"},
               {"role": "assistant", "content": "Tidak boleh."}]
    alone = assistant.ask("kalau komentar?")
    follow = assistant.ask("kalau komentar?", history=history)
    assert follow.grounded and follow.citations[0].doc_id == "aturan-medsos-like-komentar-bagikan"
    assert alone.citations[:1] != follow.citations[:1] or not alone.grounded


def test_llm_phrases_the_answer_from_the_same_sources(settings: Settings,
                                                      assistant: Assistant) -> None:
    reply = "Tidak boleh: memberi like pada unggahan calon melanggar netralitas [1]."
    bot = Assistant(settings, chat_model=FakeListChatModel(responses=[reply]))
    answer = bot.ask("Bolehkah ASN memberi like pada unggahan calon bupati?")
    assert answer.text.startswith(reply) and "Sumber:" in answer.text
    assert answer.verdict == "tidak_boleh" and answer.citations


def test_llm_reply_without_valid_markers_is_not_trusted(settings: Settings) -> None:
    bot = Assistant(settings, chat_model=FakeListChatModel(responses=["Boleh saja [7]."]))
    answer = bot.ask("Bolehkah ASN memberi like pada unggahan calon bupati?")
    assert answer.text.startswith("Tidak boleh.")


def test_dead_llm_server_falls_back_to_the_extractive_answer(settings: Settings) -> None:
    port = free_port()  # nobody listens there
    bot = Assistant(settings.replace(llm_provider="openai", llm_timeout=5,
                                     llm_base_url=f"http://127.0.0.1:{port}/v1"))
    answer = bot.ask("Bolehkah ASN memberi like pada unggahan calon bupati?")
    assert answer.grounded and answer.text.startswith("Tidak boleh.")
    assert "Server LLM tidak dapat dihubungi" in answer.text


def test_module_level_ask_uses_default_settings(settings: Settings, assistant: Assistant,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRALITAS_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("NETRALITAS_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setattr("assistant.chat._default", None)
    answer = api.ask("Bolehkah ASN memberi like pada unggahan calon kepala daerah?")
    assert answer.verdict == "tidak_boleh"
    assert answer.to_dict()["citations"][0]["doc_id"] == "aturan-medsos-like-komentar-bagikan"


def test_ask_builds_the_index_on_first_use(tmp_path, settings: Settings) -> None:
    fresh = settings.replace(index_dir=tmp_path / "index")
    answer = Assistant(fresh).ask("Siapa moderator webinar netralitas ASN di Langsa?")
    assert answer.grounded and (tmp_path / "index" / "chroma").is_dir()


def test_llm_prompt_carries_the_decision_passages_and_history(assistant: Assistant) -> None:
    from assistant.compose import messages, without_sources
    from assistant.llm import build_messages

    answer = assistant.ask("Bolehkah ASN memberi like pada unggahan calon bupati?")
    history = [{"role": "user", "content": "Halo"}, {"role": "assistant", "content": "Halo!"}]
    msgs = build_messages(answer, history, "en")
    system = msgs[0].content
    assert f"[1] {answer.citations[0].title}: {answer.citations[0].quote}" in system
    assert "English" in system and without_sources(answer) in system
    label = messages()["en"]["verdict_label"]["tidak_boleh"]
    assert f"Verdict: {label}" in system and answer.basis[0].label in system
    assert answer.sanction is not None and answer.sanction.text in system
    assert [m.type for m in msgs] == ["system", "human", "ai", "human"]
    assert msgs[-1].content == answer.question
