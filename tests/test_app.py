"""The Gradio app, served for real and asked through gradio_client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

from assistant.chat import Assistant
from tests.conftest import served_app


@pytest.fixture(scope="module")
def app_url(assistant: Assistant) -> Iterator[str]:
    with served_app(assistant) as url:
        yield url


def test_app_answers_with_its_badge_and_sources(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    history, box, *_ = client.predict(
        "Bolehkah saya memberi like pada unggahan calon bupati?", [], [], api_name="/respond")
    assert box == ""
    assert history[-2]["role"] == "user" and history[-1]["role"] == "assistant"
    reply = str(history[-1]["content"])
    assert 'class="verdict verdict-tidak_boleh"' in reply and "Tidak boleh." in reply
    assert "[1] Memberi like" in reply and "<mark>" in reply  # the source chip and its quote
    assert "Sumber:" not in reply  # the chips replace the plain list


def test_app_keeps_the_question_when_it_is_too_long(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    question = "kampanye " * 300
    history, box, notice, *_ = client.predict(question, [], [], api_name="/respond")
    assert box.strip() == question.strip()  # nothing typed is lost
    assert history == []  # the refusal is no chat turn
    assert "terlalu panjang" in str(notice)


def test_the_api_returns_the_structured_answer_and_refuses_with_an_error(app_url: str
                                                                        ) -> None:
    client = Client(app_url, verbose=False)
    answer = client.predict("kalau komentar?", ["Bolehkah ASN like unggahan calon?"],
                            api_name="/answer")
    assert answer["verdict"] == "tidak_boleh" and answer["intent"] == "permission"
    assert answer["citations"][0]["doc_id"] == "aturan-medsos-like-komentar-bagikan"
    assert answer["basis"] and answer["sanction"]["level"]
    with pytest.raises(Exception, match=r"kosong|empty"):
        client.predict("   ", [], api_name="/answer")


def test_app_binds_to_loopback_by_default() -> None:
    from assistant.settings import Settings

    assert Settings().host == "127.0.0.1" and Settings().port == 7860


def test_follow_up_in_the_app_uses_the_conversation(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    history, *_ = client.predict("Bolehkah ASN memberi like pada unggahan calon bupati?", [],
                                 [], api_name="/respond")
    history, *_ = client.predict("kalau komentar?", history, [], api_name="/respond")
    assert len(history) == 4
    assert "Memberi like, komentar" in str(history[-1]["content"])  # the same rule


def test_a_source_chip_shows_the_quote_inside_its_passage(assistant: Assistant) -> None:
    from assistant.ui import chat_turn

    answer = assistant.ask("Berapa kasus pelanggaran netralitas ASN di Sumatera Selatan pada "
                           "Pilkada 2020?")
    news = next(c for c in answer.citations if c.type == "berita")
    turn = chat_turn(answer, assistant.retriever.passage)
    quote = turn.split("<mark>")[1].split("</mark>")[0]
    around = turn.split("<blockquote>")[1].split("</blockquote>")[0]
    assert quote and len(around) > len(quote) + 40  # the passage around the highlighted quote
    assert assistant.retriever.passage(news.chunk_id).count(news.quote[:40]) >= 1
    assert "<mark>" in chat_turn(answer)  # without passages, the quote alone


def test_behind_a_login_the_api_answers_only_with_it(assistant: Assistant) -> None:
    with served_app(assistant, auth=("pelatih", "rahasia")) as url:
        with pytest.raises(Exception):  # noqa: B017 - the client's own error type varies
            Client(url, verbose=False).predict("Bolehkah ASN like unggahan calon?", [],
                                               api_name="/answer")
        client = Client(url, auth=("pelatih", "rahasia"), verbose=False)
        answer = client.predict("Bolehkah ASN like unggahan calon?", [], api_name="/answer")
        assert answer["verdict"] == "tidak_boleh"
