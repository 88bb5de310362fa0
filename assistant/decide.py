"""Deciding what a question gets: an article's text, a verdict, an explanation, quoted
passages, a question back (clarify), or nothing (abstain).

A verdict is given only to a question that asks for one (permission, scenario), only from
a rule card whose action is the question's (the card does not exclude what the question
names, it applies to the question's actor) and only when the calibrated probability that
the card fits clears the threshold chosen on the validation split (``calibration``). Every
decision carries the features it was made on, so that the evaluation can log them and the
calibration can be refitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.calibration import Calibration
from assistant.chunking import OUT_OF_SCOPE_TYPE, QUESTION_SECTIONS, quotable, quoted_sentences
from assistant.retrieval import Hit, Retrieval, Retriever
from assistant.text import (
    affirms,
    phrase_regex,
    split_sentences,
    token_set,
    tokens,
)
from assistant.understand import Question, answer_types, intent_meta, lexicon

RULE_SECTION = "Aturannya"  # the section of a rule card that states the rule
NEWS_TYPE = "berita"  # news reports: quoted sentence by sentence
CARD_MARGIN = 0.03  # how far behind a news item a rule card still answers permission (train)
NEAR_MISS_MARGIN = 0.015  # how close behind the first a near miss still decides (train)
NEAR_MISS_LEAD = 0.01  # how far a near miss must lead the chosen document's meaning (train)
ASN_ACTORS = {"pns", "pppk", "cpns", "asn"}
PERMISSIVE = frozenset({"boleh", "bersyarat"})
OUTCOMES = ("article", "verdict", "parts", "explanation", "passages", "clarify", "abstain")


@dataclass
class Decision:
    outcome: str
    question: Question
    card: dict[str, Any] = field(default_factory=dict)  # the deciding card's front matter
    card_hit: Hit | None = None
    evidence: list[Hit] = field(default_factory=list)  # what the answer quotes, in order
    support: list[Hit] = field(default_factory=list)  # official units backing the card
    alternatives: list[dict[str, Any]] = field(default_factory=list)  # cards, for clarify
    confidence: float | None = None
    features: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # why it abstains or asks back
    parts: list[Decision] = field(default_factory=list)  # one verdict per action asked


def combine(whole: Decision, parts: list[Decision]) -> Decision:
    """A question about several actions ("Ndak boleh milih? Ndak boleh masuk parpol?") is
    answered action by action when different cards rule on its parts; otherwise its own
    decision stands. Parts that get no verdict are left to the whole answer's note."""
    ruled: dict[str, Decision] = {}
    for part in parts:
        if part.outcome == "verdict":
            ruled.setdefault(str(part.card.get("id")), part)
    if len(ruled) < 2:
        return whole
    chosen = list(ruled.values())
    return Decision("parts", whole.question, features=whole.features, parts=chosen,
                    confidence=min(p.confidence or 0.0 for p in chosen),
                    reason="" if len(chosen) == len(parts) else "some_parts_unanswered")


def has_real_words(q: Question, vocab: set[str]) -> bool:
    """Whether a question uses a word the assistant knows: one the index holds (of three
    letters or more, since it also holds list letters and "ad" or "id"), one the lexicon
    names, or a regulation. Without one (function words, numbers, keyboard mash, lorem
    ipsum, an SQL injection) any passage found would match by accident, so nothing is
    searched; a follow-up of function words only ("kenapa?") leans on the question before."""
    if q.article or q.names_regulation:
        return True
    if not q.content:
        return bool(q.follow_up)
    known = lexicon()["known"]
    return any(w in known or any(len(t) >= 3 and t in vocab for t in tokens(w))
               for w in q.content)


def decide(q: Question, found: Retrieval, retriever: Retriever, cal: Calibration,
           cautious: bool = False) -> Decision:
    """``cautious``: a conditional verdict is not given; the answer asks back instead."""
    if q.article:
        units = retriever.by_article(q.article)
        if units:
            return Decision("article", q, evidence=units, confidence=1.0)
    if not found.hits or found.similarity is None:
        return Decision("abstain", q, reason="no_evidence")
    if q.abroad:
        return Decision("abstain", q, reason="abroad")  # the rules here are Indonesia's
    if q.others and not q.actors:
        # "Bolehkah mahasiswa ikut kampanye?", "Bolehkah paslon bagi sembako?": the rules
        # here bind civil servants, not them.
        return Decision("abstain", q, reason="other_actor")
    chosen = _closer_near_miss(q, found, retriever, _choose(q, found, retriever))
    card = retriever.doc_meta(chosen) if _is_card(retriever, chosen) else {}
    card = _ruled(q, card)
    feats = features(q, found, retriever, chosen, card)
    permitted: dict[str, Any] = {}  # the card whose situation a breaching act overrides
    breach = _breach(q, card)
    if breach and q.asks_verdict and retriever.doc_meta(breach):
        # "Foto bareng suami caleg, terus di-share boleh?": the photo may be allowed, the
        # sharing is not. The act decides; the question's scope is still the first card's.
        permitted, card = card, _ruled(q, retriever.doc_meta(breach))
        first, chosen = chosen, breach
        if not _eligible(q, card):
            return Decision("clarify", q, permitted, retriever.best_chunk(first, found.similarity),
                            alternatives=[permitted, card], features=feats,
                            reason="breach_named")
    if _is_near_miss(retriever, chosen):
        # A near miss the corpus names as such (pension age, the CPNS exam): decline, and
        # say where the answer is.
        return Decision("abstain", q, card=retriever.doc_meta(chosen), features=feats,
                        reason="out_of_scope")
    scope = cal.in_scope(feats)
    if (q.wants and q.names and retriever.doc_meta(chosen).get("type") == NEWS_TYPE
            and _names_covered(q, retriever, chosen) == len(q.names)):
        # "Who heads AWDI in Musi Banyuasin?": a who, when or how many about names that the
        # chosen news report holds, every one, is a question about that report.
        scope = max(scope, cal.threshold("scope"))
    if q.asks_verdict and not q.election_terms:
        # "Boleh mutasi ikut suami?" asks permission about no election, campaign, candidate
        # or party at all: whatever card resembles it, its rule is not this question's.
        return Decision("abstain", q, features=feats, confidence=scope, reason="no_election_word")
    if scope < cal.threshold("scope"):
        return Decision("abstain", q, features=feats, confidence=scope, reason="out_of_scope")
    if (q.wants or q.intent == "reason") and feats["unknown_names"]:
        # "Siapa ASN Pemkot Malang yang ...?", "Kenapa Kadis PU Benteng dipanggil?": a
        # name, a date or a reason about people or places no document mentions is not in
        # the corpus, whatever sentence resembles it.
        return Decision("abstain", q, features=feats, confidence=scope, reason="unknown_names")
    card_hit = retriever.best_chunk(chosen, found.similarity)
    if not card or (q.intent == "fact" and q.wants):
        # News, official texts, and asked-for dates and numbers: quote the sentence. A card
        # whose rule holds no date ("kapan harus mundur?": once set as a candidate) still
        # answers with its rule (a question naming unknown people was declined above).
        quoted = _passages(q, found, retriever, chosen, feats, scope)
        if quoted.outcome == "passages" or not card:
            return quoted
    support = _support(q, card, retriever)
    rule = [h for h in retriever.doc_hits(card_hit)
            if h.metadata.get("section") == RULE_SECTION] or [card_hit]
    quote = best_sentences(q, found, retriever, rule, limit=2, typed=False, semantic=False)
    if q.asks_verdict and card.get("verdict"):
        fit = cal.fits(feats)
        # A verdict needs more certainty that the question is in scope than an explanation
        # does: a verdict on a question outside it is a harmful answer.
        sure = scope >= max(cal.threshold("verdict_scope"), cal.threshold("scope"))
        if fit >= cal.threshold("verdict") and sure and _eligible(q, card):
            if cautious and card.get("verdict") == "bersyarat":
                # Whether a conditional permission holds turns on details a question
                # rarely gives (the place, the hour, the superior's leave, what else is
                # done there): show the allowed case beside the forbidden one and ask.
                contrast = _contrast(q, found, retriever, chosen)
                return Decision("clarify", q, card, card_hit, quote, support,
                                alternatives=[card, *contrast], confidence=fit,
                                features=feats, reason="permission_withheld")
            return Decision("verdict", q, card, card_hit, quote, support, confidence=fit,
                            features=feats, alternatives=[permitted] if permitted else [],
                            reason="breach_named" if permitted else "")
        others = _rivals(q, found, retriever, chosen)
        if others:
            return Decision("clarify", q, card, card_hit, alternatives=[card, *others],
                            confidence=fit, features=feats, reason="two_rules_fit")
        if not _eligible(q, card):
            return Decision("abstain", q, features=feats, confidence=fit, reason="no_rule_fits")
        return Decision("explanation", q, card, card_hit, quote, support, confidence=fit,
                        features=feats, reason="unsure_of_verdict")
    return Decision("explanation", q, card, card_hit, quote, support, confidence=scope,
                    features=feats)


# --------------------------------------------------------------------------------------------
# Which document decides
# --------------------------------------------------------------------------------------------


def _is_card(retriever: Retriever, doc_id: str) -> bool:
    return retriever.doc_meta(doc_id).get("type") == "aturan"


def _is_near_miss(retriever: Retriever, doc_id: str) -> bool:
    return retriever.doc_meta(doc_id).get("type") == OUT_OF_SCOPE_TYPE


def _ranked_docs(found: Retrieval) -> list[str]:
    return list(dict.fromkeys(h.doc_id for h in found.hits))


def _choose(q: Question, found: Retrieval, retriever: Retriever) -> str:
    """The document that answers: the top one, unless the question's actor, its intent or
    the card's own limits point to another."""
    docs = _ranked_docs(found)
    assert found.similarity is not None
    miss = _near_miss(q, found, retriever, docs)
    if miss:
        return miss
    # A retiree, honorary staff, TNI/Polri or a village head: their own card answers.
    if q.special_actors:
        own = [d for d in retriever.doc_ids()
               if _applies_to(retriever.doc_meta(d), q.special_actors)
               and not _excluded(q, retriever.doc_meta(d))]
        if own:
            return max(own, key=lambda d: retriever.doc_similarity(d, found.similarity))
    # "Apa saja sanksinya?", "lapor ke mana?", "bisa dipidana?": the card on that subject.
    topics = set(intent_meta(q.intent).get("topics") or [])
    if topics and (not q.action_terms or q.intent in ("criminal", "report", "authority")):
        on_topic = [d for d in retriever.doc_ids()
                    if str(retriever.doc_meta(d).get("topic", "")) in topics]
        if on_topic:
            best = max(on_topic, key=lambda d: retriever.doc_similarity(d, found.similarity))
            # ... unless the top document names what the question names and that card does
            # not ("siapa yang diminta menindak ASN di Pilkada Palembang?" is about the news).
            if _names_covered(q, retriever, docs[0]) <= _names_covered(q, retriever, best):
                return best
    top = docs[0]
    # A card one of whose rulings names the question's very action ("foto jari ungu") answers
    # it before a card that merely resembles the question.
    if q.asks_verdict and not _names_ruling(q, retriever.doc_meta(top)):
        named = [d for d in docs[1:5] if _is_card(retriever, d)
                 and _names_ruling(q, retriever.doc_meta(d))
                 and _covers(q, retriever.doc_meta(d))]
        if named:
            return named[0]
    meta = retriever.doc_meta(top)
    # A permission question is answered by a rule card: news and official texts ranked above
    # it are its evidence, not its verdict.
    if q.asks_verdict and meta.get("type") != "aturan":
        best = retriever.doc_similarity(top, found.similarity)
        for doc in docs[1:5]:
            other = retriever.doc_meta(doc)
            close = best - retriever.doc_similarity(doc, found.similarity) <= CARD_MARGIN
            if other.get("type") == "aturan" and other.get("verdict") and close:
                top, meta = doc, other
                break
    # An overview of a regulation answers questions about that regulation; for a question
    # about an action, a card with a verdict close behind it is the better evidence.
    if meta.get("topic") == "regulasi" and not q.names_regulation:
        for doc in docs[1:4]:
            other = retriever.doc_meta(doc)
            if other.get("verdict") and _covers(q, other):
                return doc
    # A card that does not cover what the question names, or is written for other actors
    # (retirees, TNI/Polri) than the question's, yields to the next card.
    # For a permission question, a card that rules comes before an overview.
    if not _covers(q, meta):
        covering = [d for d in docs[1:4] if _is_card(retriever, d)
                    and _covers(q, retriever.doc_meta(d))]
        ruling = [d for d in covering if _rules(retriever.doc_meta(d))]
        if q.asks_verdict and not q.names_regulation and ruling:
            return ruling[0]
        if covering:
            return covering[0]
    return top


def _names_ruling(q: Question, card: dict[str, Any]) -> bool:
    """Whether the question names the action of one of a card's rulings that allows
    something (a ruling that forbids lists acts that many situations share)."""
    text = q.matched
    return not _special_only(card) and any(
        r.get("verdict") != "tidak_boleh" and affirms(text, r.get("when") or [])
        for r in card.get("rulings") or [])


def _rules(card: dict[str, Any]) -> bool:
    """Whether a card can give a verdict: its own, or one of its rulings'."""
    return bool(card.get("verdict") or card.get("rulings"))


def _near_miss(q: Question, found: Retrieval, retriever: Retriever, docs: list[str]
               ) -> str | None:
    """A near miss (pension age, how to register for the KPPS) ranked first, or close behind
    the first for a question that names no civil servant and does not ask permission for
    the asker. A permission question about a civil servant keeps a card that is clearly
    closer in meaning ("bolehkah dosen ASN ikut kampanye di kampus?")."""
    assert found.similarity is not None
    about_asn = q.asks_for_asn
    election = set(q.terms) & lexicon()["domain_roots"]
    sims = {d: retriever.doc_similarity(d, found.similarity) for d in docs[:4]}
    for doc in docs[:2]:
        if not _is_near_miss(retriever, doc):
            continue
        meta = retriever.doc_meta(doc)
        bound = [str(b).lower() for b in meta.get("binds") or []]
        # Its rules bind other people, unless civil servants too (voters) or the question's
        # own actor (a village head and the near miss on running a village election).
        theirs = bool(meta.get("binds_asn")) or any(
            a.lower() in b for a in q.special_actors for b in bound)
        binds = bool(bound) and not theirs
        # Leave days are no answer to "boleh berkampanye di hari libur?": the near miss
        # never speaks of the question's election words.
        unrelated = bool(election) and not election & retriever.doc_terms(doc)
        if about_asn and (binds or unrelated or any(sims[d] > sims[doc] + NEAR_MISS_LEAD
                                                    for d in docs[:4]
                                                    if _is_card(retriever, d))):
            break
        gap = sims[docs[0]] - sims[doc]
        # Permission asked for nobody in particular may be about the rules of the people a
        # near miss binds ("bolehkah kampanye di sekolah?": the campaigners').
        others_rules = not q.asks_verdict or bool(bound)
        if doc == docs[0] or (gap <= NEAR_MISS_MARGIN and not q.actors and not about_asn
                              and others_rules):
            return doc
    return None


def _closer_near_miss(q: Question, found: Retrieval, retriever: Retriever, chosen: str) -> str:
    """A near miss that the question's meaning is clearly closer to than to the chosen
    document, wherever the word match ranked it ("is there a cap on donations to a party?"
    is about campaign finance, not party membership). A permission question keeps its card
    when it is about a civil servant, named or the asker; one that names nobody ("bolehkah
    kampanye di sekolah?") may be about the campaigners' own rules."""
    assert found.similarity is not None
    topics = set(intent_meta(q.intent).get("topics") or [])
    if q.asks_for_asn or str(retriever.doc_meta(chosen).get("topic", "")) in topics:
        return chosen  # ... or the card on what it asks ("lapornya ke mana?")
    best = retriever.doc_similarity(chosen, found.similarity) + NEAR_MISS_LEAD
    misses = [d for d in retriever.doc_ids() if _is_near_miss(retriever, d)]
    closer = [d for d in misses if retriever.doc_similarity(d, found.similarity) > best]
    return max(closer, key=lambda d: retriever.doc_similarity(d, found.similarity),
               default=chosen)


def _breach(q: Question, card: dict[str, Any]) -> str | None:
    """The card of an act the question names that breaches neutrality whatever the
    situation, when the chosen card would permit it or rules on no action (an overview, who
    the rules apply to): a permitting card answers only for what it permits (its
    ``requires``, ``allows`` and its rulings other than tidak_boleh)."""
    if (not card or card.get("verdict") == "tidak_boleh" or card.get("others_act")
            or _special_only(card)):
        return None
    allowed = [*(card.get("requires") or []), *(card.get("allows") or [])]
    for ruling in card.get("rulings") or []:
        if ruling.get("verdict") != "tidak_boleh":
            allowed += ruling.get("when") or []
    own = phrase_regex(tuple(str(p).lower() for p in allowed), True)
    for forbidding, used in q.breaches:
        if forbidding != card.get("id") and not (own and own.fullmatch(used)):
            return forbidding
    return None


def _ruled(q: Question, card: dict[str, Any]) -> dict[str, Any]:
    """A card without one verdict may hold ``rulings``, one per action (a village head may
    vote but not campaign): the first whose phrases the question uses gives the verdict and
    the summary."""
    text = q.matched
    for ruling in card.get("rulings") or []:
        if affirms(text, ruling.get("when") or []):
            fields = {k: v for k, v in ruling.items() if k != "when"}
            return {**card, **fields}
    return card


def _names_covered(q: Question, retriever: Retriever, doc_id: str) -> int:
    terms = retriever.doc_terms(doc_id)
    return sum(set(tokens(name)) <= terms for name in q.names)


def _applies_to(card: dict[str, Any], actors: tuple[str, ...]) -> bool:
    covered = {str(a).lower() for a in card.get("applies_to") or []}
    return any(a.lower() in covered or any(p in covered for p in a.lower().split("/"))
               for a in actors)


def _excluded(q: Question, card: dict[str, Any]) -> bool:
    """Whether the question names something the card says it does not cover, or misses
    what the card's situation needs (a card about a spouse who runs ``requires`` a spouse:
    "boleh bantu caleg?" is not about one)."""
    text = q.matched
    if affirms(text, card.get("excludes") or []):  # "di luar jam kerja" is no working hours
        return True
    needed = card.get("requires") or []
    return bool(needed) and not affirms(text, needed)


def _covers(q: Question, card: dict[str, Any]) -> bool:
    return not _excluded(q, card) and (bool(q.special_actors) or not _special_only(card))


def _eligible(q: Question, card: dict[str, Any]) -> bool:
    """Whether a card's verdict may answer: it covers what the question names, and its
    actor is the question's (a retirees' card never rules for serving PNS)."""
    return _covers(q, card) and (not q.special_actors or _applies_to(card, q.special_actors))


def _special_only(card: dict[str, Any]) -> bool:
    """A card written only for actors whose rules differ (retirees, TNI/Polri, ...)."""
    covered = card.get("applies_to") or []
    return not any(str(a).lower() in ASN_ACTORS for a in covered) and _applies_to(
        card, tuple(lexicon()["special_actors"]))


def _rivals(q: Question, found: Retrieval, retriever: Retriever, chosen: str
            ) -> list[dict[str, Any]]:
    """Other verdict cards that fit about as well, with a different verdict: worth asking
    which one is meant."""
    assert found.similarity is not None
    best = retriever.doc_similarity(chosen, found.similarity)
    mine = retriever.doc_meta(chosen).get("verdict")
    rivals = []
    for doc in _ranked_docs(found)[:4]:
        meta = retriever.doc_meta(doc)
        if doc == chosen or not meta.get("verdict") or not _eligible(q, meta):
            continue
        close = best - retriever.doc_similarity(doc, found.similarity) <= 0.02
        if close and meta["verdict"] != mine:
            rivals.append(meta)
    return rivals[:2]


def _contrast(q: Question, found: Retrieval, retriever: Retriever, chosen: str
              ) -> list[dict[str, Any]]:
    """The forbidding card nearest the question beside a permissive one: the act the
    question names that breaches neutrality, else the closest card that says no."""
    assert found.similarity is not None
    named = [cid for cid, _ in q.breaches if cid != chosen and retriever.doc_meta(cid)]
    if named:
        return [retriever.doc_meta(named[0])]
    banning = [d for d in retriever.doc_ids() if d != chosen
               and retriever.doc_meta(d).get("verdict") == "tidak_boleh"
               and _eligible(q, retriever.doc_meta(d))]
    best = max(banning, key=lambda d: retriever.doc_similarity(d, found.similarity),
               default=None)
    return [retriever.doc_meta(best)] if best else []


def _support(q: Question, card: dict[str, Any], retriever: Retriever) -> list[Hit]:
    """For each article the card cites, the unit of the official text closest to the
    question (when the corpus holds that text)."""
    terms = set(q.terms)
    found = []
    for basis in card.get("basis") or []:
        units = retriever.by_article(str(basis))
        if units:
            found.append(max(units, key=lambda h: overlap(terms, h.text, retriever.idf)))
    return found


# --------------------------------------------------------------------------------------------
# Passages: which sentences answer
# --------------------------------------------------------------------------------------------


def _passages(q: Question, found: Retrieval, retriever: Retriever, chosen: str,
              feats: dict[str, float], scope: float) -> Decision:
    """Quote the sentences that hold the answer: the chosen document is read whole (its
    answer may sit in a passage that neither search ranked first), then the other hits."""
    top = [h for h in found.hits if h.doc_id == chosen][:1] or [
        retriever.best_chunk(chosen, found.similarity)]
    rest = [h for h in retriever.doc_hits(top[0]) if h.chunk_id != top[0].chunk_id]
    others = [h for h in found.hits if h.doc_id != chosen]
    evidence = best_sentences(q, found, retriever, [*top, *rest, *others])
    if not evidence:
        return Decision("abstain", q, features=feats, confidence=scope, reason="no_sentence")
    return Decision("passages", q, evidence=evidence, confidence=scope, features=feats)


def best_sentences(q: Question, found: Retrieval, retriever: Retriever, hits: list[Hit],
                   limit: int = 3, typed: bool = True, semantic: bool = True) -> list[Hit]:
    """The sentences that best answer the question, each as a hit of its passage, in reading
    order. A sentence scores by its embedding similarity to the question (so paraphrases and
    English questions find it), the question's rare words it shares, and the kind of answer
    asked for (a date for "kapan", a number for "berapa"). Without ``semantic`` (a card's
    own short text) only the shared words count, which needs no model."""
    terms = set(q.terms)
    wanted = [answer_types()[name]["sentence"] for name in q.wants] if typed else []
    candidates: list[tuple[int, int, str]] = []
    doc_rank: dict[str, int] = {}
    for index, hit in enumerate(hits):
        if hit.metadata.get("type") == OUT_OF_SCOPE_TYPE:
            continue
        rank = doc_rank.setdefault(hit.doc_id, len(doc_rank))
        if rank >= 3 or not quotable(hit.metadata):
            continue  # ways of asking are matched, never quoted
        candidates += [(index, pos, s) for pos, s in enumerate(quoted_sentences(hit.text))]
    if not candidates or found.vector is None:
        return []
    if semantic:
        cosine = retriever.sentence_vectors([c[2] for c in candidates]) @ found.vector
    else:
        cosine = np.zeros(len(candidates), dtype=np.float32)
    top_cos = float(cosine.max())
    weights = _local_weights(terms, [c[2] for c in candidates], retriever.idf)
    lead = hits[0]
    if lead.metadata.get("type") == NEWS_TYPE:
        # A question names a report by its setting (who, where, which event: the words of
        # its headline and first sentence) and then asks for one fact; the setting says
        # which report, not which of its sentences holds the answer.
        setting = _setting(retriever, lead)
        weights = {t: w * (SETTING_WEIGHT if t in setting else 1.0) for t, w in weights.items()}
    weight = sum(weights.values()) or 1.0
    scored = []
    for (index, pos, sentence), cos in zip(candidates, cosine, strict=True):
        rank = doc_rank[hits[index].doc_id]
        shared = overlap(terms, sentence, weights) / weight
        typed = 0.3 * any(p.search(sentence) for p in wanted)
        score = (SENTENCE_COSINE * (float(cos) - top_cos) + shared + typed
                 + 0.15 / (rank + 1) + 0.02 / (pos + 1))
        scored.append((score, index, pos, sentence))
    best = sorted(scored, key=lambda c: c[0], reverse=True)
    if wanted and not any(p.search(c[3]) for c in best[:TYPED_DEPTH] for p in wanted):
        return []  # a date or a number was asked for and no good sentence holds one
    chosen = [best[0]]
    for cand in best[1:]:
        if len(chosen) == limit:
            break
        if any(cand[3] == c[3] for c in chosen):
            continue  # the same sentence in an overlapping passage
        if cand[0] >= best[0][0] - SENTENCE_WINDOW and sum(len(c[3]) for c in chosen) < 400:
            chosen.append(cand)
    if semantic:
        # News reports name the speaker in one sentence and give what was said in the next
        # ("Menurut Ketua AWDI ...", then the point): the best sentence brings its successor.
        lead = best[0]
        nxt = next((c for c in scored if c[1] == lead[1] and c[2] == lead[2] + 1), None)
        if nxt and all(nxt[3] != c[3] for c in chosen):
            chosen = [*chosen[: limit - 1], nxt] if len(chosen) >= limit else [*chosen, nxt]
    for kind in wanted:
        # A date was asked for: the best sentence holding one is quoted, whatever its rank
        # (and for "kapan dan di mana", the best holding a place too).
        if any(kind.search(c[3]) for c in chosen):
            continue
        typed_best = next((c for c in best if kind.search(c[3])), None)
        if typed_best is None:
            continue
        plain = [c for c in chosen if not any(k.search(c[3]) for k in wanted)]
        if len(chosen) >= limit and plain:
            chosen.remove(plain[-1])
        chosen.append(typed_best)
    chosen.sort(key=lambda c: (c[1], c[2]))  # reading order: by passage, then position
    out = []
    for _, index, _, sentence in chosen:
        hit = hits[index]
        out.append(Hit(hit.chunk_id, sentence, hit.metadata, hit.similarity, hit.lexical,
                       hit.score))
    return out


SENTENCE_COSINE = 2.0  # weight of a sentence's similarity gap to the best one (dev set)
SENTENCE_WINDOW = 0.4  # sentences scoring this close to the best are quoted too (dev set)
SETTING_WEIGHT = 0.5  # a news report's setting words, against its other words (dev set)
TYPED_DEPTH = 5  # how far down the ranking an asked-for date or number may be (dev set)


def _setting(retriever: Retriever, hit: Hit) -> set[str]:
    """The words of a news report's headline and first sentence."""
    chunks = retriever.doc_hits(hit)
    first = split_sentences(chunks[0].text)[:1] if chunks else []
    return token_set(" ".join([str(hit.metadata.get("title", "")), *first]))


def _local_weights(terms: set[str], sentences: list[str], idf: dict[str, float]
                   ) -> dict[str, float]:
    """The question's words weighted by how rare they are in the corpus and among the
    candidate sentences: a place name every sentence of the article repeats says little
    about which sentence answers, the one word only a single sentence holds says much."""
    df: dict[str, int] = dict.fromkeys(terms, 0)
    for sentence in sentences:
        for t in terms & token_set(sentence):
            df[t] += 1
    n = len(sentences)
    return {t: idf.get(t, 1.0) * math.log1p(n / df[t]) / math.log1p(n) for t in terms if df[t]}


def overlap(terms: set[str], text: str, idf: dict[str, float]) -> float:
    """How much of the question's (rare) vocabulary a text shares."""
    return sum(idf.get(t, 1.0) for t in terms & token_set(text))


# --------------------------------------------------------------------------------------------
# Features (logged for calibration)
# --------------------------------------------------------------------------------------------


def features(q: Question, found: Retrieval, retriever: Retriever, chosen: str,
             card: dict[str, Any]) -> dict[str, float]:
    """What the calibrated models read: how close the question is to the chosen document,
    by how much it beats the next, and whether its words and actor fit."""
    sim = found.similarity
    assert sim is not None
    docs = _ranked_docs(found)
    top_sim = retriever.doc_similarity(chosen, sim)
    others = [retriever.doc_similarity(d, sim) for d in docs if d != chosen]
    lexical = {h.doc_id: h.lexical for h in found.hits}
    best_lex = max(lexical.values(), default=0.0)
    idf = retriever.idf
    action = set(q.action_terms) or set(q.terms)
    weight = sum(idf.get(t, 1.0) for t in action) or 1.0
    doc_terms = retriever.doc_terms(chosen)
    covered = sum(idf.get(t, 1.0) for t in action if t in doc_terms) / weight
    asked = retriever.doc_similarity(chosen, sim, QUESTION_SECTIONS) if card else 0.0
    title = set(tokens(" ".join(str(x) for x in (card.get("title", ""),
                                                   " ".join(map(str, card.get("tags") or []))))))
    return {
        "top_sim": top_sim,
        "margin": top_sim - max(others, default=top_sim - 0.05),
        "lexical": math.log1p(lexical.get(chosen, 0.0)),
        "lexical_share": lexical.get(chosen, 0.0) / best_lex if best_lex else 0.0,
        "coverage": covered,
        "asked_sim": asked,
        "title_cover": sum(idf.get(t, 1.0) for t in action & title) / weight,
        "unknown_names": float(len(retriever.unknown_names(q))),
        "domain_terms": float(min(q.domain_terms, 3)),
        "actor_fits": float(not q.special_actors or _applies_to(card, q.special_actors)),
        "excluded": float(_excluded(q, card)),
        "is_card": float(bool(card)),
        "has_verdict": float(bool(card.get("verdict"))),
        "permission": float(q.asks_verdict),
        "english": float(q.lang == "en"),
        "action_terms": float(min(len(q.action_terms), 8)),
        "follow_up": float(bool(q.follow_up)),
    }
