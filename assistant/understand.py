"""Reading a question once: language, intent, action, actor, election, follow-up.

Everything later in the pipeline (retrieve, decide, compose) works from the ``Question``
this module returns and never looks at the raw text again. The patterns live in
``data/intents.yaml`` and ``data/lexicon.yaml``.

A follow-up is resolved here into a standalone query: one that names a new action ("kalau
jadi saksi partai?") is about that action, in the previous question's setting (actor,
election); one that only asks for a part of the answer ("apa sanksinya?") or changes the
actor ("kalau PPPK?") keeps the previous question's action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from assistant.text import (
    affirmed,
    detect_language,
    negated_at,
    normalise,
    phrase_regex,
    stopwords,
    tokens,
    turn_text,
    uses_any,
    words,
)

History = list[Any]  # [{"role": "user", "content": ...}, ...] or [(user, assistant), ...]
MAX_TURNS = 4  # earlier user turns a follow-up may lean on (a long chat never recurses deeper)

@dataclass(frozen=True)
class Question:
    """A question as understood: what it asks, about whom, and the query to search with."""

    text: str  # as asked, normalised (text.normalise)
    lang: str  # "id" | "en"
    intent: str  # see data/intents.yaml
    query: str  # standalone text for retrieval (a follow-up resolved with its context)
    terms: tuple[str, ...]  # lexical tokens of the query, slang and English glossed
    action_terms: tuple[str, ...]  # tokens of what the question asks about (no asking words)
    actors: tuple[str, ...] = ()  # "PNS", "PPPK", "pensiunan", ... (data/lexicon.yaml)
    elections: tuple[str, ...] = ()
    domain_terms: int = 0  # how many election/neutrality words it uses
    election_terms: int = 0  # of those, the election words (not "sanksi", "melanggar")
    article: str | None = None  # an article it names ("PP 94/2021 Pasal 14")
    names_regulation: bool = False
    follow_up: str = ""  # "" | "action" (new action) | "part" (asks for a part) | "actor"
    previous: str = ""  # the previous question's query, for a follow-up
    names: tuple[str, ...] = field(default=())  # capitalised names and acronyms it uses
    others: tuple[str, ...] = ()  # people the ASN rules do not bind (mahasiswa, a paslon)
    abroad: bool = False  # about another country's civil service or elections
    personal: bool = False  # the asker speaks of themselves ("saya", "my"): an ASN, here
    wants: tuple[str, ...] = ()  # kinds of answer asked for: date, person, number, place
    parts: tuple[Question, ...] = ()  # one per action, for a question about several
    # Its own words less function words and numbers (a follow-up's ``terms`` hold the
    # earlier question's too): none known to the assistant, and it is no question (decide.py).
    content: tuple[str, ...] = ()

    @property
    def asks_verdict(self) -> bool:
        """Whether the question may get a verdict (data/intents.yaml, ``verdict: true``)."""
        return bool(intent_meta(self.intent).get("verdict"))

    @property
    def open_to_any_document(self) -> bool:
        """Whether any document may answer it, one someone added too (data/intents.yaml,
        ``any_document: true``); every other question is answered from the trusted ones."""
        return bool(intent_meta(self.intent).get("any_document"))

    @property
    def asks_for_asn(self) -> bool:
        """Whether it asks a verdict for a civil servant: one it names, or the asker."""
        return self.asks_verdict and bool(self.actors or self.personal)

    @property
    def matched(self) -> str:
        """The query as card and lexicon phrases are matched against it (lower case)."""
        return self.query.lower()

    @property
    def breaches(self) -> tuple[tuple[str, str], ...]:
        """The acts that breach neutrality whatever the situation (data/breaches.yaml) the
        question names other than negated, each as (card that forbids it, words used)."""
        return breach_acts(self.query)

    @property
    def special_actors(self) -> tuple[str, ...]:
        """Actors whose rules differ (retirees, TNI/Polri, village heads), when the question
        is about them: named first ("Pak camat nyuruh kades ..." is about the camat)."""
        special = set(lexicon()["special_actors"])
        if not self.actors or self.actors[0] not in special:
            return ()
        return tuple(a for a in self.actors if a in special)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _load(name: str) -> Any:
    return yaml.safe_load(resources.files("assistant.data").joinpath(name).read_text("utf-8"))


@lru_cache(maxsize=1)
def intents() -> dict[str, Any]:
    data = _load("intents.yaml")
    order = [(r["intent"], [re.compile(p, re.I) for p in r["patterns"]]) for r in data["order"]]
    return {"meta": data["intents"], "order": order}


def intent_meta(intent: str) -> dict[str, Any]:
    return intents()["meta"].get(intent) or intents()["meta"]["general"]


def _roots(terms: list[str]) -> frozenset[str]:
    """The terms that are root words, matched in any derived form of a question's words."""
    return frozenset(w for w in terms if tokens(str(w)) == [w])


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str]:
    """A lexicon list as one case-insensitive pattern of whole words or phrases."""
    pattern = phrase_regex(tuple(map(str, phrases)), False, re.I)
    assert pattern is not None, "a lexicon list is never empty"
    return pattern


@lru_cache(maxsize=1)
def breach_table() -> dict[str, dict[str, Any]]:
    return _load("breaches.yaml")


@lru_cache(maxsize=4096)
def breach_acts(query: str) -> tuple[tuple[str, str], ...]:
    """(card, words used) for each act of data/breaches.yaml a text names, not negated and
    without a word that makes it harmless."""
    text = query.lower()
    found = []
    for act in breach_table().values():
        words_used = affirmed(text, act["phrases"])
        if words_used and not uses_any(text, act.get("unless") or []):
            found.append((str(act["card"]), words_used))
    return tuple(found)


@lru_cache(maxsize=1)
def answer_types() -> dict[str, dict[str, re.Pattern[str]]]:
    """Question words and the look of sentences that answer them (data/answer_types.yaml)."""
    return {
        a["name"]: {"question": re.compile(a["question"], re.I),
                    "sentence": re.compile(a["sentence"], re.I)}
        for a in _load("answer_types.yaml")
    }


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    data = _load("lexicon.yaml")
    esc = re.escape
    slang = {str(k).lower(): str(v) for k, v in data["slang"].items()}
    asking = frozenset(words(data["asking_words"]) + tokens(data["asking_words"]))
    part = frozenset(tokens(data["part_words"]))
    generic = frozenset(tokens(data["generic_words"]))
    actor_words = frozenset(t for ws in data["actors"].values() for w in ws for t in tokens(str(w)))
    not_action = asking | actor_words | part | generic
    function_slang = frozenset(w for w, gloss in slang.items() if not tokens(gloss))
    named = [*data["actors"].values(), *data["elections"].values(), data["domain_terms"],
             data["other_actors"], data["subject_actors"], data["situation_words"],
             [data["part_words"], data["generic_words"]], english_glossary(),
             [w for w in slang if w not in function_slang]]
    discipline = set(data["discipline_terms"])
    election = [w for w in data["domain_terms"] if w not in discipline]
    return {
        "actors": {a: _phrase_pattern(ws) for a, ws in data["actors"].items()},
        "special_actors": list(data["special_actors"]),
        "overrides": {k: set(v) for k, v in (data.get("overrides") or {}).items()},
        "elections": {e: _phrase_pattern(ws)
                      for e, ws in data["elections"].items()},
        # Election words, matched as written ("candidate's", "hak pilih") or, for a root
        # word, in any derived form ("berkampanye", "dicalonkan").
        "domain": _phrase_pattern(data["domain_terms"]),
        "domain_roots": _roots(data["domain_terms"]),
        "election": _phrase_pattern(election),
        "election_roots": _roots(election),
        "opener": re.compile(
            r"^\W*(?:(?:" + "|".join(data["follow_up_acknowledgements"]) + r")\b[^.?!,]{0,40}"
            r"[.,!]\s*)?(?:" + "|".join(data["follow_up_openers"]) + r")\b", re.I),
        "back": _phrase_pattern(data["back_references"]),
        "topic": _phrase_pattern(data["topic_words"]),
        "slang": slang,
        "actor_words": actor_words,
        "asking": asking,
        "part": part,
        "generic": generic,
        # Tokens that are never what a question is about, an informal spelling of an asking
        # word ("knp", "klu") among them.
        "not_action": not_action | {
            w for w, gloss in slang.items() if set(words(gloss)) <= not_action},
        # Short forms of function words ("yg", "jg", "sy"), dropped like them.
        "function_slang": function_slang,
        # The single words of the domain that the lists above and the English glossary
        # name, as written (a stem may be a stray root: "persit" gives "sit"; a phrase's
        # words alone may be anything: "non" of "non asn"), known even where no document
        # uses them ("gerindra", "nyaleg").
        "known": frozenset(str(w).lower() for ws in named for w in ws
                           if len(words(str(w))) == 1),
        "situation": _phrase_pattern(data["situation_words"]),
        "others": _phrase_pattern(data["other_actors"]),
        "not_actors": _phrase_pattern(data["not_actors"]),
        "self": _phrase_pattern(data["self_words"]),
        "abroad": re.compile("|".join(data["abroad"]), re.I),
        "home_service": re.compile("|".join(data["home_service"]), re.I),
        "subjects": re.compile(
            r"^\W*(?:(?:" + "|".join(data["subject_openers"]) + r")\s+)?"
            r"(?:seorang\s+|para\s+|sang\s+|a\s+|an\s+|the\s+)?(?P<who>"
            + "|".join(sorted(map(esc, data["subject_actors"]), key=len, reverse=True))
            + r")\b", re.I),
    }


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def detect_intent(text: str) -> str:
    """The intent of the first rule that matches; a question of several parts asks
    permission when one of its parts does ("Apa harus cuti dulu? Kalau nggak, sanksinya
    apa?" wants the verdict, and its sanction comes with it)."""
    intent = _first_intent(text)
    parts = _asked(text)
    several = len(parts) > 1 and not intent_meta(intent).get("verdict")
    if several and any(_first_intent(p) == "permission" for p in parts):
        return "permission"
    return intent


def _asked(text: str) -> list[str]:
    """The questions a text asks, split after each "?"."""
    return [p for p in re.split(r"(?<=\?)\s+", text) if p.strip()]


def _first_intent(text: str) -> str:
    for intent, patterns in intents()["order"]:
        if any(p.search(text) for p in patterns):
            return intent
    return "general"


def _domain_count(text: str, kind: str = "domain") -> int:
    """How many election or neutrality words (``kind`` "domain"), or election words only
    ("election"), a text uses."""
    lex = lexicon()
    return max(len(lex[kind].findall(text)),
               sum(t in lex[f"{kind}_roots"] for t in tokens(text)))


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group(0))


def _found(patterns: dict[str, re.Pattern[str]], text: str, affirmed: bool = False
           ) -> tuple[str, ...]:
    """The names whose pattern the text uses, in the order the text first uses them
    (``affirmed``: other than negated, so "Menteri kan bukan PNS" names no PNS)."""
    at: dict[str, int] = {}
    for name, pattern in patterns.items():
        for m in pattern.finditer(text):
            if not (affirmed and negated_at(text, m.start())):
                at[name] = m.start()
                break
    return tuple(sorted(at, key=at.__getitem__))


def lexical_terms(text: str, lang: str) -> list[str]:
    """BM25 tokens of a text: slang also spelled as the documents spell it (the documents
    use some of it too: "nyaleg", "timses"), and for English the Indonesian words of the
    domain glossary too."""
    lex = lexicon()
    slang, dropped = lex["slang"], lex["function_slang"]
    written = " ".join(
        ("" if w in dropped else f"{w} {slang[w]}") if w in slang else w for w in words(text))
    terms = tokens(written)
    if lang == "en":
        glossary = english_glossary()
        terms += [t for w in words(text) for t in glossary.get(w, [])]
    return terms


def _action_terms(text: str, lang: str) -> list[str]:
    """What the question is about: its tokens less asking words, actors and intent words."""
    lex = lexicon()
    stripped = lex["opener"].sub(" ", text)
    for pattern in lex["actors"].values():
        stripped = pattern.sub(" ", stripped)
    skip = lex["not_action"]
    return [t for t in lexical_terms(stripped, lang) if t not in skip and not t.isdigit()]


def _others(text: str) -> tuple[str, ...]:
    """The people the question is about whom the ASN rules do not bind (data/lexicon.yaml)."""
    lex = lexicon()
    # "calon anggota DPRD" is a candidate, whom the subject rules below cover, not a member.
    found = [m.group(0).lower() for m in lex["others"].finditer(text)
             if not re.search(r"\b(?:calon|caleg|bacaleg)\s+$", text[: m.start()], re.I)]
    subject = lex["subjects"].match(text)
    if subject:
        found.append(subject.group("who").lower())
    return tuple(dict.fromkeys(found))


def _names(text: str) -> tuple[str, ...]:
    """Capitalised words after the first: the names a question uses, which the corpus may
    never mention (an SSCASN, "Central Java" where the corpus knows only Sumatera)."""
    found = []
    for i, word in enumerate(_NAME.findall(text)):
        word = re.sub(r"-(nya|ku|mu)$", "", word)
        if i == 0 or not word[0].isupper() or word.lower() in stopwords():
            continue
        found.append(word)
    return tuple(found)


def understand(text: str, history: History | None = None) -> Question:
    """The question read once, with a follow-up resolved against the previous user turn."""
    question = _read(normalise(text or ""))
    previous = _previous(history or [])
    if previous:
        return _resolve(question, previous)
    return replace(question, parts=_parts(question))


def _read(text: str) -> Question:
    """One text read on its own: no history, no sub-questions."""
    lang = detect_language(text)
    lex = lexicon()
    article = article_reference(text)
    intent = "article" if article else detect_intent(text)
    actors = _found(lex["actors"], lex["not_actors"].sub(_blank, text), affirmed=True)
    hidden = {a for named in actors for a in lex["overrides"].get(named, ())}
    actors = tuple(a for a in actors if a not in hidden)
    elections = _found(lex["elections"], text)
    action = _action_terms(text, lang)
    return Question(
        text=text, lang=lang, intent=intent, query=text,
        terms=tuple(lexical_terms(text, lang)), action_terms=tuple(action),
        actors=actors, elections=elections, domain_terms=_domain_count(text),
        election_terms=_domain_count(text, "election"),
        article=article, names_regulation=mentions_regulation(text),
        names=_names(text),
        others=_others(text),
        personal=bool(lex["self"].search(text)),
        abroad=bool(lex["abroad"].search(text)) and not lex["home_service"].search(text),
        wants=tuple(n for n, a in answer_types().items() if a["question"].search(text)),
        content=tuple(w for w in words(text) if not (
            w in stopwords() or w in lex["function_slang"] or w.isdigit())),
    )


# "... join a party or vote?" splits; "boleh atau tidak?" does not.
_OR = re.compile(r"\s+(?:atau|ataukah|or)\s+(?!(?:tidak|nggak|gak|ga|enggak|ngga|bukan|belum|"
                 r"not|no)\b)", re.I)


def _parts(q: Question) -> tuple[Question, ...]:
    """The sub-questions of a question that asks about several actions, each read in the
    whole question's setting: "Ndak boleh milih? Ndak boleh masuk parpol?" asks two things,
    and so does "Can civil servants join a party or vote?". A part must ask for a verdict
    itself, except what follows an "or", which continues the part before it."""
    if not q.asks_verdict or q.article:
        return ()
    pieces = _asked(q.text)
    continued = len(pieces) < 2
    if continued:
        # Only a short tail continues with another action ("... or vote?"); a longer one is
        # more often a noun phrase ("suami atau istri yang nyaleg").
        pieces = _OR.split(q.text)
        if len(pieces) != 2 or len(words(pieces[1])) > 2:
            return ()
    if not 2 <= len(pieces) <= 4:
        return ()
    generic = lexicon()["generic"]
    parts = []
    for i, piece in enumerate(pieces):
        own = _read(piece)
        action = tuple(t for t in _action_terms(piece, q.lang) if t not in generic)
        asks = own.asks_verdict or (continued and i > 0)
        if not action or not asks:
            continue
        setting = [a for a in q.actors if not own.actors] + [
            e for e in q.elections if not own.elections]
        query = " ".join([piece, *setting])
        parts.append(replace(
            own, lang=q.lang, intent=own.intent if own.asks_verdict else q.intent,
            query=query, terms=tuple(lexical_terms(query, q.lang)), action_terms=action,
            actors=own.actors or q.actors, elections=own.elections or q.elections,
            personal=own.personal or q.personal))
    return tuple(parts) if len(parts) >= 2 else ()


def _previous(history: History) -> Question | None:
    """The last user turn of the history, itself understood in its own history."""
    turns = [t for t in user_turns(history) if t.strip()][-MAX_TURNS:]
    if not turns:
        return None
    earlier = [{"role": "user", "content": t} for t in turns[:-1]]
    return understand(turns[-1], earlier)


def _resolve(q: Question, prev: Question) -> Question:
    """A follow-up borrows what it leaves out from the previous question."""
    lex = lexicon()
    opener = bool(lex["opener"].match(q.text))
    short = len(q.action_terms) <= 3 and len(words(q.text)) <= 8
    refers_back = bool(lex["back"].search(q.text)) and len(words(q.text)) <= 10
    own_topic = bool(lex["topic"].search(q.text)) and not (opener or refers_back)
    if q.article or own_topic or not (opener or short or refers_back):
        return q
    actors = q.actors or prev.actors
    elections = q.elections or prev.elections
    intent = q.intent if q.intent != "general" else prev.intent
    if q.action_terms and not set(q.action_terms) <= set(prev.action_terms):
        # A new action in the old setting: "kalau jadi saksi partai?" after a KPPS question.
        setting = " ".join(_setting_words(prev))
        query = f"{lex['opener'].sub('', q.text).strip()} {setting}".strip()
        if (intent == "general" or (intent == "fact" and not q.wants)) and prev.asks_verdict:
            intent = prev.intent  # "berapa lama cutinya?" still asks a number
        kind = "action"
    elif q.actors and set(q.actors) != set(prev.actors):
        query, kind = f"{prev.query} {' '.join(q.actors)}", "actor"
        intent = prev.intent if q.intent in ("general", "applicability") else q.intent
    else:
        query, kind = f"{prev.query} {q.text}", "part"
    lang = q.lang if len(words(q.text)) > 3 else prev.lang
    return replace(
        q, intent=intent, query=query, lang=lang,
        terms=tuple(lexical_terms(query, lang)),
        action_terms=q.action_terms if kind == "action" else prev.action_terms,
        actors=actors, elections=elections,
        domain_terms=q.domain_terms + prev.domain_terms,
        election_terms=q.election_terms + prev.election_terms,
        names_regulation=q.names_regulation or prev.names_regulation,
        personal=q.personal or prev.personal,
        follow_up=kind, previous=prev.query,
    )


def _setting_words(q: Question) -> list[str]:
    """The previous question's actor, election, candidate and situation (a spouse who runs)
    as words, to carry into a follow-up."""
    situation = [m.lower() for m in lexicon()["situation"].findall(q.query)]
    # The election words that are not its action: "calon" in "datang ke hajatan calon
    # bupati?", not "kpps" in "boleh jadi KPPS?".
    election = [t for t in q.terms
                if t in lexicon()["domain_roots"] and t not in q.action_terms]
    return [*q.actors, *q.elections, *dict.fromkeys(situation + election)]


def user_turns(history: History) -> list[str]:
    """The user's turns of a history, in any of the shapes it comes in."""
    turns: list[str] = []
    for item in history:
        if isinstance(item, dict) and item.get("role") == "user":
            turns.append(turn_text(item.get("content")))
        elif isinstance(item, (list, tuple)) and item:
            turns.append(turn_text(item[0]))
        elif isinstance(item, str):
            turns.append(item)
    return turns


# --------------------------------------------------------------------------------------------
# Regulations and articles named in a question
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def english_glossary() -> dict[str, list[str]]:
    """English word -> Indonesian tokens (data/glossary_en_id.yaml), for lexical matching
    of English questions against Indonesian passages."""
    path = resources.files("assistant.data").joinpath("glossary_en_id.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(en).lower(): [t for w in ids for t in tokens(str(w))] for en, ids in data.items()}


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9/-]*")
_REG = re.compile(
    r"\b(UU|PP|Perpres|Permen\w*|Perpu|Perppu|SE)\s*(?:Nomor|No\.?)?\s*(\d+)\s*"
    r"(?:/|tahun|th\.?|thn)\s*(\d{4})", re.I)
_KIND_ALIASES = {"undang-undang": "UU", "peraturan pemerintah": "PP",
                 "peraturan presiden": "Perpres"}
_ARTICLE = re.compile(
    r"\bpasal\s+(\d+)(?:\s+ayat\s*\(?(\d+)\)?)?(?:\s+huruf\s+([a-z])\b)?"
    r"(?:\s+angka\s+(\d+))?", re.I)


def _short_kinds(question: str) -> str:
    """The question with "Peraturan Pemerintah" written "PP", and so on."""
    for long, short in _KIND_ALIASES.items():
        question = re.sub(long, short, question, flags=re.I)
    return question


def legal_references(text: str) -> set[str]:
    """The regulations and article numbers a text names, in one spelling ("pp 94/2021",
    "pasal 5"; an English "Article 5" too): to tell whether a reworded answer names one
    its sources do not."""
    text = _short_kinds(re.sub(r"\barticle\b", "pasal", text, flags=re.I))
    found = {f"{m.group(1).lower()} {int(m.group(2))}/{m.group(3)}" for m in _REG.finditer(text)}
    return found | {f"pasal {int(m.group(1))}" for m in _ARTICLE.finditer(text)}


def mentions_regulation(question: str) -> bool:
    """Whether a question names a regulation ("PP 37/2004", "UU Nomor 20 Tahun 2023")."""
    text = _short_kinds(question)
    return bool(_REG.search(text) or re.search(r"\b(SKB|SE MenPANRB|Perpres)\b", text, re.I))


def article_reference(question: str) -> str | None:
    """The article a question names, as a citation label ("PP 94/2021 Pasal 14"), if any."""
    text = _short_kinds(question)
    reg, art = _REG.search(text), _ARTICLE.search(text)
    if not reg or not art:
        return None
    kind = reg.group(1).upper() if reg.group(1).upper() in {"UU", "PP", "SE"} else reg.group(1)
    label = f"{kind} {int(reg.group(2))}/{reg.group(3)} Pasal {int(art.group(1))}"
    if art.group(2):
        label += f" ayat ({art.group(2)})"
    if art.group(3):
        label += f" huruf {art.group(3).lower()}"
    if art.group(4):
        label += f" angka {art.group(4)}"
    return label
