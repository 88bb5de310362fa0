"""Speed benchmarks: indexing from scratch, first answer from a cold process, warm ask().

Run with `make bench` (or `.venv/bin/python benchmarks/bench.py`). Each measurement runs in
its own process so imports and model loading count where a user would pay for them. The
embedding model must already be prepared (any `netralitas` command does that once).
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
    args = parser.parse_args()

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NETRALITAS_INDEX_DIR=str(Path(tmp) / "index"))
        index_runs = []
        for i in range(args.runs):
            env["NETRALITAS_INDEX_DIR"] = str(Path(tmp) / f"index{i}")
            index_runs.append(timed("from assistant.cli import main; main(['index'])", env))
        results["index_from_scratch_s"] = index_runs
        cold = [timed(f"from assistant import ask; ask({QUESTION!r})", env)
                for _ in range(args.runs)]
        results["cold_first_answer_s"] = cold

        os.environ.update(env)
        import yaml

        from assistant import Assistant

        bot = Assistant()
        _ = bot.retriever
        splits = yaml.safe_load((ROOT / "eval" / "splits.yaml").read_text(encoding="utf-8"))
        files = [ROOT / "eval" / name for name in splits["train"] + splits["validation"]]
        questions = [q["question"] for f in files
                     for q in yaml.safe_load(f.read_text(encoding="utf-8"))]
        warm = []
        for q in questions:  # each question once, as a new user would ask it
            start = time.perf_counter()
            bot.ask(q)
            warm.append(1000 * (time.perf_counter() - start))
        results["warm_ask_ms"] = {"n": len(warm), "median": statistics.median(warm),
                                  "p95": sorted(warm)[int(0.95 * (len(warm) - 1))],
                                  "max": max(warm)}

    print(f"index from scratch: {', '.join(f'{t:.1f}' for t in index_runs)} s "
          f"(median {statistics.median(index_runs):.1f} s; target <= 15 s)")
    print(f"cold first answer:  {', '.join(f'{t:.1f}' for t in cold)} s "
          f"(median {statistics.median(cold):.1f} s; target <= 10 s)")
    w = results["warm_ask_ms"]
    print(f"warm ask():         median {w['median']:.1f} ms, p95 {w['p95']:.1f} ms, "
          f"max {w['max']:.1f} ms over {w['n']} questions (target median <= 60 ms)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
