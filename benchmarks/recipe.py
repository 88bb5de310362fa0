"""The project beside the plain LangChain RAG recipe: same corpus, same dev questions, one run.

Why: a figure for the project says little alone; the recipe most RAG assistants start from
(1,000-character chunks, one embedding model, Chroma, the top 4 chunks, the first one as
the answer) is what it has to beat, in speed, memory, retrieval and knowing when to decline.
Both get the documents `load_corpus` reads and the same prepared e5 model with its
"query: " / "passage: " prompts. Each figure is measured where a user pays for it: indexing
and the first answer in fresh processes, and warm latency, peak memory, hit@3, MRR and
abstention in one fresh process per system that answers every dev question once.

`benchmarks/bench.py` calls `compare()`; this file is also the child those processes run
(`python benchmarks/recipe.py index|cold|answer-all ...`), so its top level imports only the
standard library: a child pays for its own system's imports, never for the other's.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT / "eval"
DEV_SPLITS = ("train", "validation")
CHUNK_SIZE = 1000  # the recipe's RecursiveCharacterTextSplitter defaults in tutorials
CHUNK_OVERLAP = 200
RECIPE_K = 4  # similarity_search's default k
HIT_AT = 3
PROJECT_DEPTH = 10  # the hits evaluation.run_items ranks documents by


# --------------------------------------------------------------------------------------------
# The plain recipe (runs in the child processes)
# --------------------------------------------------------------------------------------------


def recipe_embeddings(model_dir: str) -> Any:
    """HuggingFaceEmbeddings on the project's prepared model, with e5's prompts so that the
    comparison is about the pipeline, not about a model used without its prompts."""
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=model_dir, model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "prompt": "passage: "},
        query_encode_kwargs={"normalize_embeddings": True, "prompt": "query: "})


def client_settings() -> Any:
    """Chroma's defaults but for telemetry, off as in the project (`store.py`): these
    machines are offline. The search itself is Chroma's default (L2 on unit vectors, the
    cosine order)."""
    import chromadb

    return chromadb.config.Settings(anonymized_telemetry=False)


def recipe_store(store_dir: str, model_dir: str) -> Any:
    """The recipe's Chroma store, opened as its user would open it."""
    from langchain_chroma import Chroma

    return Chroma(persist_directory=store_dir, embedding_function=recipe_embeddings(model_dir),
                  client_settings=client_settings())


def recipe_index(docs_json: str, store_dir: str, model_dir: str, out: str) -> None:
    """Split, embed and write the Chroma store: what the recipe's user waits for."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = [Document(page_content=d["text"], metadata={"doc_id": d["id"]})
            for d in json.loads(Path(docs_json).read_text(encoding="utf-8"))]
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.split_documents(docs)
    Chroma.from_documents(chunks, recipe_embeddings(model_dir), persist_directory=store_dir,
                          client_settings=client_settings())
    Path(out).write_text(json.dumps({"documents": len(docs), "chunks": len(chunks)}))


def recipe_cold(store_dir: str, model_dir: str, question: str, out: str) -> None:
    """Import, load and answer one question: the recipe's first answer."""
    found = recipe_store(store_dir, model_dir).similarity_search(question, k=RECIPE_K)
    Path(out).write_text(json.dumps({"answer_doc": found[0].metadata["doc_id"] if found
                                     else None}))


def answer_all_recipe(store_dir: str, model_dir: str, items: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    """Each question once; the documents of the k chunks in order, deduplicated. The recipe
    always answers with its top chunk, so it never declines."""
    store = recipe_store(store_dir, model_dir)
    rows = []
    for item in items:
        start = time.perf_counter()
        found = store.similarity_search(item["question"], k=RECIPE_K)
        ms = 1000 * (time.perf_counter() - start)
        ranked = list(dict.fromkeys(d.metadata["doc_id"] for d in found))
        rows.append({"ms": ms, "ranked": ranked, "declined": False})
    return rows


def answer_all_project(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each question once through `Assistant.ask` (timed); the documents are ranked as
    `evaluation.run_items` ranks them (the retriever's hits for the understood question),
    outside the timed span."""
    from assistant import Assistant

    bot = Assistant()
    _ = bot.retriever
    rows = []
    for item in items:
        start = time.perf_counter()
        answer = bot.ask(item["question"])
        ms = 1000 * (time.perf_counter() - start)
        ranked: list[str] = []
        if item["gold"]:
            found = bot.retriever.search(bot.understand(item["question"]), k=PROJECT_DEPTH)
            ranked = list(dict.fromkeys(h.doc_id for h in found.hits))
        rows.append({"ms": ms, "ranked": ranked, "declined": not answer.grounded})
    return rows


def answer_all(system: str, items_json: str, out: str, store_dir: str = "",
               model_dir: str = "") -> None:
    """Load one system and answer every question; peak memory is this process's max RSS."""
    items = json.loads(Path(items_json).read_text(encoding="utf-8"))
    rows = (answer_all_project(items) if system == "project"
            else answer_all_recipe(store_dir, model_dir, items))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    Path(out).write_text(json.dumps({"rows": rows, "peak_rss_mb": rss_mb}))


# --------------------------------------------------------------------------------------------
# The comparison (runs in bench.py's process)
# --------------------------------------------------------------------------------------------


def dev_items(limit: int | None = None) -> list[dict[str, Any]]:
    """The dev questions (train + validation), as `netralitas eval` reads them."""
    from assistant.evaluation import load_items, split_files

    files = [f for split in DEV_SPLITS for f in split_files(EVAL_DIR, split)]
    return load_items(files)[:limit]


def subset_corpus(dest: Path, limit_docs: int) -> Path:
    """A copy of the first documents of the corpus, folders kept (so trust is kept), for a
    quick test of the benchmark; both systems then index the same subset."""
    from assistant.documents import load_corpus
    from assistant.settings import Settings

    settings = Settings.from_env()
    for doc in load_corpus(settings.corpus_dir, settings.trusted).documents[:limit_docs]:
        target = dest / doc.source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(settings.corpus_dir / doc.source, target)
    return dest


def run_child(args: list[str], env: dict[str, str]) -> float:
    """Run this file as a fresh process; its wall time in seconds (like bench.py's timed)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], env=env,
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return took


def percentile_95(values: list[float]) -> float:
    """The same p95 as bench.py's warm figure."""
    return sorted(values)[int(0.95 * (len(values) - 1))]


def quality(rows: list[dict[str, Any]], items: list[dict[str, Any]], depth: int | None = None
            ) -> dict[str, float]:
    """hit@3 and MRR of the first gold document by document rank (`depth`: only that many
    documents count), and the share of out-of-scope questions declined."""
    ranks = []
    for row, item in zip(rows, items, strict=True):
        if item["gold"]:
            ranked = row["ranked"][:depth]
            ranks.append(next((i + 1 for i, d in enumerate(ranked) if d in item["gold"]), None))
    outside = [row["declined"] for row, item in zip(rows, items, strict=True)
               if not item["in_scope"]]
    nan = float("nan")
    return {
        f"hit@{HIT_AT}": sum(bool(r) and r <= HIT_AT for r in ranks) / len(ranks) if ranks else nan,
        "mrr": sum(1 / r for r in ranks if r) / len(ranks) if ranks else nan,
        "declined_out_of_scope": sum(outside) / len(outside) if outside else nan,
    }


def summary(answered: dict[str, Any], items: list[dict[str, Any]], index_s: list[float],
            cold_s: list[float]) -> dict[str, Any]:
    """One system's figures, from its fresh processes."""
    rows = answered["rows"]
    ms = [r["ms"] for r in rows]
    return {
        "index_from_scratch_s": index_s, "cold_first_answer_s": cold_s,
        "warm_ms": {"n": len(ms), "median": statistics.median(ms), "p95": percentile_95(ms),
                    "max": max(ms)},
        "peak_rss_mb": answered["peak_rss_mb"],
        **quality(rows, items),
        f"mrr@{RECIPE_K}": quality(rows, items, depth=RECIPE_K)["mrr"],
    }


# (label, figure, decimals shown, True when lower is better)
ROWS: list[tuple[str, str, int, bool]] = [
    ("index from scratch, median (s)", "index", 1, True),
    ("cold first answer, median (s)", "cold", 1, True),
    ("warm answer, median (ms)", "warm_median", 1, True),
    ("warm answer, p95 (ms)", "warm_p95", 1, True),
    ("peak memory, all questions (MB)", "peak_rss_mb", 0, True),
    (f"hit@{HIT_AT} of the gold documents", f"hit@{HIT_AT}", 3, False),
    ("MRR, each system's own ranking", "mrr", 3, False),
    (f"MRR@{RECIPE_K}, first {RECIPE_K} documents only", f"mrr@{RECIPE_K}", 3, False),
    ("out-of-scope questions declined", "declined_out_of_scope", 3, False),
]


def figure(system: dict[str, Any], key: str) -> float:
    if key == "index":
        return statistics.median(system["index_from_scratch_s"])
    if key == "cold":
        return statistics.median(system["cold_first_answer_s"])
    if key.startswith("warm_"):
        return system["warm_ms"][key.removeprefix("warm_")]
    return system[key]


def ratio(project: float, recipe: float, lower_is_better: bool) -> float | None:
    """How many times better the project is (above 1: better, below 1: worse); None when
    a figure is zero or missing (the recipe declines nothing)."""
    better, worse = (recipe, project) if lower_is_better else (project, recipe)
    if not worse or math.isnan(better) or math.isnan(worse):
        return None
    return better / worse


def table(result: dict[str, Any]) -> str:
    """The side-by-side table bench.py prints."""
    p, r = result["project"], result["recipe"]
    n = result["questions"]
    lines = [
        f"project vs plain LangChain recipe ({result['documents']} documents, "
        f"{result['recipe_chunks']} recipe chunks; {n['all']} dev questions, {n['gold']} with "
        f"gold documents, {n['out_of_scope']} out of scope)",
        f"  {'':38} {'project':>10} {'recipe':>10} {'project better by':>18}",
    ]
    for label, key, digits, _ in ROWS:
        x, y, k = figure(p, key), figure(r, key), result["ratios"][key]
        lines.append(f"  {label:38} {x:10.{digits}f} {y:10.{digits}f} "
                     f"{f'{k:.2f}×' if k is not None else '–':>18}")
    return "\n".join(lines)


def compare(settings: Any, env: dict[str, str], items: list[dict[str, Any]],
            project_index_s: list[float], project_cold_s: list[float], question: str,
            runs: int, work: Path) -> dict[str, Any]:
    """Measure the recipe as bench.py measured the project (its indexing and cold figures
    are passed in, from the same kind of fresh processes), then both systems' warm latency,
    memory, retrieval and abstention, each in one fresh process over the same questions.
    `settings` and `env` (its NETRALITAS_* variables) name the project's corpus and built
    index. The recipe's index process is given the documents' texts as JSON, so it pays
    neither for the project's imports nor for parsing (`corpus_load_s` says how long that
    took here)."""
    from assistant.documents import load_corpus
    from assistant.evaluation import in_scope
    from assistant.modelprep import prepare_e5_model

    model_dir = str(prepare_e5_model())
    start = time.perf_counter()
    docs = load_corpus(settings.corpus_dir, settings.trusted).documents
    corpus_load_s = time.perf_counter() - start
    docs_json = work / "documents.json"
    docs_json.write_text(json.dumps([{"id": d.id, "text": d.text} for d in docs]),
                         encoding="utf-8")
    items_json = work / "questions.json"
    asked = [{"question": i["question"], "gold": list(i.get("gold") or []),
              "in_scope": in_scope(i)} for i in items]
    items_json.write_text(json.dumps(asked), encoding="utf-8")
    # Nothing may reach a model hub here; the project sets the same in assistant/embedding.py.
    child_env = dict(env, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                     TOKENIZERS_PARALLELISM="false")
    out = work / "out.json"

    index_s = []
    for i in range(runs):
        store = work / f"recipe-store{i}"
        index_s.append(run_child(["index", str(docs_json), str(store), model_dir, str(out)],
                                 child_env))
    built = json.loads(out.read_text())
    cold_s = [run_child(["cold", str(store), model_dir, question, str(out)], child_env)
              for _ in range(runs)]

    run_child(["answer-all", "recipe", str(items_json), str(out), str(store), model_dir],
              child_env)
    recipe = summary(json.loads(out.read_text()), asked, index_s, cold_s)
    run_child(["answer-all", "project", str(items_json), str(out)], child_env)
    project = summary(json.loads(out.read_text()), asked, project_index_s, project_cold_s)

    return {
        "documents": len(docs), "corpus_load_s": corpus_load_s,
        "recipe_chunks": built["chunks"],
        "questions": {"all": len(asked), "gold": sum(bool(i["gold"]) for i in asked),
                      "out_of_scope": sum(not i["in_scope"] for i in asked)},
        "recipe_settings": {"chunk_size": CHUNK_SIZE, "chunk_overlap": CHUNK_OVERLAP,
                            "k": RECIPE_K, "model": model_dir},
        "project": project, "recipe": recipe,
        "ratios": {key: ratio(figure(project, key), figure(recipe, key), lower)
                   for _, key, _, lower in ROWS},
    }


def main() -> None:
    """The child processes' entry point."""
    parser = argparse.ArgumentParser(description="child process of the recipe comparison")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index")
    for name in ("docs_json", "store_dir", "model_dir", "out"):
        p.add_argument(name)
    p = sub.add_parser("cold")
    for name in ("store_dir", "model_dir", "question", "out"):
        p.add_argument(name)
    p = sub.add_parser("answer-all")
    p.add_argument("system", choices=["project", "recipe"])
    for name in ("items_json", "out"):
        p.add_argument(name)
    p.add_argument("store_dir", nargs="?", default="")
    p.add_argument("model_dir", nargs="?", default="")
    args = parser.parse_args()
    if args.command == "index":
        recipe_index(args.docs_json, args.store_dir, args.model_dir, args.out)
    elif args.command == "cold":
        recipe_cold(args.store_dir, args.model_dir, args.question, args.out)
    else:
        answer_all(args.system, args.items_json, args.out, args.store_dir, args.model_dir)


if __name__ == "__main__":
    main()
