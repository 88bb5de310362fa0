"""The assistant inside LangChain code: its retriever as a ``BaseRetriever``.

``Assistant`` itself is a ``Runnable`` (chat.py), so it drops into LCEL chains; this module
gives chains the passages instead of the answer: the same search an answer starts from
(trusted documents for questions about the rules), as ``Document``s whose metadata are the
fields an answer's citation carries.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.compose import citation_for


class AssistantRetriever(BaseRetriever):
    """The passages the assistant would answer from, best document first."""

    assistant: Any  # assistant.chat.Assistant (not imported here: chat imports this module)
    k: int | None = None  # documents to search for (default: the settings' top_k)

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        question = self.assistant.understand(query)
        hits = self.assistant.retriever.search(question, k=self.k).hits
        documents = []
        for n, hit in enumerate(hits, start=1):
            meta = asdict(citation_for(n, hit, ""))
            meta.pop("quote")
            documents.append(Document(page_content=hit.text, metadata=meta))
        return documents
