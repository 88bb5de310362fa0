"""Split the collected real-world questions into train, validation and test (run once).

The split was made before any answer of the assistant to these questions was looked at:
within each kind of question, items are ordered by a hash of their id and text and dealt
out in turn to train, validation and test, so every split gets every kind. Re-running on
the same input gives the same split. Since batch f the turn runs on across kinds (a kind with
a single item no longer always lands in train) and items from one page stay in one split.

    python eval/split.py eval/raw/realworld-a.yaml eval/raw/realworld-b.yaml

A later batch is split on its own with ``--suffix``, which writes ``train-<suffix>.yaml``,
``validation-<suffix>.yaml`` and ``test-<suffix>.yaml`` and leaves the earlier files alone:

    python eval/split.py --suffix c eval/raw/realworld-c.yaml

The collected files were removed after the split: the three split files hold every item.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parent / "realworld"
SPLITS = ("train", "validation", "test")


def main(paths: list[str], suffix: str = "") -> None:
    """Deal the items of ``paths`` out to the splits; ``suffix`` names a later batch's files."""
    items = [item for p in paths for item in yaml.safe_load(Path(p).read_text("utf-8"))]
    by_kind: dict[str, list[dict]] = {}
    for item in items:
        kind = "followup" if item.get("history") else str(item.get("kind"))
        by_kind.setdefault(kind, []).append(item)
    chosen: dict[str, list[dict]] = {s: [] for s in SPLITS}
    placed: dict[str, str] = {}
    n = 0  # dealt in turn across kinds too, so a kind with one item is not always train's
    for kind in sorted(by_kind):
        group = sorted(by_kind[kind], key=lambda i: hashlib.sha1(
            f"{i['id']}|{i['question']}".encode()).hexdigest())
        for item in group:
            split = placed.get(item.get("url", ""))
            if split is None:  # items from one page stay together (no page leaks into test)
                split, n = SPLITS[n % 3], n + 1
                placed[item.get("url", "")] = split
            chosen[split].append(item)
    OUT.mkdir(exist_ok=True)
    for split, rows in chosen.items():
        rows.sort(key=lambda i: i["id"])
        head = (f"# Real-world questions, {split} split ({len(rows)} items), made by eval/split.py "
                "from the questions collected\n# on 2026-11-24 from public pages (each with "
                "its url). Do not edit answers to fit the assistant.\n")
        if suffix:
            head = (f"# Real-world questions, batch {suffix}, collected on 2026-11-24, {split} "
                    f"split ({len(rows)} items),\n# made by eval/split.py from public pages (each "
                    "with its url). Do not edit answers to fit the assistant.\n")
        if split == "test":
            head += "# TEST SPLIT: reported, never used to choose a threshold, weight or wording.\n"
        text = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, width=100)
        name = f"{split}-{suffix}" if suffix else split
        (OUT / f"{name}.yaml").write_text(head + text, encoding="utf-8")
        print(split, len(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Split collected real-world questions.")
    parser.add_argument("--suffix", default="", help="write train-SUFFIX.yaml etc. (a later batch)")
    parser.add_argument("paths", nargs="*", help="collected question files (YAML lists)")
    args = parser.parse_args()
    main(args.paths, args.suffix)
