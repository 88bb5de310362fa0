"""Building answers from retrieved passages, with no LLM needed.

The answer leads with the sentences of the best passages that match the question, each
followed by its citation marker, or abstains when the evidence is too weak. Its own words
follow the question's language; quotes stay as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from assistant.chunking import QUESTION_SECTIONS
from assistant.retrieval import Hit
from assistant.text import split_sentences, tokens

RULE_SECTION = "Aturannya"  # the section of a rule card that states the rule


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    type: str
    publisher: str
    date: str
    url: str
    quote: str
    score: float
    article: str = ""
    chunk_id: str = ""


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True
    verdict: str | None = None
    language: str = "id"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class InvalidQuestion(ValueError):
    """An empty or oversized question; the message is meant for the user."""


@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, Any]]:
    path = resources.files("assistant.prompts").joinpath("messages.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def abstain(question: str, lang: str) -> Answer:
    return Answer(question, messages()[lang]["abstain"], [], grounded=False, language=lang)


def citation_for(n: int, hit: Hit, quote: str) -> Citation:
    m = hit.metadata
    return Citation(
        n=n, doc_id=hit.doc_id, title=str(m.get("title", "")), type=str(m.get("type", "")),
        publisher=str(m.get("publisher", "")), date=str(m.get("date", "")),
        url=str(m.get("url", "")), quote=quote, score=round(hit.similarity, 4),
        article=str(m.get("article", "")), chunk_id=hit.chunk_id,
    )


def source_lines(citations: list[Citation], lang: str) -> str:
    lines = [messages()[lang]["sources"]]
    for c in citations:
        where = ", ".join(x for x in (c.article, c.publisher, c.date) if x)
        lines.append(f"[{c.n}] {c.title}" + (f" ({where})" if where else ""))
    return "\n".join(lines)


def passage_answer(
    question: str, hits: list[Hit], lang: str, idf: dict[str, float], max_sentences: int = 3
) -> Answer:
    """Quote the sentences that best answer the question, best passages first."""
    q_terms = set(tokens(question))
    weight = sum(idf.get(t, 1.0) for t in q_terms) or 1.0
    wanted = [a["sentence"] for a in answer_types() if a["question"].search(question)]
    candidates: list[tuple[float, int, int, str]] = []
    doc_rank: dict[str, int] = {}
    for index, hit in enumerate(hits):
        rank = doc_rank.setdefault(hit.doc_id, len(doc_rank))
        if rank >= 3 or str(hit.metadata.get("section", "")).lower() in QUESTION_SECTIONS:
            continue  # ways of asking are matched, never quoted
        for pos, sentence in enumerate(split_sentences(hit.text)):
            if len(sentence) < 25:
                continue
            shared = overlap(q_terms, sentence, idf) / weight
            typed = 0.3 * any(p.search(sentence) for p in wanted)
            score = shared + typed + 0.15 / (rank + 1) + 0.02 / (pos + 1)
            candidates.append((score, index, pos, sentence))
    if not candidates:
        return abstain(question, lang)
    best = sorted(candidates, key=lambda c: c[0], reverse=True)
    chosen = [best[0]]
    for cand in best[1:]:
        if len(chosen) == max_sentences:
            break
        if any(cand[3] == c[3] for c in chosen):
            continue  # the same sentence in an overlapping passage
        if cand[0] >= 0.6 * best[0][0] and sum(len(c[3]) for c in chosen) < 500:
            chosen.append(cand)
    chosen.sort(key=lambda c: (c[1], c[2]))  # reading order: by passage, then position

    citations: list[Citation] = []
    numbers: dict[int, int] = {}  # hit index -> citation number, in order of first quote
    quoted: list[str] = []
    for _, index, _, sentence in chosen:
        if index not in numbers:
            numbers[index] = len(numbers) + 1
            citations.append(citation_for(numbers[index], hits[index], sentence))
        else:
            citations[numbers[index] - 1].quote += " " + sentence
        quoted.append(f"{sentence} [{numbers[index]}]")
    msg = messages()[lang]
    text = f"{msg['intro']}\n\n" + "\n".join(quoted) + "\n\n" + source_lines(citations, lang)
    return Answer(question, text, citations, grounded=True, language=lang)


def add_basis(answer: Answer, card: dict[str, Any], lang: str) -> None:
    """Name the legal basis of an explanation card under its quotes (before the sources)."""
    cited = next((c.n for c in answer.citations if c.doc_id == card.get("id")), None)
    if cited is None:
        return
    msg = messages()[lang]
    line = f"{msg['basis']} {'; '.join(map(str, card['basis']))}. [{cited}]"
    body, sep, sources = answer.text.rpartition("\n\n" + msg["sources"])
    answer.text = f"{body}\n{line}{sep}{sources}"


@lru_cache(maxsize=1)
def answer_types() -> list[dict[str, Any]]:
    """Question words and the look of sentences that answer them (data/answer_types.yaml)."""
    path = resources.files("assistant.data").joinpath("answer_types.yaml")
    return [
        {"name": a["name"], "question": re.compile(a["question"], re.I),
         "sentence": re.compile(a["sentence"], re.I)}
        for a in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]


@lru_cache(maxsize=1)
def superseded() -> dict[str, str]:
    path = resources.files("assistant.data").joinpath("superseded.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def card_of(hit: Hit) -> dict[str, Any]:
    """The front matter of the document a hit comes from."""
    return json.loads(str(hit.metadata.get("doc_meta") or "{}"))


def overlap(terms: set[str], text: str, idf: dict[str, float]) -> float:
    """How much of the question's (rare) vocabulary, ``terms = set(tokens(question))``,
    a text shares."""
    return sum(idf.get(t, 1.0) for t in terms & set(tokens(text)))


def best_sentences(question: str, texts: list[str], idf: dict[str, float], n: int = 2
                   ) -> list[str]:
    """The ``n`` sentences sharing the most (rare) words with the question, in text order."""
    terms = set(tokens(question))
    scored = []
    for i, sentence in enumerate(s for t in texts for s in split_sentences(t)):
        scored.append((overlap(terms, sentence, idf), -i, sentence))
    top = sorted(scored, reverse=True)[:n]
    return [s for _, _, s in sorted(top, key=lambda x: -x[1])]


def rule_answer(question: str, card_hit: Hit, rule_texts: list[str], support: list[Hit],
                lang: str, idf: dict[str, float]) -> Answer:
    """Verdict first, then the reason, the legal basis, the sanction and the sources.

    ``rule_texts`` is the card's own statement of the rule (quoted as evidence);
    ``support`` are passages of official texts whose article the card cites."""
    card = card_of(card_hit)
    msg = messages()[lang]
    en = lang == "en"
    verdict = card["verdict"]
    conditions = str(card.get("conditions_en" if en else "conditions", "")).strip()
    if conditions and not conditions.endswith((".", "!", "?")):
        conditions += "."
    line = msg["verdict"][verdict].format(conditions=conditions)
    summary = card.get("summary_en" if en else "summary", "").strip()
    basis = [str(b) for b in card.get("basis") or []]
    sanction = card.get("sanction") or {}
    sanction_text = str(sanction.get("text_en" if en else "text", "")).strip()

    quote = " ".join(best_sentences(question, rule_texts, idf)) or summary
    citations = [citation_for(1, card_hit, quote)]
    for hit in support:
        citations.append(citation_for(len(citations) + 1, hit, hit.text))
    support_marks = "".join(f" [{c.n}]" for c in citations[1:])

    parts = [f"{line} {summary} [1]", ""]
    if basis:
        parts.append(f"{msg['basis']} {'; '.join(basis)}. [1]{support_marks}")
    parts.append(f"{msg['sanction']} {sanction_text or msg['no_sanction']} [1]")
    for old, new in superseded().items():
        if any(b.startswith(old) for b in basis):
            parts.append(msg["superseded"].format(old=old, new=new))
    text = "\n".join(parts) + "\n\n" + source_lines(citations, lang)
    return Answer(question, text, citations, grounded=True, verdict=verdict, language=lang)


def article_answer(question: str, label: str, hits: list[Hit], lang: str, limit: int = 30
                   ) -> Answer:
    """The text of the article a question names, unit by unit, each cited. A lead-in that
    every unit repeats ("PNS dilarang: ...") is shown once."""
    citations = [citation_for(i, h, h.text) for i, h in enumerate(hits[:limit], start=1)]
    lead = _shared_lead(
        [c.quote for c in citations]) if len(citations) > 1 else ""
    lines = [lead] if lead else []
    for c in citations:
        unit = c.article.removeprefix(label).strip() or c.article
        lines.append(f"- {unit}: {c.quote[len(lead):].strip()} [{c.n}]")
    intro = messages()[lang]["article_intro"].format(label=label)
    text = f"{intro}\n\n" + "\n".join(lines) + f"\n\n{source_lines(citations, lang)}"
    return Answer(question, text, citations, grounded=True, language=lang)


def _shared_lead(texts: list[str]) -> str:
    """The longest common beginning of all texts that ends at a colon."""
    prefix = texts[0]
    for t in texts[1:]:
        while not t.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: prefix.rfind(":") + 1] if ":" in prefix else ""
