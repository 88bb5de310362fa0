"""The assistant: question in, grounded answer out, optionally phrased by an LLM.

``Assistant`` ties the store, the retriever and the answer builders together. The default
answer is extractive and needs no LLM; with ``llm_base_url`` set, an OpenAI-compatible
server phrases the answer from the same passages, and a dead server falls back to the
extractive answer instead of failing.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from assistant import answering
from assistant.answering import Answer, InvalidQuestion
from assistant.documents import load_corpus
from assistant.embedding import Embedder
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import Store, SyncReport
from assistant.text import detect_language, squash, tokens

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
        hits = self.retriever.search(query)
        if not hits or max(h.similarity for h in hits) < self.settings.min_similarity:
            return answering.abstain(question, lang)
        answer = answering.passage_answer(question, hits, lang, self.retriever.idf)
        if answer.grounded and self.chat_model is not None:
            from assistant.llm import phrase_with_llm

            answer = phrase_with_llm(self.chat_model, answer, hits, history or [], lang)
        return answer

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
            turns.append(str(item.get("content", "")))
        elif isinstance(item, (list, tuple)) and item:
            turns.append(str(item[0]))
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
