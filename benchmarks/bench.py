"""Speed benchmarks: indexing from scratch, first answer from a cold process, warm ask();
then the same corpus and dev questions through the plain LangChain RAG recipe, side by side
(`benchmarks/recipe.py`; `--skip-recipe` leaves it out).

Run with `make bench` (or `.venv/bin/python benchmarks/bench.py`). Each measurement runs in
its own process so imports and model loading count where a user would pay for them. The
embedding model must already be prepared (any `netralitas` command does that once).
`--limit N` and `--limit-docs N` (the first N questions, documents) are for trying the
script quickly; their figures are not the benchmark's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import recipe  # benchmarks/recipe.py, beside this file

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Bolehkah ASN memberi like pada unggahan calon kepala daerah?"


def timed(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-recipe", action="store_true",
                        help="leave out the comparison with the plain LangChain recipe")
    parser.add_argument("--limit", type=int, help="only the first N dev questions (a test)")
    parser.add_argument("--limit-docs", type=int,
                        help="index only the first N documents, both systems (a test)")
    args = parser.parse_args()

    results: dict[str, object] = {}
    comparison: dict[str, object] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NETRALITAS_INDEX_DIR=str(Path(tmp) / "index"))
        if args.limit_docs:
            env["NETRALITAS_CORPUS_DIR"] = str(
                recipe.subset_corpus(Path(tmp) / "corpus", args.limit_docs))
            results["limit_docs"] = args.limit_docs
        index_runs = []
        for i in range(args.runs):
            env["NETRALITAS_INDEX_DIR"] = str(Path(tmp) / f"index{i}")
            index_runs.append(timed("from assistant.cli import main; main(['index'])", env))
        results["index_from_scratch_s"] = index_runs
        cold = [timed(f"from assistant import ask; ask({QUESTION!r})", env)
                for _ in range(args.runs)]
        results["cold_first_answer_s"] = cold

        os.environ.update(env)
        from assistant import Assistant

        bot = Assistant()
        _ = bot.retriever
        items = recipe.dev_items(args.limit)  # train + validation, as `netralitas eval`
        questions = [q["question"] for q in items]
        warm = []
        for q in questions:  # each question once, as a new user would ask it
            start = time.perf_counter()
            bot.ask(q)
            warm.append(1000 * (time.perf_counter() - start))
        results["warm_ask_ms"] = {"n": len(warm), "median": statistics.median(warm),
                                  "p95": sorted(warm)[int(0.95 * (len(warm) - 1))],
                                  "max": max(warm)}
        if not args.skip_recipe:
            comparison = recipe.compare(bot.settings, env, items, index_runs, cold, QUESTION,
                                        args.runs, Path(tmp))
            results["comparison"] = comparison

    print(f"index from scratch: {', '.join(f'{t:.1f}' for t in index_runs)} s "
          f"(median {statistics.median(index_runs):.1f} s; target <= 15 s)")
    print(f"cold first answer:  {', '.join(f'{t:.1f}' for t in cold)} s "
          f"(median {statistics.median(cold):.1f} s; target <= 10 s)")
    w = results["warm_ask_ms"]
    print(f"warm ask():         median {w['median']:.1f} ms, p95 {w['p95']:.1f} ms, "
          f"max {w['max']:.1f} ms over {w['n']} questions (target median <= 60 ms)")
    if comparison is not None:
        print(recipe.table(comparison))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
