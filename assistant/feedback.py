"""Readers' verdicts on answers (thumbs up or down, an optional comment), kept in a real
database through SQLAlchemy: SQLite under ``data_dir`` by default, any SQLAlchemy URL
(PostgreSQL for a team) through ``feedback_url``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.settings import Settings

FIELDS = ("id", "created", "rating", "question", "verdict", "answer", "comment")


class _Base(DeclarativeBase):
    pass


class Feedback(_Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int] = mapped_column(Integer)  # +1 helpful, -1 not
    question: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(20), default="")
    answer: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")

    def as_dict(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in FIELDS}
        row["created"] = self.created.isoformat(timespec="seconds")
        return row


class FeedbackStore:
    """Where feedback goes; the table is created on first use."""

    def __init__(self, settings: Settings) -> None:
        url = settings.feedback_url
        if not url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{settings.data_dir / 'feedback.sqlite3'}"
        self.engine = create_engine(url)
        _Base.metadata.create_all(self.engine)

    def add(self, rating: int, question: str, answer: str, verdict: str = "",
            comment: str = "") -> int:
        with Session(self.engine) as session:
            row = Feedback(created=datetime.now(UTC), rating=1 if rating > 0 else -1,
                           question=question, answer=answer, verdict=verdict or "",
                           comment=comment)
            session.add(row)
            session.commit()
            return row.id

    def comment(self, feedback_id: int, text: str) -> bool:
        """Attach a comment to a rating given before; False when there is no such rating."""
        with Session(self.engine) as session:
            row = session.get(Feedback, feedback_id)
            if row is None:
                return False
            row.comment = text
            session.commit()
            return True

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest first."""
        query = select(Feedback).order_by(Feedback.id.desc()).limit(limit)
        with Session(self.engine) as session:
            return [row.as_dict() for row in session.scalars(query)]

    def export(self, fmt: str) -> str:
        rows = self.rows()
        if fmt == "json":
            return json.dumps(rows, ensure_ascii=False, indent=2)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
