"""How indexing, start-up, answers and memory grow with the corpus: 1k, 10k and 100k chunks.

For each size, a synthetic corpus (benchmarks/synth.py) is indexed from scratch, then a
fresh process starts (store opened, BM25 loaded, model loaded), answers a first question and
then dev questions, each once. Every step runs in its own process, so imports, loading and
memory count where a user pays for them. With ``--server`` the same runs against a Chroma
server (``chroma run`` on loopback) instead of the embedded store.

    python benchmarks/scale.py --sizes 1000 10000 100000 --json out.json --plot out.png

Indexing 100k chunks takes about half an hour on two cores; ``--reuse`` keeps corpora and
indexes under ``--work`` between runs, and the server run then serves the embedded index
of the same size instead of embedding it again (its indexing is measured at the sizes
it builds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

# Run in a fresh interpreter: index, then report seconds, chunks and peak memory as JSON.
INDEX = """
import json, resource, sys, time
from assistant.chat import Assistant
start = time.perf_counter()
report, errors = Assistant().index()
print(json.dumps({"seconds": time.perf_counter() - start, "chunks": report.chunks,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
# Start-up, a first answer, then every question once; times in seconds.
ANSWER = """
import json, resource, sys, time
t0 = time.perf_counter()
from assistant.chat import Assistant
bot = Assistant()
_ = bot.retriever
started = time.perf_counter() - t0
bot.ask(sys.argv[1])
first = time.perf_counter() - t0
times = []
for q in json.loads(sys.stdin.read()):
    t = time.perf_counter()
    bot.ask(q)
    times.append(time.perf_counter() - t)
print(json.dumps({"startup_s": started, "first_answer_s": first, "times": times,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
FIRST = "Bolehkah ASN memberi like pada unggahan calon kepala daerah?"


def child(code: str, env: dict[str, str], stdin: str = "", *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", code, *args], input=stdin, env=env,
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def dev_questions(limit: int) -> list[str]:
    import yaml

    from assistant.evaluation import split_files

    items: list[str] = []
    for f in split_files(ROOT / "eval", "train") + split_files(ROOT / "eval", "validation"):
        items += [q["question"] for q in yaml.safe_load(f.read_text(encoding="utf-8"))]
    return items[:limit]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_server(path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``chroma run`` on a free loopback port, once it answers its heartbeat."""
    import urllib.request

    port = free_port()
    command = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(command), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the Chroma server did not start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def measure(size: int, work: Path, questions: list[str], server: bool, reuse: bool
            ) -> dict[str, Any]:
    from synth import build

    corpus, index = work / f"corpus-{size}", work / f"index-{size}"
    env = dict(os.environ, NETRALITAS_CORPUS_DIR=str(corpus), NETRALITAS_INDEX_DIR=str(index))
    row: dict[str, Any] = {"size": size, "store": "server" if server else "embedded"}
    if not (reuse and corpus.is_dir()):
        build(size, corpus)
    proc = None
    try:
        if server:
            served = work / f"served-{size}"
            env["NETRALITAS_INDEX_DIR"] = str(work / f"server-local-{size}")
            shutil.rmtree(served, ignore_errors=True)
            copied = reuse and (index / "chroma").is_dir()
            if copied:
                shutil.copytree(index / "chroma", served)
            proc, port = chroma_server(served)
            env.update(NETRALITAS_CHROMA_HOST="127.0.0.1", NETRALITAS_CHROMA_PORT=str(port))
            if not copied:
                row["index"] = child(INDEX, env)
        elif not (reuse and (index / "chroma").is_dir()):
            shutil.rmtree(index, ignore_errors=True)
            row["index"] = child(INDEX, env)
        # The first start reads the chunk table from the store and builds BM25, and saves
        # both beside the index; every later start loads them.
        row["startup_uncached_s"] = child(ANSWER, env, json.dumps([]), FIRST)["startup_s"]
        run = child(ANSWER, env, json.dumps(questions), FIRST)
        times = [1000 * t for t in run.pop("times")]
        row.update(run, query_median_ms=percentile(times, 0.5),
                   query_p95_ms=percentile(times, 0.95), questions=len(times))
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
    if "index" in row:
        row["index"]["chunks_per_s"] = row["index"]["chunks"] / row["index"]["seconds"]
    return row


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [("query_p95_ms", "query p95 (ms)"), ("startup_s", "start-up (s)"),
              ("peak_mb", "peak memory (MB)")]
    for ax, (key, label) in zip(axes, panels, strict=True):
        for store in ("embedded", "server"):
            mine = sorted((r for r in rows if r["store"] == store), key=lambda r: r["size"])
            if mine:
                ax.plot([r["size"] for r in mine], [r[key] for r in mine], marker="o",
                        label=store)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("chunks in the index")
        ax.set_title(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/netralitas-scale"))
    parser.add_argument("--stores", nargs="+", default=["embedded", "server"],
                        choices=["embedded", "server"])
    parser.add_argument("--reuse", action="store_true",
                        help="keep corpora and indexes under --work between runs")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--plot-only", action="store_true",
                        help="draw --plot from the rows in --json, measuring nothing")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads(args.json.read_text()), args.plot)
        return

    args.work.mkdir(parents=True, exist_ok=True)
    questions = dev_questions(args.questions)
    rows = []
    for size in args.sizes:
        for store in args.stores:
            row = measure(size, args.work, questions, store == "server", args.reuse)
            rows.append(row)
            ix = row.get("index")
            built = (f"indexed {ix['chunks']} chunks in {ix['seconds']:.0f} s "
                     f"({ix['chunks_per_s']:.0f}/s, peak {ix['peak_mb']:.0f} MB); "
                     if ix else "")
            print(f"{size:>7} {store:<8} {built}start-up {row['startup_s']:.1f} s "
                  f"({row['startup_uncached_s']:.1f} s the first time), first "
                  f"answer {row['first_answer_s']:.1f} s, query median "
                  f"{row['query_median_ms']:.0f} ms p95 {row['query_p95_ms']:.0f} ms, peak "
                  f"{row['peak_mb']:.0f} MB", flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=2))
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
