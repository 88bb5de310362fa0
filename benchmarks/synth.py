"""Synthetic corpora for the scale benchmark (benchmarks/scale.py).

A copy of the real corpus (so that rule cards, near misses and official texts still decide
answers) plus, in the untrusted folder ``sintetis/``, documents of Indonesian text recombined
from the corpus's own sentences: news, rule-card and regulation sentences mixed, about ten
chunks each, until the corpus holds about the number of chunks asked for. Seeded, so a size
gives the same corpus on every machine.

    python benchmarks/synth.py --chunks 10000 --out /tmp/corpus-10k
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.documents import load_corpus, load_file
from assistant.settings import Settings
from assistant.text import split_sentences

PARAGRAPH_SENTENCES = (2, 5)
DOC_CHARS = 2500  # about ten chunks of the default size (neighbours share a sentence)


def sentences_by_kind(settings: Settings) -> dict[str, list[str]]:
    """The corpus's sentences, grouped by the type of the document they come from."""
    kinds: dict[str, list[str]] = {}
    for doc in load_corpus(settings.corpus_dir, settings.trusted).documents:
        found = [s for s in split_sentences(doc.text) if 40 <= len(s) <= 400]
        kinds.setdefault(doc.type, []).extend(found)
    return kinds


def synthetic_document(n: int, rng: random.Random, kinds: dict[str, list[str]]) -> str:
    """One markdown document: mostly news sentences, with rule and regulation ones mixed in."""
    weights = {kind: (3.0 if kind == "berita" else 1.0) for kind in kinds}
    names, w = list(weights), list(weights.values())
    paragraphs: list[str] = []
    size = 0
    while size < DOC_CHARS:
        count = rng.randint(*PARAGRAPH_SENTENCES)
        picked = [rng.choice(kinds[rng.choices(names, w)[0]]) for _ in range(count)]
        paragraphs.append(" ".join(picked))
        size += sum(len(s) + 1 for s in picked)
    region = rng.choice(["Jawa Barat", "Sumatera Utara", "Sulawesi Selatan", "Papua", "Bali"])
    front = (f"---\nid: sintetis-{n:06d}\ntitle: Catatan netralitas ASN nomor {n} ({region})\n"
             f"type: berita\npublisher: Korpus sintetis\ndate: '2024-{1 + n % 12:02d}-01'\n---\n")
    return front + "\n\n".join(paragraphs) + "\n"


def build(chunks: int, out: Path, seed: int = 7) -> int:
    """Write the corpus to ``out`` (replaced); returns how many chunks it holds."""
    settings = Settings()
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(settings.corpus_dir, out)
    base = sum(len(chunk_document(d)) for d in
               load_corpus(out, settings.trusted).documents)
    kinds = sentences_by_kind(settings)
    rng = random.Random(seed)
    folder = out / "sintetis"
    folder.mkdir()
    total, n = base, 0
    while total < chunks:
        path = folder / f"sintetis-{n:06d}.md"
        path.write_text(synthetic_document(n, rng, kinds), encoding="utf-8")
        total += len(chunk_document(load_file(path)))
        n += 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(f"{build(args.chunks, args.out)} chunks in {args.out}")


if __name__ == "__main__":
    main()
