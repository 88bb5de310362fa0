"""The assistant inside LangChain code: a Runnable in LCEL chains, and its retriever."""

from __future__ import annotations

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from assistant.answer import Answer
from assistant.chat import Assistant

LIKE = "Bolehkah ASN memberi like pada unggahan calon bupati?"
PARTY = "Boleh gak PNS jadi anggota partai politik?"


def test_the_assistant_is_a_runnable_that_answers_as_ask_does(assistant: Assistant) -> None:
    asked = assistant.ask(LIKE)
    assert assistant.invoke(LIKE) == asked and asked.verdict == "tidak_boleh"
    assert assistant.invoke({"question": LIKE}) == asked
    answers = assistant.batch([LIKE, {"question": PARTY}])
    assert answers == [asked, assistant.ask(PARTY)]
    assert list(assistant.stream(LIKE)) == [asked]
    chain = assistant | RunnableLambda(lambda a: (a.verdict, [c.doc_id for c in a.citations]))
    verdict, cited = chain.invoke(LIKE)
    assert verdict == "tidak_boleh" and "aturan-medsos-like-komentar-bagikan" in cited


def test_a_follow_up_through_invoke_uses_its_history(assistant: Assistant) -> None:
    first = assistant.invoke(LIKE)
    follow = assistant.invoke({"question": "kalau komentar?", "history": [(LIKE, first.text)]})
    assert isinstance(follow, Answer) and follow.grounded


def test_its_retriever_gives_the_passages_with_the_citation_fields(
        assistant: Assistant) -> None:
    retriever = assistant.as_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke(LIKE)
    assert documents[0].metadata["doc_id"] == "aturan-medsos-like-komentar-bagikan"
    assert {"doc_id", "chunk_id", "title", "type", "url", "article", "score"} <= set(
        documents[0].metadata)
    assert all(d.page_content == assistant.retriever.passage(d.metadata["chunk_id"])
               for d in documents)
    assert len({d.metadata["doc_id"] for d in documents}) == 3
    # The retriever composes in a chain like any other.
    titles = (retriever | RunnableLambda(lambda docs: [d.metadata["title"] for d in docs]))
    assert titles.invoke(PARTY)
