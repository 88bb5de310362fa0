"""Dev-set evaluation: retrieval quality, answer facts, verdicts, abstention, latency.

Each YAML file in ``eval/`` is a list of questions with ``gold`` document ids (empty for
out-of-scope questions), expected ``facts``, and for rule questions the expected
``verdict`` and ``articles``. Targets are in the README; nothing here is hard-coded into
the answer path.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from assistant.chat import Assistant
from assistant.settings import Settings
from assistant.text import squash


def load_devset(files: list[Path]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in files:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            items.append(dict(item, file=path.name))
    return items


def run_eval(settings: Settings, files: list[Path], assistant: Assistant | None = None
             ) -> dict[str, Any]:
    items = load_devset(files)
    start = time.perf_counter()
    assistant = assistant or Assistant(settings)
    retriever = assistant.retriever  # builds the index if it is missing
    startup = time.perf_counter() - start
    rows = []
    for item in items:
        t0 = time.perf_counter()
        answer = assistant.ask(item["question"])
        latency = time.perf_counter() - t0
        hits = retriever.search(item["question"], k=10)
        ranked_docs = list(dict.fromkeys(h.doc_id for h in hits))
        gold = set(item.get("gold") or [])
        rank = next((i + 1 for i, d in enumerate(ranked_docs) if d in gold), None)
        text = squash(answer.text).lower()
        rows.append({
            "id": item["id"],
            "question": item["question"],
            "in_scope": bool(gold),
            "rank": rank,
            "top_similarity": max((h.similarity for h in hits), default=0.0),
            "abstained": not answer.grounded,
            "facts_ok": all(squash(str(f)).lower() in text for f in item.get("facts") or [])
            and answer.grounded,
            "has_facts": bool(item.get("facts")),
            "verdict": answer.verdict,
            "expected_verdict": item.get("verdict"),
            "articles_ok": all(squash(a).lower() in text for a in item.get("articles") or []),
            "has_articles": bool(item.get("articles")),
            "latency": latency,
        })
    return {"settings": {"retrieval": settings.retrieval, "fusion": settings.fusion,
                         "chunk_size": settings.chunk_size,
                         "min_similarity": settings.min_similarity,
                         "min_similarity_en": settings.min_similarity_en},
            "startup_seconds": startup, "metrics": metrics(rows), "rows": rows}


def metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    def share(selected: list[dict[str, Any]], key: str) -> float:
        return sum(bool(r[key]) for r in selected) / len(selected) if selected else float("nan")

    inside = [r for r in rows if r["in_scope"]]
    outside = [r for r in rows if not r["in_scope"]]
    abstained = [r for r in rows if r["abstained"]]
    with_verdict = [r for r in rows if r["expected_verdict"]]
    latencies = sorted(r["latency"] for r in rows)
    return {
        "questions": len(rows),
        "hit@1": sum(r["rank"] == 1 for r in inside) / max(len(inside), 1),
        "hit@3": sum(bool(r["rank"]) and r["rank"] <= 3 for r in inside) / max(len(inside), 1),
        "mrr": sum(1 / r["rank"] for r in inside if r["rank"]) / max(len(inside), 1),
        "fact_accuracy": share([r for r in inside if r["has_facts"]], "facts_ok"),
        "verdict_accuracy": (sum(r["verdict"] == r["expected_verdict"] for r in with_verdict)
                             / len(with_verdict)) if with_verdict else float("nan"),
        "article_cited": share([r for r in inside if r["has_articles"]], "articles_ok"),
        "abstain_precision": (sum(not r["in_scope"] for r in abstained) / len(abstained))
        if abstained else float("nan"),
        "abstain_recall": share(outside, "abstained"),
        "false_abstention": share(inside, "abstained"),
        "latency_median_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
    }


def format_report(result: dict[str, Any]) -> str:
    m = result["metrics"]
    s = result["settings"]
    lines = [
        f"Dev set: {m['questions']} questions; retrieval={s['retrieval']} ({s['fusion']}), "
        f"chunk_size={s['chunk_size']}, min_similarity={s['min_similarity']}"
        f"/{s['min_similarity_en']} (id/en)",
        f"  hit@1 {m['hit@1']:.3f}   hit@3 {m['hit@3']:.3f}   MRR {m['mrr']:.3f}",
        f"  fact accuracy {m['fact_accuracy']:.3f}   verdict accuracy {m['verdict_accuracy']:.3f}"
        f"   right article cited {m['article_cited']:.3f}",
        f"  abstention precision {m['abstain_precision']:.3f}   recall {m['abstain_recall']:.3f}"
        f"   in-scope false abstentions {m['false_abstention']:.3f}",
        f"  latency median {m['latency_median_ms']:.1f} ms   p95 {m['latency_p95_ms']:.1f} ms"
        f"   (start-up {result['startup_seconds']:.1f} s)",
    ]
    misses = [r for r in result["rows"] if r["in_scope"] and (not r["rank"] or r["rank"] > 3)]
    wrong = [r for r in result["rows"]
             if r["abstained"] != (not r["in_scope"])
             or (r["expected_verdict"] and r["verdict"] != r["expected_verdict"])]
    for r in misses:
        lines.append(f"  retrieval miss {r['id']}: {r['question']}")
    for r in wrong:
        what = "abstained" if r["abstained"] else f"answered (verdict {r['verdict']})"
        lines.append(f"  wrong {r['id']} {what} sim={r['top_similarity']:.3f}: {r['question']}")
    return "\n".join(lines)
