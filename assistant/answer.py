"""What the assistant returns: an answer with its citations, as text and as data.

The fields are the contract for the app and for developers (see README, "Using it from
Python"); ``to_dict()`` keeps every one of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class InvalidQuestion(ValueError):
    """An empty or oversized question; the message is meant for the user."""


@dataclass
class Citation:
    """A numbered source of an answer: the passage quoted and where it comes from.

    ``type`` is "aturan" (the team's rule card, dated when it was last updated), "peraturan"
    (an official regulation text, dated when it was enacted) or "berita" (news)."""

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
class Basis:
    """One legal basis of an answer: the article as the card names it, and where the
    official text of that article is in the corpus, its words and citation number."""

    label: str  # "PP 94/2021 Pasal 5 huruf n angka 7"
    regulation: str  # "PP 94/2021"
    text: str = ""  # the official wording, when the corpus holds it
    citation: int | None = None  # the [n] of that official text, or of the card


@dataclass
class Sanction:
    level: list[str] = field(default_factory=list)  # ringan, sedang, berat, moral, PTDH, ...
    text: str = ""


@dataclass
class Alternative:
    """For a *clarify* answer: one of the rules the question may mean, and the precise
    question that asks for it."""

    title: str
    question: str
    verdict: str | None
    doc_id: str


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True
    verdict: str | None = None  # "boleh" | "tidak_boleh" | "bersyarat" | None
    language: str = "id"
    intent: str = "general"  # what the question asks: permission, sanction, fact, ...
    outcome: str = ""  # article | verdict | explanation | passages | clarify | abstain
    basis: list[Basis] = field(default_factory=list)
    sanction: Sanction | None = None
    confidence: float | None = None  # calibrated probability that the deciding rule fits
    alternatives: list[Alternative] = field(default_factory=list)
    parts: list[Answer] = field(default_factory=list)  # one per action, when several differ
    # What an LLM did with it (settings.llm_provider): "" none was asked | "phrased" its
    # wording passed the checks | "failed" the server failed, was too slow or died mid-reply |
    # "rejected" it stated another verdict | "uncited" no valid [n] was left | "unfounded"
    # it named a regulation or article its sources do not. Any but "phrased" leaves the
    # answer built from the sources, with a note saying why.
    llm: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The answer back from ``to_dict()`` (or its JSON), nested fields included."""
        from pydantic import TypeAdapter

        return TypeAdapter(cls).validate_python(data)
