"""The rule cards as a trainer shows them: every card by topic, and quiz scenarios drawn
from the ways people ask about each card's action (its "Cara orang menanyakannya")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.retrieval import Retriever
from assistant.text import detect_language

WAYS_OF_ASKING = "Cara orang menanyakannya"


@dataclass
class Card:
    id: str
    title: str
    topic: str
    verdict: str | None  # None for a card that rules per action, or on no action
    summary: str
    basis: list[str] = field(default_factory=list)
    sanction: str = ""
    conditions: str = ""
    english: dict[str, str] = field(default_factory=dict)  # summary, sanction, conditions

    def text(self, part: str, lang: str = "id") -> str:
        """A part of the card in ``lang``, the Indonesian where no English is written."""
        return (self.english.get(part) if lang == "en" else None) or getattr(self, part)


@dataclass
class Scenario:
    """A question as people ask it, and the card whose rule answers it."""

    question: str
    card: Card


def _card(meta: dict[str, Any]) -> Card:
    sanction = meta.get("sanction") if isinstance(meta.get("sanction"), dict) else {}
    english = {"summary": str(meta.get("summary_en") or ""),
               "sanction": str(sanction.get("text_en") or ""),
               "conditions": str(meta.get("conditions_en") or "")}
    return Card(str(meta["id"]), str(meta.get("title", "")), str(meta.get("topic") or "lainnya"),
                meta.get("verdict"), str(meta.get("summary", "")),
                [str(b) for b in meta.get("basis") or []], str(sanction.get("text", "")),
                str(meta.get("conditions", "")), english)


def rule_cards(retriever: Retriever) -> list[Card]:
    """Every rule card, by topic then title."""
    metas = [retriever.doc_meta(d) for d in retriever.doc_ids()]
    cards = [_card(m) for m in metas if m.get("type") == "aturan"]
    return sorted(cards, key=lambda c: (c.topic, c.title))


def scenarios(retriever: Retriever, lang: str = "id") -> list[Scenario]:
    """For each card with one verdict, the ways of asking it lists in ``lang``: a quiz
    question whose answer is that card's verdict."""
    found = []
    for card in rule_cards(retriever):
        if not card.verdict:
            continue
        for text in retriever.section_texts(card.id, WAYS_OF_ASKING):
            question = text.strip().lstrip("-").strip().strip('"')
            if question and detect_language(question) == lang:
                found.append(Scenario(question, card))
    return found
