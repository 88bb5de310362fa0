"""Follow-up questions answered with and without an LLM condensing them (issue 10).

The evaluation's dialogues (items with a ``history``) are answered twice: by the rules of
understand.py alone, and with an LLM that first rewrites each follow-up into a standalone
question. The LLM is the loopback stub (tests/llm_stub.py), which condenses
deterministically by joining the last earlier question and the follow-up: what it measures
is the condensing path (prompt, call, checks, reading the standalone question), not a real
model's skill. Every split is reported, the test split beside the dev splits.

    .venv/bin/python eval/followups.py [--json eval/followups.json]

A team measures its own model the same way: ``--provider openai --base-url URL --model M``
(or ``--provider ollama``) puts that server in the stub's place.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.chat import Assistant  # noqa: E402
from assistant.evaluation import load_items, metrics, run_items, split_files  # noqa: E402
from tests.llm_stub import StubLLM  # noqa: E402

SPLITS = ("train", "validation", "test")
SHOWN = ("questions", "pass", "harmful", "verdict_accuracy", "false_abstention")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--provider", choices=["openai", "ollama"], default="openai")
    parser.add_argument("--base-url", help="a real LLM server instead of the stub")
    parser.add_argument("--model", default="stub")
    args = parser.parse_args()
    plain = Assistant()
    figures: dict[str, dict[str, dict[str, float]]] = {}
    with StubLLM() as stub:
        condensing = Assistant(plain.settings.replace(
            llm_provider=args.provider, llm_base_url=args.base_url or stub.url,
            llm_model=args.model))
        condensing._retriever = plain.retriever  # the same index, loaded once
        for split in SPLITS:
            items = [i for i in load_items(split_files(ROOT / "eval", split)) if i.get("history")]
            figures[split] = {name: metrics(run_items(bot, items)) for name, bot in
                              (("rules", plain), ("llm_stub", condensing))}
        calls = sum("Last question:" in json.dumps(r["json"]) for r in stub.requests)
    print(f"follow-ups: rules alone / condensed by the LLM ({calls} condensing calls to the "
          "stub)")
    for split, by in figures.items():
        cells = "  ".join(f"{k} {by['rules'][k]:.3g}/{by['llm_stub'][k]:.3g}" for k in SHOWN)
        print(f"  {split:<10} {cells}")
    if args.json:
        keep = {s: {n: {k: m[k] for k in SHOWN} for n, m in by.items()}
                for s, by in figures.items()}
        args.json.write_text(json.dumps(keep, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
