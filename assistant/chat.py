"""The assistant: question in, grounded answer out, optionally phrased by an LLM.

``Assistant`` ties the store, the retriever and the answer builders together. The default
answer is extractive and needs no LLM; with ``llm_base_url`` set, an OpenAI-compatible
server phrases the answer from the same passages, and a dead server falls back to the
extractive answer instead of failing.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

from assistant import answering
from assistant.answering import Answer, InvalidQuestion
from assistant.chunking import QUESTION_SECTIONS
from assistant.documents import load_corpus
from assistant.embedding import Embedder
from assistant.retrieval import Hit, Retriever, article_reference, mentions_regulation
from assistant.settings import Settings
from assistant.store import Store, SyncReport
from assistant.text import detect_language, squash, tokens, turn_text

History = list[Any]  # [{"role": "user", "content": ...}, ...] or [(user, assistant), ...]
_FOLLOW_UP = re.compile(
    r"^(kalau|bagaimana (dengan|kalau|jika)|lalu|terus|dan|what about|and|how about|if)\b", re.I
)


class Assistant:
    def __init__(self, settings: Settings | None = None, chat_model: Any | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder = Embedder(self.settings)
        self.store = Store(self.settings)
        self._chat_model = chat_model
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    # -- indexing -------------------------------------------------------------------
    def index(self, progress: Any = None) -> tuple[SyncReport, list[str]]:
        """Sync the store with the corpus; returns the report and unreadable files."""
        loaded = load_corpus(self.settings.corpus_dir)
        report = self.store.sync(loaded.documents, self.embedder, progress=progress)
        self._retriever = None
        return report, [str(e) for e in loaded.errors]

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                if not self.store.count():
                    self.index()
                self._retriever = Retriever(self.settings, self.store, self.embedder)
            return self._retriever

    # -- answering ------------------------------------------------------------------
    def ask(self, question: str, history: History | None = None) -> Answer:
        question = squash(question or "")
        lang = detect_language(question)
        if not question:
            raise InvalidQuestion(answering.messages()[lang]["empty"])
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestion(answering.messages()[lang]["too_long"].format(
                length=len(question), limit=self.settings.max_question_chars))
        query = self._with_context(question, history or [])
        label = article_reference(question)
        quoted = self.retriever.by_article(label) if label else []
        if quoted:
            return answering.article_answer(question, label, quoted, lang)
        hits = self.retriever.search(query)
        if self._too_weak(question, hits, lang):
            return answering.abstain(question, lang)
        answer = self._answer(question, hits, lang)
        if answer.grounded and self.chat_model is not None:
            from assistant.llm import phrase_with_llm

            answer = phrase_with_llm(self.chat_model, answer, history or [], lang)
        return answer

    def _too_weak(self, question: str, hits: list[Hit], lang: str) -> bool:
        """Abstain rather than guess (thresholds calibrated on the dev set, see Settings)."""
        if not hits:
            return True
        s = self.settings
        similarity = max(h.similarity for h in hits)
        threshold = s.min_similarity_en if lang == "en" else s.min_similarity
        if similarity < threshold and max(h.lexical for h in hits) < s.lexical_rescue:
            return True
        return similarity < s.entity_guard and bool(self.retriever.unknown_names(question, lang))

    def _answer(self, question: str, hits: list[Hit], lang: str) -> Answer:
        """A verdict-first answer when the best evidence is a rule card, else quotes."""
        top = self._prefer_verdict(question, hits)
        card = answering.card_of(top) if top.metadata.get("type") == "aturan" else {}
        if not card.get("verdict"):
            # The best document is read whole: its answer sentence may sit in a passage
            # that neither search ranked first.
            rest = [h for h in self.retriever.doc_hits(top) if h.chunk_id != top.chunk_id]
            quotable = [self._quotable(h) for h in [top, *rest, *hits[1:]]]
            answer = answering.passage_answer(question, quotable, lang, self.retriever.idf)
            if card.get("basis") and answer.grounded:
                answering.add_basis(answer, card, lang)
            return answer
        rule = self.retriever.section_texts(top.doc_id, answering.RULE_SECTION)
        # Where the official text is indexed, each cited article backs the card with its
        # own words: the unit of that article closest to the question.
        idf, terms = self.retriever.idf, set(tokens(question))
        support = [
            max(units, key=lambda h: answering.overlap(terms, h.text, idf))
            for basis in card.get("basis") or []
            if (units := self.retriever.by_article(str(basis)))
        ]
        return answering.rule_answer(question, top, rule or [top.text], support[:2], lang, idf)

    @staticmethod
    def _prefer_verdict(question: str, hits: list[Hit]) -> Hit:
        """An overview of a regulation answers questions about that regulation; for a
        question about an action, a card with a verdict close behind it is the better
        evidence."""
        top = hits[0]
        if answering.card_of(top).get("topic") != "regulasi" or mentions_regulation(question):
            return top
        for hit in hits[1:3]:
            if hit.doc_id != top.doc_id and answering.card_of(hit).get("verdict"):
                return hit
        return top

    def _quotable(self, hit: Hit) -> Hit:
        """A matched way of asking is not evidence: quote its card's rule instead."""
        if str(hit.metadata.get("section", "")).lower() not in QUESTION_SECTIONS:
            return hit
        rule = self.retriever.section_texts(hit.doc_id, answering.RULE_SECTION)
        if not rule:
            return hit
        meta = dict(hit.metadata, section=answering.RULE_SECTION)
        return dataclasses.replace(hit, text="\n".join(rule), metadata=meta)

    @property
    def chat_model(self) -> Any | None:
        if self._chat_model is None and self.settings.llm_base_url:
            from assistant.llm import make_chat_model

            self._chat_model = make_chat_model(self.settings)
        return self._chat_model

    @staticmethod
    def _with_context(question: str, history: History) -> str:
        """Short follow-ups ("kalau PPPK?") borrow the previous question for retrieval."""
        previous = [turn for turn in _user_turns(history) if turn.strip()]
        if previous and (_FOLLOW_UP.match(question) or len(tokens(question)) <= 2):
            return f"{previous[-1]} {question}"
        return question


def _user_turns(history: History) -> list[str]:
    turns: list[str] = []
    for item in history:
        if isinstance(item, dict) and item.get("role") == "user":
            turns.append(turn_text(item.get("content")))
        elif isinstance(item, (list, tuple)) and item:
            turns.append(turn_text(item[0]))
        elif isinstance(item, str):
            turns.append(item)
    return turns


_default: Assistant | None = None
_default_lock = threading.Lock()


def ask(question: str, history: History | None = None) -> Answer:
    """Answer with default settings; builds the index on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
    return _default.ask(question, history=history)
