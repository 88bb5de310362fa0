"""Official regulation texts in the corpus: article questions and cards backed by articles.

Runs on the OCR'd files in ../shared/regulations (test data, never copied into the project)
and skips when that folder is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.chat import Assistant
from assistant.cli import main as cli
from assistant.settings import Settings
from tests.conftest import REGULATIONS, ROOT

CARDS = ["aturan-dukungan-ktp-calon-perseorangan.md", "aturan-medsos-like-komentar-bagikan.md"]


@pytest.fixture(scope="module")
def reg_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    if not (REGULATIONS / "pp-2021-94.md").is_file():
        pytest.skip("../shared/regulations is not present")
    corpus = tmp_path_factory.mktemp("regcorpus")
    (corpus / "aturan").mkdir()
    (corpus / "peraturan").mkdir()
    for card in CARDS:
        shutil.copy(ROOT / "corpus" / "aturan" / card, corpus / "aturan" / card)
    # An official text is trusted only in a trusted folder, put there by hand: one added
    # with `netralitas add` is evidence, not articles (tests/test_trust.py).
    shutil.copy(REGULATIONS / "pp-2021-94.md", corpus / "peraturan" / "pp-2021-94.md")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("regindex"))
    assert cli(["--corpus", str(corpus), "--index", str(settings.index_dir), "index"]) == 0
    return Assistant(settings)


def test_article_question_is_answered_from_that_article(reg_assistant: Assistant) -> None:
    answer = reg_assistant.ask("Apa isi Pasal 14 PP 94 tahun 2021?")
    assert answer.grounded and answer.citations
    assert all(c.article.startswith("PP 94/2021 Pasal 14 ") for c in answer.citations)
    assert any(c.article == "PP 94/2021 Pasal 14 huruf i angka 5" for c in answer.citations)
    assert "Kartu Tanda Penduduk" in answer.text and "Hukuman Disiplin berat" in answer.text


def test_precise_article_reference(reg_assistant: Assistant) -> None:
    answer = reg_assistant.ask("Bunyi PP Nomor 94 Tahun 2021 Pasal 5 huruf n angka 2 apa?")
    assert [c.article for c in answer.citations] == ["PP 94/2021 Pasal 5 huruf n angka 2"]
    assert "atribut" in answer.citations[0].quote.lower()


def test_rule_card_is_backed_by_the_official_article(reg_assistant: Assistant) -> None:
    answer = reg_assistant.ask("Bolehkah PNS memberi fotokopi KTP untuk calon perseorangan?")
    assert answer.verdict == "tidak_boleh"
    articles = [c.article for c in answer.citations]
    assert "PP 94/2021 Pasal 5 huruf n angka 7" in articles
    backed = next(c for c in answer.citations if c.article.endswith("angka 7"))
    assert "Kartu Tanda Penduduk" in backed.quote and f"[{backed.n}]" in answer.text


def test_unknown_article_falls_back_to_search(reg_assistant: Assistant) -> None:
    answer = reg_assistant.ask("Apa isi Pasal 99 PP 94 tahun 2021?")
    assert not any(c.article.startswith("PP 94/2021 Pasal 99") for c in answer.citations)


def test_the_corpus_holds_extracts_of_regulations_not_whole_ocr_copies() -> None:
    """Whole laws would drag pensions and leave into scope: only the neutrality articles,
    cleaned, are in corpus/peraturan."""
    extracts = sorted((ROOT / "corpus" / "peraturan").glob("*.md"))
    assert len(extracts) >= 9
    for path in extracts:
        text = path.read_text(encoding="utf-8")
        assert "\nextract: true\n" in text and "\ntype: peraturan\n" in text, path.name
        ocr = REGULATIONS / path.name
        if ocr.exists():
            assert len(text) < len(ocr.read_text(encoding="utf-8")) / 2, path.name


def test_added_file_that_cannot_be_read_is_refused(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rusak.md"
    bad.write_bytes(b"\xff\xfe")
    code = cli(["--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "i"), "add", str(bad)])
    assert code == 2 and "UTF-8" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
