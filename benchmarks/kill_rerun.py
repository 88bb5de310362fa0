"""Kill-and-rerun rounds: indexing killed with SIGKILL at a random moment, then run again.

Run with `make kill` (or `.venv/bin/python benchmarks/kill_rerun.py --rounds N`). On a copy of
the corpus, each round starts `netralitas index` from an empty index, kills it after a random
delay (before it can finish), runs `netralitas index` again to the end, and checks the result
against a reference index built once without interruption: the same chunk ids and stored
sentences, the store check passing, and the same answers to a few questions. It prints the
rounds and the inconsistencies found (the goal is none).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).parent / "netralitas")]
QUESTIONS = ["Bolehkah saya memberi like pada unggahan calon bupati?",
             "Apa sanksi bagi PNS yang tidak netral?",
             "Bolehkah PNS jadi anggota KPPS?"]


def _run(corpus: Path, index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--corpus", str(corpus), "--index", str(index), *args],
                          capture_output=True, text=True, timeout=1800)


def _state(corpus: Path, index: Path) -> tuple[list[str], list[str], list[str]]:
    """The index's chunk ids, its sentence ids and the answers (verdict and text) to the
    questions."""
    from assistant.chat import Assistant
    from assistant.settings import Settings
    from assistant.store import check_store

    settings = Settings.from_env(corpus_dir=corpus, index_dir=index)
    check_store(settings)
    bot = Assistant(settings)
    ids = sorted(bot.store.collection.get()["ids"])
    # The quotable sentences' vectors (store.py) must be complete again too.
    sentences = sorted(bot.store.sentences.get()["ids"])
    answers = [json.dumps([a.verdict, a.text]) for a in map(bot.ask, QUESTIONS)]
    return ids, sentences, answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="netralitas-kill-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        start = time.perf_counter()
        if _run(corpus, Path(tmp) / "reference", "index").returncode:
            print("the reference index failed", file=sys.stderr)
            return 1
        full = time.perf_counter() - start
        reference = _state(corpus, Path(tmp) / "reference")
        bad = 0
        for n in range(1, args.rounds + 1):
            index = Path(tmp) / f"round-{n}"
            delay = rng.uniform(2.0, max(3.0, 0.9 * full))
            proc = subprocess.Popen([*CLI, "--corpus", str(corpus), "--index", str(index),
                                     "index"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(delay)
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            rerun = _run(corpus, index, "index")
            try:
                same = rerun.returncode == 0 and _state(corpus, index) == reference
            except Exception as exc:  # any failure to read the index is an inconsistency
                print(f"round {n}: {exc}", file=sys.stderr)
                same = False
            bad += not same
            print(f"round {n}: killed after {delay:.1f} s{'' if killed else ' (had finished)'}"
                  f", rerun {'consistent' if same else 'INCONSISTENT'}", flush=True)
            shutil.rmtree(index, ignore_errors=True)
        print(f"{args.rounds} kill-and-rerun rounds, {bad} inconsistencies "
              f"(a full index took {full:.0f} s)")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
