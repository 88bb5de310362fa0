"""Writing the answer of a decision: text with [n] markers, its citations, and the same
content as data (verdict, basis, sanction, alternatives).

No model is needed here; the wording is in ``prompts/messages.yaml``. The answer's own words
follow the question's language; quotes stay as written.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from assistant.answer import Alternative, Answer, Basis, Citation, Sanction
from assistant.decide import Decision
from assistant.retrieval import Hit
from assistant.understand import Question, intent_meta


@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, Any]]:
    path = resources.files("assistant.prompts").joinpath("messages.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def superseded() -> dict[str, str]:
    path = resources.files("assistant.data").joinpath("superseded.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def compose(d: Decision) -> Answer:
    q = d.question
    if d.outcome == "abstain":
        return abstain(q, d.card, d.reason)
    if d.outcome == "article":
        return _article(d)
    if d.outcome == "passages":
        return _passages(d)
    if d.outcome == "clarify":
        return _clarify(d)
    if d.outcome == "parts":
        return _parts(d)
    return _card(d)


def abstain(q: Question, near_miss: dict[str, Any] | None = None, reason: str = ""
            ) -> Answer:
    """A decline; for a known near miss (a ``luar`` document), with where to ask instead;
    for a question about people the ASN rules do not bind, saying so."""
    text = messages()[q.lang]["abstain"]
    if reason == "other_actor":
        text = messages()[q.lang]["other_actor"].format(who=", ".join(q.others))
    elif reason in ("abroad", "not_a_question"):
        text = messages()[q.lang][reason]
    pointer = (near_miss or {}).get("pointer_en" if q.lang == "en" else "pointer")
    if pointer:
        text = f"{messages()[q.lang]['near_miss']} {pointer}"
    return Answer(q.text, text, [], grounded=False, language=q.lang, intent=q.intent,
                  outcome="abstain")


# --------------------------------------------------------------------------------------------
# Citations
# --------------------------------------------------------------------------------------------


def citation_for(n: int, hit: Hit, quote: str) -> Citation:
    m = hit.metadata
    return Citation(
        n=n, doc_id=hit.doc_id, title=str(m.get("title", "")), type=str(m.get("type", "")),
        publisher=str(m.get("publisher", "")), date=str(m.get("date", "")),
        url=str(m.get("url", "")), quote=quote, score=round(hit.similarity, 4),
        article=str(m.get("article", "")), chunk_id=hit.chunk_id,
    )


def source_line(c: Citation, lang: str) -> str:
    """One numbered source. A rule card's date is when the team last updated it, an official
    text's when it was enacted: each is labelled so."""
    msg = messages()[lang]
    dated = msg["dated"].get(c.type, "{date}").format(date=c.date) if c.date else ""
    where = ", ".join(x for x in (c.article, c.publisher, dated) if x)
    return f"[{c.n}] {c.title}" + (f" ({where})" if where else "")


def source_lines(citations: list[Citation], lang: str) -> str:
    """The numbered list of sources."""
    return "\n".join([messages()[lang]["sources"], *(source_line(c, lang) for c in citations)])


def without_sources(answer: Answer) -> str:
    """An answer's text without its closing list of sources (for views that show the
    sources their own way: the app's chips, an exported handout)."""
    tail = source_lines(answer.citations, answer.language)
    text = answer.text.strip()
    return text[: -len(tail)].rstrip() if tail and text.endswith(tail) else text


def _text(body: list[str], citations: list[Citation], lang: str) -> str:
    return "\n".join(body).strip() + "\n\n" + source_lines(citations, lang)


# --------------------------------------------------------------------------------------------
# Rule cards: verdict or explanation
# --------------------------------------------------------------------------------------------


def _card(d: Decision) -> Answer:
    """Verdict (or the part the question asks for) first, then the reason, the legal basis
    backed by the official article texts, the sanction and the sources."""
    q, card = d.question, d.card
    assert d.card_hit is not None
    msg = messages()[q.lang]
    en = q.lang == "en"
    quote = " ".join(h.text for h in d.evidence) or str(card.get("summary", ""))
    citations = [citation_for(1, d.card_hit, quote)]
    for hit in d.support:
        citations.append(citation_for(len(citations) + 1, hit, hit.text))
    basis = _basis(card, d.support)
    sanction = _sanction(card, en)
    summary = str(card.get("summary_en" if en else "summary", "")).strip()
    # A follow-up asks about one thing: the sentence that holds it, not the card's summary.
    reason = quote if q.follow_up == "action" and d.evidence else summary
    verdict = card.get("verdict") if d.outcome == "verdict" else None

    lead = intent_meta(q.intent)["lead"]
    body: list[str] = []
    if verdict:
        body.append(f"{_verdict_line(card, verdict, q.lang)} {reason} [1]")
        if d.reason == "breach_named":
            # The question's situation is allowed elsewhere; the act it names is not.
            act = next((used for cid, used in q.breaches if cid == card.get("id")), "")
            body.append(msg["breach"].format(act=act.strip(),
                                             permitted=d.alternatives[0].get("title", "")))
    elif lead == "sanction" and sanction.text:
        body.append(f"{msg['sanction']} {sanction.text} [1]")
        body.append(f"{reason} [1]")
    else:
        if d.reason == "unsure_of_verdict":
            body.append(msg["unsure"].format(title=card.get("title", "")))
        body.append(f"{reason} [1]")
    body.append("")
    if basis:
        marks = "".join(f" [{c.n}]" for c in citations[1:])
        body.append(f"{msg['basis']} {'; '.join(b.label for b in basis)}. [1]{marks}")
    if not (lead == "sanction" and not verdict):
        no_sanction = msg["no_sanction"] if card.get("verdict") == "boleh" else ""
        if sanction.text or no_sanction:
            body.append(f"{msg['sanction']} {sanction.text or no_sanction} [1]")
    for old, new in superseded().items():
        if any(b.label.startswith(old) for b in basis):
            body.append(msg["superseded"].format(old=old, new=new))
    return Answer(
        q.text, _text(body, citations, q.lang), citations, grounded=True, verdict=verdict,
        language=q.lang, intent=q.intent, outcome=d.outcome, basis=basis,
        sanction=sanction if (sanction.text or sanction.level) else None,
        confidence=_rounded(d.confidence),
    )


def _verdict_line(card: dict[str, Any], verdict: str, lang: str) -> str:
    conditions = str(card.get("conditions_en" if lang == "en" else "conditions", "")).strip()
    if conditions and not conditions.endswith((".", "!", "?")):
        conditions += "."
    return messages()[lang]["verdict"][verdict].format(conditions=conditions)


def _basis(card: dict[str, Any], support: list[Hit]) -> list[Basis]:
    found: list[Basis] = []
    for label in map(str, card.get("basis") or []):
        unit = next((i for i, h in enumerate(support)
                     if str(h.metadata.get("article", "")).startswith(label)), None)
        regulation = label.split(" Pasal ")[0].split(" Penjelasan")[0].split(" Lampiran")[0]
        if unit is None:
            found.append(Basis(label, regulation, "", 1))
        else:
            found.append(Basis(label, regulation, support[unit].text, unit + 2))
    return found


def _sanction(card: dict[str, Any], en: bool) -> Sanction:
    raw = card.get("sanction") or {}
    level = [str(x) for x in raw.get("level") or []]
    return Sanction(level, str(raw.get("text_en" if en else "text", "")).strip())


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


# --------------------------------------------------------------------------------------------
# Several actions, each with its own rule
# --------------------------------------------------------------------------------------------


def _parts(d: Decision) -> Answer:
    """One line per action asked, with its verdict, its reason and its card and official
    texts as numbered sources; the answer's verdict is the parts' shared verdict, or
    ``bersyarat`` (it depends on the action) when they differ."""
    q = d.question
    msg = messages()[q.lang]
    en = q.lang == "en"
    citations: list[Citation] = []
    numbers: dict[str, int] = {}
    body = [msg["parts_intro"]]
    basis: list[Basis] = []
    answers = [_card(p) for p in d.parts]
    for part, answer in zip(d.parts, answers, strict=True):
        assert part.card_hit is not None
        marks = []
        for c in answer.citations:
            if c.chunk_id not in numbers:
                numbers[c.chunk_id] = len(citations) + 1
                citations.append(replace(c, n=numbers[c.chunk_id]))
            marks.append(f"[{numbers[c.chunk_id]}]")
        renumber = {c.n: numbers[c.chunk_id] for c in answer.citations}
        named = {x.label for x in basis}
        basis += [replace(b, citation=renumber.get(b.citation or 1)) for b in answer.basis
                  if b.label not in named]
        card = part.card
        summary = str(card.get("summary_en" if en else "summary", "")).strip()
        verdict = _verdict_line(card, str(card.get("verdict")), q.lang)
        asked = part.question.text.strip().rstrip("?").strip()
        body.append(f"- {asked}? {verdict} {summary} {marks[0]}")
        sanction = _sanction(card, en)
        if sanction.text:
            body.append(f"  {msg['sanction']} {sanction.text} {marks[0]}")
    if d.reason == "some_parts_unanswered":
        body.append(msg["parts_missing"])
    body.append("")
    body.append(f"{msg['basis']} {'; '.join(b.label for b in basis)}.")
    verdicts = {a.verdict for a in answers}
    verdict = verdicts.pop() if len(verdicts) == 1 else "bersyarat"
    return Answer(q.text, _text(body, citations, q.lang), citations, grounded=True,
                  verdict=verdict, language=q.lang, intent=q.intent, outcome="parts",
                  basis=basis, confidence=_rounded(d.confidence), parts=answers)


# --------------------------------------------------------------------------------------------
# Clarify: two rules fit
# --------------------------------------------------------------------------------------------


def _clarify(d: Decision) -> Answer:
    q = d.question
    msg = messages()[q.lang]
    assert d.card_hit is not None
    citations: list[Citation] = []
    alternatives: list[Alternative] = []
    withheld = d.reason == "permission_withheld"
    body = [msg["withheld_intro" if withheld else "clarify_intro"]]
    for card in d.alternatives:
        n = len(citations) + 1
        summary = str(card.get("summary_en" if q.lang == "en" else "summary", "")).strip()
        hit = Hit(f"{card['id']}::card", summary, _card_meta(card), 0.0, 0.0, 0.0)
        citations.append(citation_for(n, hit, summary))
        verdict = msg["verdict_label"].get(card.get("verdict"), "")
        body.append(f"- {card.get('title', '')}: {verdict}. {summary} [{n}]")
        precise = msg["alternative_question"].format(action=_lower_first(card.get("title", "")))
        alternatives.append(Alternative(str(card.get("title", "")), precise,
                                        card.get("verdict"), str(card["id"])))
    body.append("")
    body.append(msg["withheld_ask" if withheld else "clarify_ask"])
    return Answer(q.text, _text(body, citations, q.lang), citations, grounded=True,
                  language=q.lang, intent=q.intent, outcome="clarify",
                  confidence=_rounded(d.confidence), alternatives=alternatives)


def _card_meta(card: dict[str, Any]) -> dict[str, Any]:
    return {"doc_id": card["id"], "title": card.get("title", ""), "type": card.get("type", ""),
            "publisher": card.get("publisher", ""), "date": card.get("date", ""),
            "url": card.get("url", ""), "section": "", "article": ""}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


# --------------------------------------------------------------------------------------------
# Passages and articles
# --------------------------------------------------------------------------------------------


def _passages(d: Decision) -> Answer:
    """Quote the chosen sentences, each followed by the marker of its passage."""
    q = d.question
    msg = messages()[q.lang]
    citations: list[Citation] = []
    numbers: dict[str, int] = {}  # chunk id -> citation number, in order of first quote
    quoted: list[tuple[str, int]] = []  # (text, citation number); a passage's run is one
    for hit in d.evidence:
        if hit.chunk_id not in numbers:
            numbers[hit.chunk_id] = len(numbers) + 1
            citations.append(citation_for(numbers[hit.chunk_id], hit, hit.text))
        else:
            citations[numbers[hit.chunk_id] - 1].quote += " " + hit.text
        n = numbers[hit.chunk_id]
        if quoted and quoted[-1][1] == n:
            quoted[-1] = (f"{quoted[-1][0]} {hit.text}", n)
        else:
            quoted.append((hit.text, n))
    body = [msg["intro"], "", *(f"{text} [{n}]" for text, n in quoted)]
    return Answer(q.text, _text(body, citations, q.lang), citations, grounded=True,
                  language=q.lang, intent=q.intent, outcome="passages",
                  confidence=_rounded(d.confidence))


def _article(d: Decision, limit: int = 30) -> Answer:
    """The text of the article a question names, unit by unit, each cited. A lead-in that
    every unit repeats ("PNS dilarang: ...") is shown once."""
    q = d.question
    label = q.article or ""
    hits = d.evidence[:limit]
    citations = [citation_for(i, h, h.text) for i, h in enumerate(hits, start=1)]
    lead = _shared_lead([c.quote for c in citations]) if len(citations) > 1 else ""
    lines = [lead] if lead else []
    for c in citations:
        unit = c.article.removeprefix(label).strip() or c.article
        lines.append(f"- {unit}: {c.quote[len(lead):].strip()} [{c.n}]")
    intro = messages()[q.lang]["article_intro"].format(label=label)
    basis = [Basis(c.article, label.split(" Pasal ")[0], c.quote, c.n) for c in citations]
    return Answer(q.text, _text([intro, "", *lines], citations, q.lang), citations,
                  grounded=True, language=q.lang, intent=q.intent, outcome="article",
                  basis=basis, confidence=1.0)


def _shared_lead(texts: list[str]) -> str:
    """The longest common beginning of all texts that ends at a colon."""
    prefix = texts[0]
    for t in texts[1:]:
        while not t.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: prefix.rfind(":") + 1] if ":" in prefix else ""
