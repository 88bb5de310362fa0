"""Evaluation by split, and the calibration of the confidence models.

The question sets live in ``eval/`` and ``eval/splits.yaml`` says which file belongs to which
split: ``train`` (the models are fitted on it), ``validation`` (thresholds are chosen on it)
and ``test`` (reported, never used to choose anything). Each item has a ``question``, its
``kind`` (permission, sanction, ..., news, out_of_scope; ``news_elsewhere`` for a news
question about an article the corpus does not hold, which passes when declined or answered
with its facts and stays out of the abstention figures), the ``verdict`` its source gives
(or none), ``facts`` a correct answer contains, optionally ``gold`` document ids and a
``history`` of earlier user turns. Nothing here is read by the answer path.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from assistant.calibration import FIT_FEATURES, SCOPE_FEATURES, Calibration, fit_model
from assistant.chat import Assistant
from assistant.compose import compose
from assistant.decide import OUT_OF_SCOPE_TYPE, PERMISSIVE
from assistant.text import squash

OUT_OF_SCOPE = {"out_of_scope", "luar"}
NEWS = {"news", "berita"}
ELSEWHERE = "news_elsewhere"  # about an article the corpus does not hold


def load_items(files: list[Path]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in files:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            items.append(dict(item, file=str(path)))
    return items


def split_files(root: Path, split: str, fitting: bool = False) -> list[Path]:
    """The files of a split; ``fitting``: the part of it the models are fitted on, when
    splits.yaml names one (``calibrate``)."""
    splits = yaml.safe_load((root / "splits.yaml").read_text(encoding="utf-8"))
    names = (splits.get("calibrate") or {}).get(split) if fitting else None
    return [root / name for name in names or splits[split]]


def in_scope(item: dict[str, Any]) -> bool:
    return item.get("kind") not in OUT_OF_SCOPE


def run_items(assistant: Assistant, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer every item, with the decision's features and the judgement of the answer."""
    retriever = assistant.retriever
    rows = []
    for item in items:
        history = [{"role": "user", "content": t} for t in item.get("history") or []]
        t0 = time.perf_counter()
        q = assistant.understand(item["question"], history)
        decision = assistant.decide(q)
        answer = compose(decision)
        latency = time.perf_counter() - t0
        found = retriever.search(q, k=10) if item.get("gold") else None
        rows.append(judge(item, answer, decision, found, latency))
    return rows


def judge(item: dict[str, Any], answer: Any, decision: Any, found: Any, latency: float
          ) -> dict[str, Any]:
    expected = item.get("verdict") or None
    text = squash(answer.text).lower()
    facts_ok = all(squash(str(f)).lower() in text for f in item.get("facts") or [])
    scope = in_scope(item)
    # A permission question passes on its verdict, a news question on its facts (the other
    # questions' facts are wordings of their sources, reported as fact accuracy only).
    if not scope:
        passed = not answer.grounded
    elif item.get("kind") == ELSEWHERE:
        passed = not answer.grounded or (answer.verdict is None and facts_ok)
    elif expected:
        passed = answer.verdict == expected
    else:
        passed = answer.grounded and answer.verdict is None and (
            facts_ok or item.get("kind") not in NEWS)
    harmful = (not scope and answer.verdict is not None) or (
        expected == "tidak_boleh" and answer.verdict in PERMISSIVE)
    gold = set(item.get("gold") or [])
    ranked = list(dict.fromkeys(h.doc_id for h in found.hits)) if found else []
    rank = next((i + 1 for i, d in enumerate(ranked) if d in gold), None)
    card = decision.card or {}
    return {
        "id": item["id"], "file": item.get("file", ""), "question": item["question"],
        "kind": item.get("kind", ""), "in_scope": scope, "expected_verdict": expected,
        "verdict": answer.verdict, "intent": answer.intent, "outcome": answer.outcome,
        "abstained": not answer.grounded, "passed": passed, "harmful": harmful,
        "unasked_verdict": bool(answer.verdict) and not expected,
        "facts_ok": facts_ok and answer.grounded, "has_facts": bool(item.get("facts")),
        "has_gold": bool(gold), "rank": rank,
        "chosen": card.get("id") or (decision.evidence[0].doc_id if decision.evidence else ""),
        "chosen_verdict": card.get("verdict"), "confidence": answer.confidence,
        "reason": decision.reason, "features": decision.features, "latency": latency,
        "near_miss": card.get("type") == OUT_OF_SCOPE_TYPE,
        "elsewhere": item.get("kind") == ELSEWHERE,
    }


def metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    def share(selected: list[dict[str, Any]], key: str) -> float:
        return sum(bool(r[key]) for r in selected) / len(selected) if selected else float("nan")

    # A question about an article the corpus lacks may be declined or answered: it counts
    # for pass, not for the abstention figures.
    inside = [r for r in rows if r["in_scope"] and not r["elsewhere"]]
    outside = [r for r in rows if not r["in_scope"]]
    abstained = [r for r in rows if r["abstained"] and not r["elsewhere"]]
    with_verdict = [r for r in rows if r["expected_verdict"]]
    ranked = [r for r in rows if r["has_gold"]]
    news = [r for r in inside if r["kind"] in NEWS and r["has_facts"]]
    latencies = sorted(r["latency"] for r in rows)
    return {
        "questions": len(rows),
        "pass": share(rows, "passed"),
        "harmful": float(sum(r["harmful"] for r in rows)),
        "unasked_verdicts": float(sum(r["unasked_verdict"] for r in rows)),
        "verdict_accuracy": (sum(r["verdict"] == r["expected_verdict"] for r in with_verdict)
                             / len(with_verdict)) if with_verdict else float("nan"),
        "abstain_precision": (sum(not r["in_scope"] for r in abstained) / len(abstained))
        if abstained else float("nan"),
        "abstain_recall": share(outside, "abstained"),
        "false_abstention": share(inside, "abstained"),
        "clarify_rate": sum(r["outcome"] == "clarify" for r in rows) / max(len(rows), 1),
        "news_fact_accuracy": share(news, "facts_ok"),
        "fact_accuracy": share([r for r in inside if r["has_facts"]], "facts_ok"),
        "hit@3": (sum(bool(r["rank"]) and r["rank"] <= 3 for r in ranked) / len(ranked))
        if ranked else float("nan"),
        "latency_median_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
    }


def run_eval(assistant: Assistant, root: Path, splits: list[str]) -> dict[str, Any]:
    start = time.perf_counter()
    _ = assistant.retriever  # builds the index if it is missing
    result: dict[str, Any] = {"startup_seconds": time.perf_counter() - start, "splits": {},
                              "verdict_policy": assistant.settings.verdict_policy}
    for split in splits:
        rows = run_items(assistant, load_items(split_files(root, split)))
        result["splits"][split] = {"metrics": metrics(rows), "rows": rows}
    return result


def format_report(result: dict[str, Any], show_rows: bool = True) -> str:
    """The figures of each split, and the failing items of train and validation only: the
    test split's items are not shown, so that reading a report never tunes anything to
    them (the JSON output still holds every row)."""
    lines = [f"verdict policy: {result.get('verdict_policy', '')}"]
    for split, data in result["splits"].items():
        m = data["metrics"]
        lines += [
            f"{split}: {m['questions']} questions",
            f"  pass {m['pass']:.3f}   harmful {m['harmful']:.0f}   verdicts nobody asked for "
            f"{m['unasked_verdicts']:.0f}   verdict accuracy {m['verdict_accuracy']:.3f}   "
            f"clarify rate {m['clarify_rate']:.3f}",
            f"  abstention precision {m['abstain_precision']:.3f}   recall "
            f"{m['abstain_recall']:.3f}   in-scope false abstentions {m['false_abstention']:.3f}",
            f"  news fact accuracy {m['news_fact_accuracy']:.3f}   all facts "
            f"{m['fact_accuracy']:.3f}   hit@3 {m['hit@3']:.3f}   "
            f"latency median {m['latency_median_ms']:.1f} ms, p95 {m['latency_p95_ms']:.1f} ms",
        ]
        if show_rows and split != "test":
            for r in data["rows"]:
                if not r["passed"]:
                    flag = "HARMFUL " if r["harmful"] else ""
                    lines.append(
                        f"    {flag}fail {r['id']} [{r['kind']}] expected {r['expected_verdict']}"
                        f" got {r['outcome']}/{r['verdict']} ({r['chosen']}, {r['reason']}): "
                        f"{r['question'][:90]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def calibrate(assistant: Assistant, root: Path, max_false_abstention: float = 0.05
              ) -> tuple[Calibration, dict[str, Any]]:
    """Fit the two models on the training split and choose their thresholds on the
    validation split. The test split is not read."""
    assistant.calibration = Calibration()  # log features with no gate in the way
    files = {s: split_files(root, s, fitting=True) for s in ("train", "validation")}
    data = {s: run_items(assistant, load_items(files[s])) for s in files}

    def fit_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if r["features"].get("permission") and r["expected_verdict"]
                and r["chosen_verdict"]]

    # Questions a near-miss document already declines never reach the scope model.
    train = [r for r in data["train"] if not r["near_miss"] and not r["elsewhere"]]
    scope = fit_model([r["features"] for r in train if r["features"]],
                      [r["in_scope"] for r in train if r["features"]], SCOPE_FEATURES)
    fits = fit_rows(train)
    fit = fit_model([r["features"] for r in fits],
                    [r["chosen_verdict"] == r["expected_verdict"] for r in fits], FIT_FEATURES)

    val = [r for r in data["validation"]
           if r["features"] and not r["near_miss"] and not r["elsewhere"]]
    p_scope = [scope.probability(r["features"]) for r in val]
    inside = [p for p, r in zip(p_scope, val, strict=True) if r["in_scope"]]
    outside = [p for p, r in zip(p_scope, val, strict=True) if not r["in_scope"]]
    # The threshold with the fewest mistakes on validation, an answered out-of-scope question
    # counting twice a wrongly declined one, among those that decline at most
    # max_false_abstention of in-scope items; the highest such threshold on a tie.
    t_scope, best = 0.0, float("inf")
    for t in sorted(set(p_scope)):
        declined = sum(p < t for p in inside)
        if declined / max(len(inside), 1) > max_false_abstention:
            continue
        cost = declined + 2 * sum(p >= t for p in outside)
        if cost <= best:
            t_scope, best = t, cost
    val_fit = fit_rows(data["validation"])
    p_fit = [fit.probability(r["features"]) for r in val_fit]
    # The lowest threshold above every validation item whose verdict would be harmful.
    harmful = [p for p, r in zip(p_fit, val_fit, strict=True)
               if r["expected_verdict"] == "tidak_boleh" and r["chosen_verdict"] in PERMISSIVE]
    t_fit = min(max(harmful, default=0.0) + 1e-6, 0.99)
    # The scope a verdict needs: above every validation out-of-scope question that would get
    # one, unless that would take the verdict from more than a tenth of the in-scope
    # questions that get the right one.
    asked = [(scope.probability(r["features"]), r) for r in data["validation"]
             if r["features"].get("permission") and r["chosen_verdict"] and not r["elsewhere"]]
    wrong = [p for p, r in asked if not r["in_scope"]]
    right = [p for p, r in asked if r["in_scope"] and r["chosen_verdict"] == r["expected_verdict"]]
    t_verdict_scope = t_scope
    if wrong:
        candidate = min(max(wrong) + 1e-6, 0.99)
        if sum(p < candidate for p in right) <= 0.1 * len(right):
            t_verdict_scope = max(t_scope, candidate)
    cal = Calibration(scope, fit, {"scope": round(t_scope, 6), "verdict": round(t_fit, 6),
                                   "verdict_scope": round(t_verdict_scope, 6)}, {
        "train": [str(p) for p in files["train"]],
        "validation": [str(p) for p in files["validation"]],
        "train_items": len(train), "fit_items": len(fits),
        "validation_items": len(data["validation"]),
        "max_false_abstention": max_false_abstention,
    })
    report = {"scope_threshold": t_scope, "verdict_threshold": t_fit,
              "verdict_scope_threshold": t_verdict_scope,
              "validation_out_of_scope_verdict_scores": wrong,
              "validation_harmful_scores": harmful}
    return cal, report
