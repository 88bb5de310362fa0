"""Readers' feedback in a real SQLite database, through the library and the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.feedback import FeedbackStore
from assistant.settings import Settings


def test_ratings_and_comments_are_kept_newest_first(tmp_path: Path) -> None:
    store = FeedbackStore(Settings(data_dir=tmp_path / "data"))
    first = store.add(1, "Boleh like unggahan calon?", "Tidak boleh. ...", "tidak_boleh")
    second = store.add(-1, "Boleh jadi KPPS?", "Perlu diperjelas ...")
    assert store.comment(second, "jawabannya kurang jelas")
    assert not store.comment(999, "no such rating")
    rows = store.rows()
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["rating"] == -1 and rows[0]["comment"] == "jawabannya kurang jelas"
    assert rows[1]["verdict"] == "tidak_boleh"
    assert (tmp_path / "data" / "feedback.sqlite3").exists()
    # A second store on the same database sees the same rows (nothing is held in memory).
    assert FeedbackStore(Settings(data_dir=tmp_path / "data")).rows(1)[0]["id"] == second


def test_a_database_url_replaces_the_default_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    FeedbackStore(Settings(data_dir=tmp_path / "unused", feedback_url=url)).add(1, "q", "a")
    assert (tmp_path / "team.db").exists() and not (tmp_path / "unused").exists()


def test_the_cli_lists_and_exports_feedback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NETRALITAS_DATA_DIR", str(tmp_path))
    assert main(["feedback"]) == 0
    assert "no feedback yet" in capsys.readouterr().out
    store = FeedbackStore(Settings(data_dir=tmp_path))
    store.add(1, "Boleh like unggahan calon bupati?", "Tidak boleh.", "tidak_boleh",
              comment="jelas, terima kasih")
    assert main(["feedback"]) == 0
    listed = capsys.readouterr().out
    assert "+ Boleh like unggahan calon bupati?" in listed and "jelas, terima kasih" in listed
    assert main(["feedback", "--export", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["question"] == "Boleh like unggahan calon bupati?" and rows[0]["rating"] == 1
    assert main(["feedback", "--export", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert table[0]["verdict"] == "tidak_boleh" and table[0]["comment"] == "jelas, terima kasih"
