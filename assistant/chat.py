"""The assistant: a question flows one way, understood, retrieved, decided, composed.

``Assistant`` holds the store and the retriever. The default answer is built without an LLM;
with ``llm_provider`` set, an LLM condenses a follow-up into a standalone question before it
is read, and phrases the decided answer from the same passages (llm.py), streamed; a dead
server falls back to the extractive answer instead of failing.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from assistant.answer import Answer, InvalidQuestion
from assistant.calibration import Calibration
from assistant.compose import compose, messages
from assistant.decide import Decision, combine, decide, has_real_words
from assistant.documents import (
    SUPPORTED,
    Document,
    DocumentError,
    LoadResult,
    in_folders,
    load_corpus,
    load_file,
)
from assistant.embedding import Embedder
from assistant.integrations import AssistantRetriever
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import Store, SyncReport, manifest_for
from assistant.text import detect_language, normalise
from assistant.understand import MAX_TURNS, History, Question, understand, user_turns

log = logging.getLogger(__name__)


class Assistant(Runnable[str | dict[str, Any], Answer]):
    """Answers questions (``ask``); a LangChain ``Runnable`` too (``invoke``, ``batch``,
    ``stream``), and ``as_retriever`` gives its passages to other chains."""

    def __init__(self, settings: Settings | None = None, chat_model: Any | None = None,
                 calibration: Calibration | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder = Embedder(self.settings)
        self.store = Store(self.settings)
        self.calibration = calibration or Calibration.load()
        self._chat_model = chat_model
        self._retriever: Retriever | None = None
        self._checked = 0.0  # when the store's revision was last compared with the retriever's
        self._reloading: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- indexing -------------------------------------------------------------------
    def index(self, progress: Any = None, sentence_progress: Any = None
              ) -> tuple[SyncReport, list[str]]:
        """Sync the store with the corpus; returns the report and what to tell about the
        files: those left out ("skipped: ...") and those loaded otherwise than they asked
        ("note: ...", a card outside the trusted folders)."""
        loaded = self.load_corpus()
        report = self.store.sync(loaded.documents, self.embedder, progress, sentence_progress)
        self._retriever = None
        return report, [f"skipped: {e}" for e in loaded.errors] + [f"note: {e}"
                                                                   for e in loaded.notes]

    def load_corpus(self) -> LoadResult:
        return load_corpus(self.settings.corpus_dir, self.settings.trusted,
                           int(self.settings.max_document_mb * 2**20))

    def add_document(self, src: Path, folder: str = "tambahan", replace: bool = False
                     ) -> tuple[Document, SyncReport]:
        """Copy a document into a sub-folder of the corpus and index it. Refuses (with
        ``DocumentError``) a file it cannot read, a type it does not index, one over the
        size limit, a folder outside the corpus or a trusted one (rule cards and official
        texts are not added this way), an id another document has, and a name already
        there unless ``replace``. What is added is evidence, never a rule card."""
        limit = self.settings.max_upload_mb
        if src.suffix.lower() not in SUPPORTED:
            raise DocumentError(f"unsupported type {src.suffix or '(none)'}; use "
                                f"{', '.join(SUPPORTED)}")
        if src.stat().st_size > limit * 1024 * 1024:
            raise DocumentError(f"larger than {limit:g} MB (setting max_upload_mb)")
        root = self.settings.corpus_dir.resolve()
        target = (root / folder / src.name).resolve()
        if not target.is_relative_to(root):
            raise DocumentError(f"folder {folder!r} is outside the corpus")
        rel = target.relative_to(root)
        if in_folders(rel, self.settings.trusted):
            raise DocumentError(f"folder {folder!r} is a trusted folder (rule cards, official "
                                "texts); added documents go elsewhere, e.g. tambahan")
        if target.is_symlink() or (target.exists() and not replace):
            raise DocumentError(f"{rel.as_posix()} is already in the corpus (use --replace "
                                "to replace it)")
        doc = load_file(src)
        owner = next((d for d in self.load_corpus().documents
                      if d.id == doc.id and Path(d.source) != rel), None)
        if owner is not None:
            raise DocumentError(f"id {doc.id!r} is already used by {owner.source}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        report, _ = self.index()
        return doc, report

    @property
    def retriever(self) -> Retriever:
        """The retriever over the store. When another process (an app instance on the same
        Chroma server, ``netralitas index``) changed the store, which is looked at every
        ``refresh_seconds``, a new one loads in the background while this one goes on
        answering: loading takes seconds at 100k chunks (README, "Scale")."""
        with self._lock:
            if self._retriever is None:
                with self.store.reading():  # damage the store's check missed: its message
                    # An empty store, or one written by another model, chunking or version
                    # of this code (chunks without their trust), is brought up to date first.
                    wanted = manifest_for(self.settings, self.embedder.signature)
                    if not self.store.count() or self.store.manifest != wanted:
                        self.index()
                    self._retriever = Retriever(self.settings, self.store, self.embedder)
                    self._checked = time.monotonic()
            elif (self._reloading is None and
                  time.monotonic() - self._checked >= self.settings.refresh_seconds):
                self._checked = time.monotonic()
                if self.store.revision() != self._retriever.revision:
                    self._reloading = threading.Thread(target=self._reload, daemon=True)
                    self._reloading.start()
            return self._retriever

    def _reload(self) -> None:
        """A retriever over the store as it is now, put in place of the current one unless
        this process re-indexed meanwhile (``index`` then left none, to load on demand)."""
        try:
            fresh: Retriever | None = Retriever(self.settings, self.store, self.embedder)
        except Exception:  # a store that went away: keep answering, look again later
            log.exception("reloading the index after another process changed it failed")
            fresh = None
        with self._lock:
            if fresh is not None and self._retriever is not None:
                self._retriever = fresh
            self._reloading = None

    # -- answering ------------------------------------------------------------------
    def understand(self, question: str, history: History | None = None) -> Question:
        """The question read once; raises ``InvalidQuestion`` for an empty, unreadable
        (control characters, undecodable bytes only) or oversized one. A follow-up is
        rewritten into a standalone question by the LLM when there is one (and it replies
        with one question), else resolved against the history by the rules of understand.py.
        """
        raw = question or ""
        text = normalise(raw)
        lang = detect_language(text)
        limit = self.settings.max_question_chars
        if not text:
            raise InvalidQuestion(messages()[lang]["empty" if not raw.strip() else "unreadable"])
        if len(text) > limit:
            raise InvalidQuestion(messages()[lang]["too_long"].format(length=len(text),
                                                                      limit=limit))
        earlier = [t for t in map(normalise, user_turns(history or [])) if t][-MAX_TURNS:]
        if earlier and self.settings.llm_condense and self.chat_model is not None:
            from assistant.llm import condense

            standalone = condense(self.chat_model, text, earlier, limit, self._secrets)
            if standalone:
                return dataclasses.replace(understand(standalone), follow_up="condensed",
                                           previous=earlier[-1])
        return understand(text, history)

    def decide(self, q: Question) -> Decision:
        """The decision for the question; one about several actions is also decided part by
        part, and answered so when different rules apply."""
        retriever = self.retriever
        if not has_real_words(q, retriever.vocab):
            return Decision("abstain", q, reason="not_a_question")
        cautious = self.settings.verdict_policy == "cautious"
        found = retriever.search_all([q, *q.parts])
        whole = decide(q, found[0], retriever, self.calibration, cautious)
        if not q.parts:
            return whole
        parts = [decide(p, f, retriever, self.calibration, cautious)
                 for p, f in zip(q.parts, found[1:], strict=True)]
        return combine(whole, parts)

    def ask(self, question: str, history: History | None = None) -> Answer:
        """The answer, checked; raises ``InvalidQuestion`` (with the message for the user)
        for an empty, unreadable or oversized question."""
        *_, answer = self.ask_stream(question, history)
        assert isinstance(answer, Answer)
        return answer

    def ask_stream(self, question: str, history: History | None = None
                   ) -> Iterator[str | Answer]:
        """The LLM's words as they come (none without an LLM), then the checked answer, last:
        what was streamed is only a preview until then, since the checks may replace it.
        Raises ``InvalidQuestion`` when first iterated."""
        q = self.understand(question, history)
        answer = compose(self.decide(q))
        if not answer.grounded or self.chat_model is None:
            yield answer
            return
        from assistant.llm import phrase

        yield from phrase(self.chat_model, answer, history or [], q.lang,
                          self.settings.llm_timeout, self._secrets)

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self.settings.llm_api_key,)

    # -- LangChain ----------------------------------------------------------------------
    def invoke(self, input: str | dict[str, Any], config: RunnableConfig | None = None,
               **kwargs: Any) -> Answer:
        """A question, or ``{"question": ..., "history": [...]}``. ``batch`` answers several
        at once on threads (answering is thread-safe); ``stream`` yields the one answer."""
        if isinstance(input, dict):
            return self.ask(str(input.get("question", "")), input.get("history"))
        return self.ask(str(input))

    def as_retriever(self, k: int | None = None) -> AssistantRetriever:
        """The passages an answer would rest on, as LangChain documents with the citation's
        fields (doc_id, chunk_id, title, type, publisher, date, url, article, score)."""
        return AssistantRetriever(assistant=self, k=k)

    @property
    def chat_model(self) -> Any | None:
        if self._chat_model is None and self.settings.llm_provider != "none":
            from assistant.llm import make_chat_model

            self._chat_model = make_chat_model(self.settings)
        return self._chat_model


_default: Assistant | None = None
_default_lock = threading.Lock()


def ask(question: str, history: History | None = None) -> Answer:
    """Answer with default settings; builds the index on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
    return _default.ask(question, history=history)
