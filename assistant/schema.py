"""The front matter of the documents that decide answers, checked when the corpus is loaded.

A rule card's verdict, sanction and rulings are read at question time by every answer that
reaches the card; a card with a verdict the answers do not know (``verdict: ya``) or a
sanction that is not a mapping is reported by name here and left out, instead of failing
those questions. Unknown fields are refused too: a misspelt ``verdit:`` would otherwise
leave a card without its verdict, silently.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Verdict = Literal["boleh", "tidak_boleh", "bersyarat"]
Level = Literal["ringan", "sedang", "berat", "moral", "PTDH", "pidana"]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SanctionFields(_Fields):
    level: list[Level] = []
    text: str = ""
    text_en: str = ""


class RulingFields(_Fields):
    """One situation of a card with its own verdict ("kalau ada surat tugas ...")."""

    when: list[str] = Field(min_length=1)
    verdict: Verdict | None
    summary: str = ""
    summary_en: str = ""
    conditions: str = ""
    conditions_en: str = ""
    basis: list[str] = []
    sanction: SanctionFields | None = None
    allows: list[str] = []


class CardFields(_Fields):
    """A rule card (``type: aturan``): the team's explanation of one rule."""

    id: str
    title: str
    type: Literal["aturan"]
    topic: str
    verdict: Verdict | None = None
    applies_to: list[str] = Field(min_length=1)
    elections: list[str] = []
    basis: list[str] = Field(min_length=1)
    sanction: SanctionFields
    summary: str = Field(min_length=1)
    summary_en: str = ""
    conditions: str = ""
    conditions_en: str = ""
    rulings: list[RulingFields] = []
    actors: list[str] = []
    allows: list[str] = []
    excludes: list[str] = []
    requires: list[str] = []
    others_act: bool = False
    sources: list[str] = []
    tags: list[str] = []
    as_of: str = ""
    publisher: str = ""
    date: str = ""
    url: str = ""


class NearMissFields(_Fields):
    """A near miss (``type: luar``): what the corpus declines, and where to ask instead."""

    id: str
    title: str
    type: Literal["luar"]
    pointer: str = Field(min_length=1)
    pointer_en: str = ""
    binds: list[str] = []
    binds_asn: bool = False
    publisher: str = ""
    date: str = ""
    url: str = ""


SCHEMAS: dict[str, type[_Fields]] = {"aturan": CardFields, "luar": NearMissFields}


def problem(meta: dict[str, Any]) -> str:
    """Why the front matter is not a valid document of its type ("" when it is, or when its
    type has no schema)."""
    schema = SCHEMAS.get(str(meta.get("type", "")))
    if schema is None:
        return ""
    try:
        schema.model_validate(meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "front matter"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {first['msg']}{more}"
    return ""
