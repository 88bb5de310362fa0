"""Loading and cleaning documents, on the raw seed articles and on broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.documents import clean_text, html_to_text, load_corpus, load_file
from tests.conftest import ROOT, SEEDS, write_doc

CHROME = [
    "Baca Juga",
    "Facebook Comments Box",
    "Tinggalkan Balasan",
    "Alamat email Anda tidak akan dipublikasikan",
    "Ancaman Pidana bagi Peserta Aksi Demo",
    "Ketua DPRD Sumsel Ketuk Palu",
    "Puan Maharani",
    "Ikuti kami di",
    "BERITA TERKINI",
    "All Right Reserved",
    "TRIBUNnews.com Network",
]


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present")
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def test_cleaning_removes_site_chrome_from_the_raw_seeds(seeds: dict[str, str]) -> None:
    found_before = sum(any(c in raw for raw in seeds.values()) for c in CHROME)
    assert found_before == len(CHROME)  # the raw files do carry all of it
    for name, raw in seeds.items():
        cleaned = clean_text(raw)
        for chrome in CHROME:
            assert chrome not in cleaned, f"{chrome!r} left in {name}"


def test_cleaning_keeps_every_article_sentence(seeds: dict[str, str]) -> None:
    must_keep = [
        "mencatat 694 kasus pelanggaran netralitas",
        "492 kasus sudah direkomendasikan",
        "“Ini sesuai Pasal 2 UU Nomor 5 Tahun 2014 Tentang Aparatur Sipil Negara,” jelasnya.",
        "Pelanggaran Netralitas",  # a real subheading, not a teaser
        "Netralitas Harga Mati",
        "Luber Jurdil",
        "Rabu (31/01/2024)",
    ]
    cleaned = "\n".join(clean_text(raw) for raw in seeds.values())
    for sentence in must_keep:
        assert sentence in cleaned
    # Nothing is lost but chrome: almost all of the text survives.
    raw_len = sum(len(r) for r in seeds.values())
    assert len(cleaned) > 0.9 * raw_len


def test_corpus_news_articles_match_the_seeds(seeds: dict[str, str]) -> None:
    loaded = load_corpus(ROOT / "corpus" / "berita")
    assert loaded.errors == []
    assert len(loaded.documents) == 5
    for doc in loaded.documents:
        assert doc.type == "berita" and doc.publisher and doc.date[:2] == "20"
        first = doc.text.split("\n")[0][:60]
        assert any(first in raw for raw in seeds.values()), doc.id
        for chrome in CHROME:
            assert chrome not in doc.text


def test_front_matter_fields_are_kept(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "uji-1", "Isi berita. Kalimat kedua.", region="Aceh",
                     url="https://contoh.id/a", tags="[pemilu, asn]")
    doc = load_file(path)
    assert (doc.id, doc.type, doc.publisher, doc.date) == ("uji-1", "berita", "Uji", "2024-01-01")
    assert doc.url == "https://contoh.id/a"
    assert doc.meta["region"] == "Aceh" and doc.meta["tags"] == ["pemilu", "asn"]


def test_text_html_and_plain_files_load(tmp_path: Path) -> None:
    (tmp_path / "catatan.txt").write_text("Catatan rapat\nASN wajib netral.", encoding="utf-8")
    (tmp_path / "halaman.html").write_text(
        "<html><head><title>Judul</title><script>var x=1;</script></head><body>"
        "<nav>Menu Beranda</nav><article><h1>Netralitas ASN</h1><p>ASN dilarang ikut kampanye."
        "</p><p>Baca Juga: Berita lain</p></article><footer>© 2024 Situs</footer></body></html>",
        encoding="utf-8",
    )
    loaded = load_corpus(tmp_path)
    assert loaded.errors == []
    by_id = {d.id: d for d in loaded.documents}
    assert by_id["catatan"].title == "Catatan rapat"
    page = by_id["halaman"]
    assert "ASN dilarang ikut kampanye." in page.text
    for chrome in ("var x", "Menu Beranda", "Baca Juga", "© 2024"):
        assert chrome not in page.text


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text, written by hand (no PDF library needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return out


def test_pdf_loads_through_pypdf(tmp_path: Path) -> None:
    (tmp_path / "surat.pdf").write_bytes(_tiny_pdf("ASN wajib menjaga netralitas."))
    loaded = load_corpus(tmp_path)
    assert loaded.errors == []
    assert "ASN wajib menjaga netralitas." in loaded.documents[0].text


def test_broken_files_are_reported_and_the_rest_still_load(tmp_path: Path) -> None:
    write_doc(tmp_path, "baik", "Dokumen yang baik. ASN wajib netral.")
    (tmp_path / "latin1.md").write_bytes("Caf\xe9 ASN".encode("latin-1"))
    (tmp_path / "yaml-rusak.md").write_text("---\nid: [tidak ditutup\n---\nIsi.", encoding="utf-8")
    (tmp_path / "kosong.md").write_text("", encoding="utf-8")
    (tmp_path / "rusak.pdf").write_bytes(b"%PDF-1.4 ini bukan pdf")
    (tmp_path / "gambar.png").write_bytes(b"\x89PNG")
    write_doc(tmp_path / "sub", "baik", "Id yang sama dengan dokumen lain.")
    loaded = load_corpus(tmp_path)
    assert [d.id for d in loaded.documents] == ["baik"]
    reasons = {e.path: e.reason for e in loaded.errors}
    assert "UTF-8" in reasons["latin1.md"]
    assert "YAML" in reasons["yaml-rusak.md"]
    assert "no text" in reasons["kosong.md"]
    assert "PDF" in reasons["rusak.pdf"]
    assert "unsupported" in reasons["gambar.png"]
    assert "duplicate id" in reasons["sub/baik.md"]


def test_html_to_text_keeps_block_boundaries() -> None:
    text = html_to_text("<p>Satu.</p><p>Dua.</p><ul><li>Tiga</li></ul>")
    assert [ln for ln in text.splitlines() if ln] == ["Satu.", "Dua.", "Tiga"]


def test_adding_a_document_refuses_what_it_must_not_take(tmp_path: Path) -> None:
    """Only readable files of an indexed type, under the size limit, into a folder inside
    the corpus, under a name not taken: an added document never replaces one."""
    from assistant.chat import Assistant
    from assistant.documents import DocumentError
    from assistant.settings import Settings

    corpus = tmp_path / "corpus"
    write_doc(corpus / "berita", "satu", "Kalimat pertama tentang netralitas ASN di daerah.")
    bot = Assistant(Settings(corpus_dir=corpus, index_dir=tmp_path / "index", max_upload_mb=0.01))
    bot.index()
    new = write_doc(tmp_path / "in", "dua", "Bawaslu mengingatkan ASN agar netral saat pilkada.")
    doc, report = bot.add_document(new)
    assert doc.id == "dua" and report.added == ["dua"]
    assert (corpus / "tambahan" / "dua.md").is_file()
    assert [d["id"] for d in bot.retriever.documents()] == ["dua", "satu"]
    refused = {
        "already": new,
        "type": tmp_path / "in" / "x.exe",
        "size": tmp_path / "in" / "besar.md",
    }
    refused["type"].write_text("x")
    refused["size"].write_text("---\nid: besar\ntitle: B\n---\n" + "kata " * 5000)
    for why, path in refused.items():
        with pytest.raises(DocumentError, match={"already": "already", "type": "unsupported",
                                                 "size": "larger"}[why]):
            bot.add_document(path)
    with pytest.raises(DocumentError, match="outside"):
        bot.add_document(write_doc(tmp_path / "in2", "tiga", "Teks."), folder="../luar")
    assert not (tmp_path / "luar").exists()
    assert sorted(p.name for p in corpus.rglob("*.md")) == ["dua.md", "satu.md"]
