"""What a trainer uses: the cards by topic, quiz scenarios, and a session's export."""

from __future__ import annotations

from assistant.chat import Assistant
from assistant.export import session_html, session_markdown
from assistant.topics import rule_cards, scenarios


def test_every_rule_card_is_listed_by_topic_and_quiz_questions_come_from_them(
        assistant: Assistant) -> None:
    cards = rule_cards(assistant.retriever)
    ids = {c.id for c in cards}
    assert "aturan-medsos-like-komentar-bagikan" in ids and "aturan-ikut-kampanye" in ids
    assert [(c.topic, c.title) for c in cards] == sorted((c.topic, c.title) for c in cards)
    pool = scenarios(assistant.retriever)
    assert len(pool) > 50
    assert all(s.card.verdict in {"boleh", "bersyarat", "tidak_boleh"} for s in pool)
    like = [s for s in pool if s.card.id == "aturan-medsos-like-komentar-bagikan"]
    assert any("like" in s.question.lower() for s in like)
    assert not any(s.question.startswith(("Can ", "Is ")) for s in pool)  # Indonesian only


def test_a_session_exports_as_markdown_and_an_escaped_html_handout(assistant: Assistant
                                                                   ) -> None:
    answers = [assistant.ask("Bolehkah saya memberi like pada unggahan calon bupati?"),
               assistant.ask("Apa sanksi bagi PNS yang <b>tidak</b> netral?")]
    md = session_markdown(answers)
    assert md.count("\n## ") == 2 and "**Putusan: Tidak boleh**" in md
    assert "Sumber:" not in md and "- [1] Memberi like" in md
    assert "diperbarui 20" in md  # a card is dated as updated, not as published
    page = session_html(answers)
    assert "&lt;b&gt;tidak&lt;/b&gt;" in page and "<b>tidak</b>" not in page
    assert page.count("<blockquote>") >= 2 and "Putusan: Tidak boleh" in page
