"""The ``netralitas`` command, run as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_doc


def run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def test_index_reports_added_changed_removed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "satu", "ASN wajib netral dalam pemilu. Ini dokumen pertama.")
    write_doc(corpus, "dua", "Bawaslu mengawasi netralitas ASN. Ini dokumen kedua.")
    (corpus / "rusak.md").write_bytes(b"\xff\xfe rusak")
    env = {"NETRALITAS_CORPUS_DIR": str(corpus), "NETRALITAS_INDEX_DIR": str(tmp_path / "ix")}
    first = run(["index"], env)
    assert first.returncode == 0, first.stderr
    assert "added: dua" in first.stdout and "added: satu" in first.stdout
    assert "2 added, 0 changed, 0 removed" in first.stdout
    assert "skipped: rusak.md" in first.stderr and "UTF-8" in first.stderr

    write_doc(corpus, "satu", "ASN wajib netral dalam pemilu. Isinya sudah diubah.")
    (corpus / "dua.md").unlink()
    second = run(["index"], env)
    assert "changed: satu" in second.stdout and "removed: dua" in second.stdout
    assert "0 added, 1 changed, 1 removed, 0 unchanged" in second.stdout


def test_ask_json_and_text(settings, assistant) -> None:
    env = {"NETRALITAS_CORPUS_DIR": str(settings.corpus_dir),
           "NETRALITAS_INDEX_DIR": str(settings.index_dir)}
    out = run(["ask", "Bolehkah ASN memberi like pada unggahan calon bupati?", "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["verdict"] == "tidak_boleh" and data["grounded"] is True
    assert {"n", "doc_id", "title", "type", "publisher", "date", "url", "quote", "score"} <= set(
        data["citations"][0])
    text = run(["ask", "Berapa kasus pelanggaran netralitas yang dicatat BKN di Sumsel pada 2020?"],
               env)
    assert "694" in text.stdout and "[1]" in text.stdout and "Sumber:" in text.stdout
    empty = run(["ask", "  "], env)
    assert empty.returncode == 2 and "kosong" in empty.stderr


def test_eval_prints_the_metrics(settings, assistant, tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(
        "- id: m1\n  question: Berapa kasus pelanggaran netralitas ASN di Sumsel tahun 2020?\n"
        "  kind: berita\n  gold: [berita-tribunsumsel-2020-694-kasus]\n  facts: ['694']\n"
        "- id: m2\n  question: Bagaimana cara memasak rendang?\n  kind: luar\n  gold: []\n",
        encoding="utf-8")
    (tmp_path / "splits.yaml").write_text("train: [mini.yaml]\nvalidation: []\ntest: []\n",
                                          encoding="utf-8")
    env = {"NETRALITAS_CORPUS_DIR": str(settings.corpus_dir),
           "NETRALITAS_INDEX_DIR": str(settings.index_dir)}
    out = run(["eval", "--eval-dir", str(tmp_path), "--split", "train"], env)
    assert out.returncode == 0, out.stderr
    assert "train: 2 questions" in out.stdout and "pass 1.000   harmful 0" in out.stdout
    assert "news fact accuracy 1.000" in out.stdout and "hit@3 1.000" in out.stdout
    assert "abstention precision 1.000   recall 1.000" in out.stdout


def test_a_question_on_an_article_the_corpus_lacks_passes_when_declined() -> None:
    """It counts for pass but not for the abstention figures, either way it is answered."""
    from types import SimpleNamespace

    from assistant.evaluation import judge, metrics

    item = {"id": "x", "question": "Siapa ASN yang dipanggil Bawaslu?", "kind": "news_elsewhere",
            "facts": ["Budi"]}
    declined = SimpleNamespace(text="Maaf ...", grounded=False, verdict=None, intent="fact",
                               outcome="abstain", confidence=None)
    wrong = SimpleNamespace(text="Kata Ani ...", grounded=True, verdict=None, intent="fact",
                            outcome="passages", confidence=0.9)
    decision = SimpleNamespace(card={}, evidence=[], reason="", features={})
    rows = [judge(item, a, decision, None, 0.01) for a in (declined, wrong)]
    assert [r["passed"] for r in rows] == [True, False]
    figures = metrics(rows)
    assert figures["false_abstention"] != figures["false_abstention"]  # nan: none counted
    assert figures["pass"] == 0.5


def test_the_report_lists_failures_of_the_dev_splits_only() -> None:
    from assistant.evaluation import format_report, metrics

    row = {"id": "q1", "kind": "permission", "expected_verdict": "tidak_boleh",
           "verdict": None, "outcome": "abstain", "chosen": "", "reason": "", "passed": False,
           "harmful": False, "question": "Bolehkah ASN like?", "in_scope": True,
           "abstained": True, "elsewhere": False, "unasked_verdict": False, "facts_ok": False,
           "has_facts": False, "has_gold": False, "rank": None, "latency": 0.01}
    result = {"splits": {s: {"metrics": metrics([row]), "rows": [row]}
                         for s in ("validation", "test")}}
    report = format_report(result)
    assert report.count("fail q1") == 1
    assert report.index("fail q1") < report.index("test:")
