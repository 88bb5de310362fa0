"""The assistant: a question flows one way, understood, retrieved, decided, composed.

``Assistant`` holds the store and the retriever. The default answer is built without an LLM;
with ``llm_base_url`` set, an OpenAI-compatible server phrases the answer from the same
passages, and a dead server falls back to the extractive answer instead of failing.
"""

from __future__ import annotations

import shutil
import threading
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
from assistant.understand import History, Question, understand


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
        with self._lock:
            if self._retriever is None:
                with self.store.reading():  # damage the store's check missed: its message
                    # An empty store, or one written by another model, chunking or version
                    # of this code (chunks without their trust), is brought up to date first.
                    wanted = manifest_for(self.settings, self.embedder.signature)
                    if not self.store.count() or self.store.manifest != wanted:
                        self.index()
                    self._retriever = Retriever(self.settings, self.store, self.embedder)
            return self._retriever

    # -- answering ------------------------------------------------------------------
    def understand(self, question: str, history: History | None = None) -> Question:
        """The question read once (a follow-up resolved with the history); raises
        ``InvalidQuestion`` for an empty, unreadable (control characters, undecodable
        bytes only) or oversized one."""
        raw = question or ""
        text = normalise(raw)
        lang = detect_language(text)
        if not text:
            raise InvalidQuestion(messages()[lang]["empty" if not raw.strip() else "unreadable"])
        if len(text) > self.settings.max_question_chars:
            raise InvalidQuestion(messages()[lang]["too_long"].format(
                length=len(text), limit=self.settings.max_question_chars))
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
        q = self.understand(question, history)
        answer = compose(self.decide(q))
        if answer.grounded and self.chat_model is not None:
            from assistant.llm import phrase_with_llm

            answer = phrase_with_llm(self.chat_model, answer, history or [], q.lang,
                                     secrets=(self.settings.llm_api_key,))
        return answer

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
        if self._chat_model is None and self.settings.llm_base_url:
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
