"""Shared fixtures: the real embedding model and real Chroma stores in temporary folders.

The index of the project's corpus is built once per test session and shared by the tests
that only read it; tests that change an index build their own small one.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.chat import Assistant
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
REGULATIONS = ROOT.parent / "shared" / "regulations"


def free_port() -> int:
    """A loopback port nobody listens on (bound, then closed again at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served_app(bot: Assistant, **launch: Any) -> Iterator[str]:
    """The app of ``bot``, queued as ``netralitas serve`` queues it, on a free loopback port
    (``launch``: login, style, ...); its URL, and the app closed afterwards."""
    from assistant.ui import build_app

    app = build_app(bot).queue()
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
               **launch)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's corpus, copied so no test can change the real one."""
    target = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(ROOT / "corpus", target)
    return target


@pytest.fixture(scope="session")
def settings(corpus_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(corpus_dir=corpus_copy, index_dir=tmp_path_factory.mktemp("index"),
                    data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def assistant(settings: Settings) -> Assistant:
    """An assistant over the whole corpus with its index built (shared, read-only)."""
    bot = Assistant(settings)
    bot.index()
    return bot


def write_doc(folder: Path, doc_id: str, body: str, **meta: str) -> Path:
    """A small Markdown document with front matter."""
    folder.mkdir(parents=True, exist_ok=True)
    fields = {"id": doc_id, "title": meta.pop("title", doc_id), "type": "berita",
              "publisher": "Uji", "date": "2024-01-01", **meta}
    head = "\n".join(f"{k}: {v}" for k, v in fields.items())
    path = folder / f"{doc_id}.md"
    path.write_text(f"---\n{head}\n---\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def direct(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    """The shared assistant giving each card's verdict as it stands, conditional ones too
    (``verdict_policy=direct``): for tests of which card and which ruling decide."""
    monkeypatch.setattr(assistant, "settings",
                        assistant.settings.replace(verdict_policy="direct"))
    return assistant


# Hypothesis profiles (tests/test_fuzz.py): "ci" by default, bounded; HYPOTHESIS_PROFILE=long
# (make fuzz): 2,600 per property, over 10,000 in all. No deadline: an answer may take a second.
from hypothesis import settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile("ci", max_examples=20, deadline=None)
hypothesis_settings.register_profile("long", max_examples=2_600, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
