"""The rule cards: complete front matter, honest verdicts, and every fact-sheet question
answered with a verdict, its basis and its sanction."""

from __future__ import annotations

import re

import pytest
import yaml

from assistant import Assistant
from assistant.documents import load_corpus
from tests.conftest import ROOT

REQUIRED = {"id", "title", "type", "topic", "applies_to", "elections", "basis", "sanction",
            "sources", "as_of", "summary", "summary_en"}
LEVELS = {"ringan", "sedang", "berat", "PTDH", "pidana", "moral"}
OVERVIEWS = ["UU 5/2014", "UU 20/2023", "PP 94/2021", "PP 42/2004", "PP 37/2004", "UU 7/2017",
             "UU 1/2015", "SKB 2022", "SE MenPANRB 18/2023", "SE MenPANRB 4/2024"]


@pytest.fixture(scope="module")
def cards() -> list[dict]:
    loaded = load_corpus(ROOT / "corpus" / "aturan", trusted=(".",))
    assert loaded.errors == []
    return [d.meta | {"text": d.text} for d in loaded.documents]


def test_cards_have_complete_front_matter(cards: list[dict]) -> None:
    assert len(cards) >= 45
    for card in cards:
        missing = REQUIRED - set(card)
        assert not missing, f"{card['id']} lacks {missing}"
        assert card["type"] == "aturan" and card["id"].startswith("aturan-")
        assert card.get("verdict", "boleh") in {"boleh", "tidak_boleh", "bersyarat"}
        assert set(card["sanction"].get("level") or []) <= LEVELS, card["id"]
        assert card["sanction"].get("text") and card["sanction"].get("text_en")
        for basis in card["basis"]:
            assert re.match(r"^(UU|PP|SKB|SE|PKPU|Perpres|MK) ", basis), (card["id"], basis)
        if card.get("verdict") == "bersyarat":
            assert card.get("conditions") and card.get("conditions_en"), card["id"]
        for heading in ("## Aturannya", "## Yang boleh dilakukan", "## Cara orang menanyakannya"):
            assert heading in card["text"], (card["id"], heading)


def test_every_regulation_has_an_overview(cards: list[dict]) -> None:
    overviews = [c for c in cards if c["topic"] == "regulasi"]
    basis_text = " ".join(" ".join(c["basis"]) + " " + c["title"] for c in overviews)
    for short in OVERVIEWS:
        assert short in basis_text, f"no overview card for {short}"


def test_cards_citing_the_old_asn_law_cite_its_successor(cards: list[dict]) -> None:
    for card in cards:
        if any(b.startswith("UU 5/2014") for b in card["basis"]):
            assert any(b.startswith("UU 20/2023") for b in card["basis"]), card["id"]


def test_conflicting_sources_are_bersyarat(cards: list[dict]) -> None:
    listening = next(c for c in cards if c["id"] == "aturan-hadir-kampanye-mendengar")
    assert listening["verdict"] == "bersyarat"
    assert "SKB 2022" in " ".join(listening["basis"])


def test_all_25_fact_sheet_questions_are_in_the_dev_set() -> None:
    text = (ROOT / "eval" / "rules.yaml").read_text(encoding="utf-8")
    numbers = {int(n) for n in re.findall(r"#\s*fs\s*(\d+)", text)}
    assert numbers >= set(range(1, 26))
    items = yaml.safe_load(text)
    card_ids = {p.stem for p in (ROOT / "corpus" / "aturan").glob("*.md")}
    for item in items:
        assert set(item["gold"]) <= card_ids, item["id"]


def test_every_eval_item_has_its_own_id() -> None:
    """Reports and comparisons name items by id: two batches must not reuse one."""
    ids = [item["id"] for path in sorted((ROOT / "eval").rglob("*.yaml"))
           if path.name != "splits.yaml"
           for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("question", "verdict", "opening", "basis"), [
    ("Bolehkah PNS ikut mencoblos di pemilu?", "boleh", "Boleh.", "UU 20/2023"),
    ("Saya mau datang ke kampanye cuma untuk mendengarkan visi misi, boleh?", "bersyarat",
     "Boleh, dengan syarat:", "PP 94/2021 Pasal 5 huruf n angka 1"),
    ("Bolehkah PNS menjadi anggota partai politik?", "tidak_boleh", "Tidak boleh.",
     "UU 20/2023 Pasal 52"),
    ("Can a civil servant serve as a KPPS polling officer?", "bersyarat",
     "Yes, with conditions:", "PKPU 8/2022"),
])
def test_rule_answers_open_with_the_verdict(direct: Assistant, question: str, verdict: str,
                                            opening: str, basis: str) -> None:
    answer = direct.ask(question)
    assert answer.verdict == verdict
    assert answer.text.startswith(opening)
    assert basis in answer.text
    assert ("Sanksi:" in answer.text) or ("Sanction:" in answer.text)


def test_answer_on_a_revoked_law_names_its_successor(assistant: Assistant) -> None:
    answer = assistant.ask("PNS yang jadi anggota partai politik dihukum apa?")
    assert "UU 5/2014" in answer.text
    assert "UU 5/2014 sudah dicabut dan diganti oleh UU 20/2023" in answer.text


def test_overview_card_answers_questions_about_its_regulation(assistant: Assistant) -> None:
    answer = assistant.ask("Apa yang diatur dalam PP 37/2004?")
    assert answer.citations[0].doc_id == "aturan-regulasi-pp-37-2004"
