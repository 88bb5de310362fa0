"""Tests for assistant.regulation: OCR'd regulation texts -> citable sections.

The real regulation files are shared test data that live outside the project
(../shared/regulations); those tests are skipped when the folder is absent. A small
synthetic regulation, written for these tests, checks the parsing rules in isolation.
"""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path

import pytest

from assistant.regulation import (
    Regulation,
    Section,
    cite,
    looks_like_regulation,
    parse_regulation,
)

ROOT = Path(__file__).resolve().parents[1]
REGULATIONS = ROOT.parent / "shared" / "regulations"
FILES = {
    "pp-2021-94.md": ("PP", "94", "2021", "PP 94/2021"),
    "pp-2004-42.md": ("PP", "42", "2004", "PP 42/2004"),
    "pp-2004-37.md": ("PP", "37", "2004", "PP 37/2004"),
    "uu-2014-5.md": ("UU", "5", "2014", "UU 5/2014"),
}

NEWS = (
    "Jakarta - Badan Kepegawaian Negara kembali mengingatkan ASN agar menjaga netralitas "
    "menjelang pemilu. Menurut Pasal 2 UU Nomor 5 Tahun 2014 tentang Aparatur Sipil Negara, "
    "netralitas adalah salah satu asas penyelenggaraan kebijakan ASN. Pelanggaran dapat "
    "dijatuhi hukuman disiplin sesuai Pasal 5 PP 94/2021."
)
NOTE = (
    "# Catatan netralitas\n\n"
    "- Pasal 5 huruf n PP 94/2021 melarang PNS memberi dukungan kepada calon.\n"
    "- Lihat juga Pasal 9 ayat (2) UU ASN.\n"
)

# A tiny regulation written for these tests (not taken from any real text).
CLEAN = """PERATURAN PEMERINTAH REPUBLIK INDONESIA
NOMOR 7 TAHUN 2022
TENTANG CONTOH NETRALITAS PEGAWAI
DENGAN RAHMAT TUHAN YANG MAHA ESA
Menimbang : bahwa contoh ini dibuat untuk pengujian;
Mengingat : Pasal 5 ayat (2) Undang-Undang Dasar Negara Republik Indonesia Tahun 1945;
MEMUTUSKAN:
Menetapkan : PERATURAN PEMERINTAH TENTANG CONTOH NETRALITAS PEGAWAI.
BAB I KETENTUAN UMUM
Pasal 1
Pegawai wajib bersikap netral dalam setiap pemilihan.
Pasal 2
Pegawai dilarang:
a. menjadi anggota partai politik;
b. mendukung calon dengan cara:
1. ikut kampanye;
2. memasang spanduk calon; dan
c. memakai fasilitas negara untuk kampanye.
BAB II SANKSI
Pasal 3
(1) Pelanggaran sebagaimana dimaksud dalam Pasal 2 huruf a dijatuhi sanksi berat sebagaimana
dimaksud dalam Pasal 4.
(2) Sanksi berat terdiri atas:
a. penurunan jabatan; atau
b. pemberhentian.
Pasal 4
Peraturan Pemerintah ini mulai berlaku pada tanggal diundangkan.
Agar setiap orang mengetahuinya, memerintahkan pengundangan.
Ditetapkan di Jakarta
PENJELASAN ATAS PERATURAN PEMERINTAH REPUBLIK INDONESIA NOMOR 7 TAHUN 2022
I. UMUM Contoh umum.
II. PASAL DEMI PASAL
Pasal 1 Cukup jelas.
Pasal 2 Huruf a Cukup jelas. Huruf b Angka 1 Yang dimaksud dengan "ikut kampanye" adalah
hadir sebagai peserta. Angka 2 Cukup jelas. Huruf c Cukup jelas.
Pasal 3 Cukup jelas.
Pasal 4 Cukup jelas.
"""

# The same text with the kinds of damage seen in scanned regulations.
NOISY = (
    CLEAN.replace("NOMOR 7 TAHUN 2022\nTENTANG", "NOMOR 7 TAHUN 2O22\nTENTANG")
    .replace(
        "partai politik;\nb. mendukung",
        "partai politik; : il( Nlo l0(,15,) /r b. mendukung b. mendukung",
    )
    .replace("1. ikut", "f . ikut")
    .replace("Pasal 3\n(1)", "Pasal 3\nPasal 3 (1)")
    .replace(
        "(2) Sanksi berat", "I'l( l.lo f fltrr< ^- A PRESIDEN REPUBLIK INDONESIA (21 Sanksi berat"
    )
    .replace("Pasal 2 Huruf a", "Pasal 2… Pasal 2 Huruf a")
)

GARBAGE = re.compile(r"PRESIDEN REPUBLIK INDONESIA|SK No|[\^\\|<>{}\[\]]|l\.lo|\bNlo\b|…")


def by_label(reg: Regulation) -> dict[str, Section]:
    return {s.label: s for s in reg.sections}


def body(reg: Regulation) -> list[Section]:
    return [s for s in reg.sections if s.part == "batang_tubuh"]


# ------------------------------------------------------------------------------------------
# Synthetic regulation: the parsing rules
# ------------------------------------------------------------------------------------------


def test_synthetic_metadata() -> None:
    reg = parse_regulation(CLEAN)
    assert (reg.kind, reg.number, reg.year) == ("PP", "7", "2022")
    assert reg.short == "PP 7/2022"
    assert reg.title == "Contoh Netralitas Pegawai"


def test_synthetic_leaves_in_order_with_lead_ins() -> None:
    reg = parse_regulation(CLEAN)
    assert [s.label for s in reg.sections] == [
        "Pasal 1",
        "Pasal 2 huruf a",
        "Pasal 2 huruf b angka 1",
        "Pasal 2 huruf b angka 2",
        "Pasal 2 huruf c",
        "Pasal 3 ayat (1)",
        "Pasal 3 ayat (2) huruf a",
        "Pasal 3 ayat (2) huruf b",
        "Pasal 4",
        "Penjelasan Pasal 2 huruf b angka 1",
    ]
    units = by_label(reg)
    item = units["Pasal 2 huruf b angka 1"]
    assert item.text == "Pegawai dilarang: mendukung calon dengan cara: ikut kampanye"
    assert (item.pasal, item.ayat, item.huruf, item.angka) == ("2", None, "b", "1")
    assert units["Pasal 2 huruf b angka 2"].text.endswith("memasang spanduk calon")
    sanction = units["Pasal 3 ayat (2) huruf b"]
    assert (sanction.pasal, sanction.ayat, sanction.huruf) == ("3", "2", "b")
    assert sanction.text == "Sanksi berat terdiri atas: pemberhentian."


def test_synthetic_references_are_not_headings() -> None:
    units = by_label(parse_regulation(CLEAN))
    # "Pasal 5 ayat (2) Undang-Undang Dasar" in Mengingat and "dimaksud dalam Pasal 4" in the
    # body are references, so no Pasal 5 appears and Pasal 3 ayat (1) keeps its full sentence.
    assert not any(label.startswith("Pasal 5") for label in units)
    assert units["Pasal 3 ayat (1)"].text.endswith("sebagaimana dimaksud dalam Pasal 4.")
    assert (
        units["Pasal 4"].text == "Peraturan Pemerintah ini mulai berlaku pada tanggal diundangkan."
    )


def test_synthetic_explanation_skips_cukup_jelas() -> None:
    reg = parse_regulation(CLEAN)
    explained = [s for s in reg.sections if s.part == "penjelasan"]
    assert [s.label for s in explained] == ["Penjelasan Pasal 2 huruf b angka 1"]
    assert explained[0].text.startswith('Yang dimaksud dengan "ikut kampanye"')
    assert cite(reg, explained[0]) == "PP 7/2022 Penjelasan Pasal 2 huruf b angka 1"


def test_ocr_noise_does_not_change_the_result() -> None:
    assert parse_regulation(NOISY) == parse_regulation(CLEAN)


def test_cite_body_section() -> None:
    reg = parse_regulation(CLEAN)
    assert (
        cite(reg, by_label(reg)["Pasal 3 ayat (2) huruf a"]) == "PP 7/2022 Pasal 3 ayat (2) huruf a"
    )


def test_other_kinds_are_recognised() -> None:
    text = CLEAN.replace("PERATURAN PEMERINTAH REPUBLIK INDONESIA\n", "PERATURAN PRESIDEN\n", 1)
    reg = parse_regulation(text)
    assert (reg.kind, reg.short) == ("Perpres", "Perpres 7/2022")


def test_looks_like_regulation_rejects_ordinary_text() -> None:
    assert not looks_like_regulation(NEWS)
    assert not looks_like_regulation(NOTE)
    assert not looks_like_regulation("")
    assert looks_like_regulation(CLEAN)


def test_excerpt_that_passes_the_check_also_parses() -> None:
    # The loader parses whatever passes the check, so the two must agree: an excerpt that
    # starts far into the numbering and jumps between articles is still parsed.
    excerpt = (
        "UNDANG-UNDANG REPUBLIK INDONESIA NOMOR 9 TAHUN 2O20 TENTANG CONTOH KUTIPAN\n"
        "Pasal 87\nPegawai yang menjadi pengurus partai politik diberhentikan.\n"
        "Pasal 119\nPejabat yang mencalonkan diri wajib mengundurkan diri.\n"
        "Pasal 123\n(1) Pegawai yang dicalonkan wajib mengundurkan diri.\n"
        "(2) Pengunduran diri sebagaimana dimaksud pada ayat (1) tidak dapat ditarik.\n"
    )
    assert looks_like_regulation(excerpt)
    reg = parse_regulation(excerpt)
    assert reg.short == "UU 9/2020"
    assert [s.label for s in reg.sections] == [
        "Pasal 87",
        "Pasal 119",
        "Pasal 123 ayat (1)",
        "Pasal 123 ayat (2)",
    ]


def test_references_alone_do_not_make_a_regulation() -> None:
    title = "PERATURAN PEMERINTAH REPUBLIK INDONESIA NOMOR 1 TAHUN 2020 TENTANG CONTOH\n"
    references = (
        "Sebagaimana dimaksud dalam Pasal 3, Pasal 4, dan Pasal 5 ayat (2) Undang-Undang "
        "Dasar, serta menurut Pasal 6 huruf a.\n"
    )
    assert not looks_like_regulation(title + references)


def test_parse_rejects_non_regulations() -> None:
    with pytest.raises(ValueError, match="not a regulation"):
        parse_regulation(NEWS)
    with pytest.raises(ValueError, match="not a regulation"):
        parse_regulation(NOTE)
    title_only = "PERATURAN PEMERINTAH REPUBLIK INDONESIA NOMOR 1 TAHUN 2020 TENTANG CONTOH\n"
    with pytest.raises(ValueError, match="no 'Pasal N'"):
        parse_regulation(title_only + "Isi tanpa pasal.")


# ------------------------------------------------------------------------------------------
# Real regulation files (shared test data, read in place)
# ------------------------------------------------------------------------------------------

needs_files = pytest.mark.skipif(
    not REGULATIONS.is_dir(), reason=f"shared regulation texts not found at {REGULATIONS}"
)


@cache
def load(name: str) -> tuple[str, Regulation]:
    path = REGULATIONS / name
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    text = path.read_text(encoding="utf-8")
    return text, parse_regulation(text)


@needs_files
@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_metadata_and_detection(name: str) -> None:
    text, reg = load(name)
    kind, number, year, short = FILES[name]
    assert (reg.kind, reg.number, reg.year, reg.short) == (kind, number, year, short)
    assert looks_like_regulation(text)


@needs_files
def test_real_file_titles() -> None:
    assert load("pp-2021-94.md")[1].title == "Disiplin Pegawai Negeri Sipil"
    assert load("pp-2004-37.md")[1].title == (
        "Larangan Pegawai Negeri Sipil Menjadi Anggota Partai Politik"
    )
    # The cover of PP 42/2004 itself is OCR'd as "NEGRI"; the title is kept as printed.
    assert load("pp-2004-42.md")[1].title.startswith("Pembinaan Jiwa Korps dan Kode Etik Pegawai")
    assert load("uu-2014-5.md")[1].title == "Aparatur Sipil Negara"


@needs_files
@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_structure_is_sane(name: str) -> None:
    _, reg = load(name)
    labels = [s.label for s in reg.sections]
    assert len(labels) == len(set(labels)), "labels must be unique"
    numbers = [int(s.pasal) for s in body(reg)]
    assert numbers == sorted(numbers), "body sections must follow the Pasal order"
    parts = [s.part for s in reg.sections]
    assert parts == sorted(parts), "body first, then the elucidation"
    for section in reg.sections:
        assert section.text.strip(), section.label
        assert not GARBAGE.search(section.text), (section.label, section.text)
        assert "  " not in section.text and "\n" not in section.text
        if section.part == "penjelasan":
            assert not re.fullmatch(r"(?i)cukup\s+jelas\W*", section.text)
        # A whole-Pasal section only exists when the Pasal has no sub-units.
        if section.label == f"Pasal {section.pasal}":
            assert not any(label.startswith(f"Pasal {section.pasal} ") for label in labels)


@needs_files
def test_pp_94_2021_neutrality_units() -> None:
    _, reg = load("pp-2021-94.md")
    units = by_label(reg)
    for n in range(1, 8):
        unit = units[f"Pasal 5 huruf n angka {n}"]
        assert (unit.pasal, unit.ayat, unit.huruf, unit.angka) == ("5", None, "n", str(n))
        assert unit.text.startswith("PNS dilarang: memberikan dukungan kepada calon")
    assert "Pasal 5 huruf n angka 8" not in units
    assert units["Pasal 5 huruf n angka 1"].text.endswith("dengan cara: ikut kampanye")
    assert "atribut partai atau atribut PNS" in units["Pasal 5 huruf n angka 2"].text
    assert "Kartu Tanda Penduduk" in units["Pasal 5 huruf n angka 7"].text
    assert "Pasal 5 huruf n" not in units  # it has sub-units, so only the leaves exist
    assert cite(reg, units["Pasal 5 huruf n angka 2"]) == "PP 94/2021 Pasal 5 huruf n angka 2"


@needs_files
def test_pp_94_2021_sanctions() -> None:
    _, reg = load("pp-2021-94.md")
    units = by_label(reg)
    assert units["Pasal 8 ayat (1) huruf c"].text.endswith("Hukuman Disiplin berat.")
    assert units["Pasal 8 ayat (2) huruf a"].text.endswith("terdiri atas: teguran lisan")
    assert "25% (dua puluh lima persen)" in units["Pasal 8 ayat (3) huruf a"].text
    assert "pemberhentian dengan hormat" in units["Pasal 8 ayat (4) huruf c"].text
    assert "atribut partai atau atribut PNS" in units["Pasal 13 huruf g"].text
    assert "Pasal 5 huruf n angka 2" in units["Pasal 13 huruf g"].text
    # Pasal 14 huruf i lists five ways of support, so it is cited per angka.
    huruf_i = [s for s in reg.sections if s.label.startswith("Pasal 14 huruf i angka ")]
    assert [s.angka for s in huruf_i] == ["1", "2", "3", "4", "5"]
    assert all("Hukuman Disiplin berat" in s.text for s in huruf_i)
    assert "mengerahkan PNS lain" in huruf_i[0].text
    assert "Kartu Tanda Penduduk" in huruf_i[4].text
    assert units["Pasal 11 ayat (2) huruf d angka 4"].text.endswith(
        "secara terus menerus selama 10 (sepuluh) hari kerja."
    )
    assert units["Pasal 15 ayat (2)"].text.startswith("PNS yang tidak Masuk Kerja")


@needs_files
def test_pp_94_2021_articles() -> None:
    _, reg = load("pp-2021-94.md")
    units = by_label(reg)
    numbers = {int(s.pasal) for s in body(reg)}
    # The scan loses the page holding Pasal 39, so 45 of the 46 articles are present.
    assert numbers == set(range(1, 47)) - {39}
    assert len(units["Pasal 1 angka 11"].text) > 0  # "1 1." in the scan is angka 11
    assert units["Pasal 11 ayat (1) huruf a"].pasal == "11"  # heading "Pasal 1 1"
    assert units["Pasal 30"].text.startswith("Atasan langsung")  # heading "Pasal 3O"
    assert units["Pasal 41"].text.startswith("PNS yang melanggar")  # heading "Pasal 4 1"
    assert units["Pasal 42 ayat (1)"].text.startswith("Ketentuan tingkat dan jenis")
    assert units["Pasal 42 ayat (2)"].text.startswith("Sebelum berlakunya")
    assert units["Pasal 43"].text == (
        "Ketentuan Peraturan Pemerintah ini mutatis mutandis berlaku untuk calon PNS."
    )
    assert (
        units["Pasal 46"].text == "Peraturan Pemerintah ini mulai berlaku pada tanggal diundangkan."
    )
    # Chapter headings between articles are not part of the previous article.
    assert units["Pasal 6"].text.endswith("diatur dalam Peraturan Menteri.")


@needs_files
def test_pp_94_2021_explanation() -> None:
    _, reg = load("pp-2021-94.md")
    units = by_label(reg)
    first = units["Penjelasan Pasal 5 huruf n angka 1"]
    assert first.part == "penjelasan"
    assert "peserta kampanye" in first.text
    assert cite(reg, first) == "PP 94/2021 Penjelasan Pasal 5 huruf n angka 1"
    assert "atribut PNS" in units["Penjelasan Pasal 5 huruf n angka 2"].text
    assert "Penjelasan Pasal 5 huruf n angka 4" not in units  # "Cukup jelas."
    assert "Penjelasan Pasal 1" not in units  # "Cukup jelas."
    # "Pasal Pasal Pasal ... L2 Cukup jelas. 13 ... l4 ... 15 Ayat (1)" in the scan.
    assert "dihitung secara kumulatif" in units["Penjelasan Pasal 15 ayat (1)"].text


@needs_files
def test_pp_42_2004() -> None:
    _, reg = load("pp-2004-42.md")
    units = by_label(reg)
    assert "netralitas" in units["Pasal 6 huruf h"].text
    assert units["Pasal 6 huruf h"].text.startswith("Nilai-nilai Dasar")
    assert units["Pasal 15 ayat (1)"].text.endswith("dikenakan sanksi moral;")
    assert units["Pasal 15 ayat (3) huruf a"].text.endswith("pernyataan secara tertutup")
    assert "Pasal 15 ayat (5)" in units
    assert {int(s.pasal) for s in body(reg)} == set(range(1, 23))
    # Page-end catchwords ("e. akuntabel… e. akuntabel") appear only once.
    assert units["Pasal 8 huruf e"].text.count("akuntabel") == 1


@needs_files
def test_pp_37_2004() -> None:
    _, reg = load("pp-2004-37.md")
    units = by_label(reg)
    assert [s.label for s in body(reg) if s.pasal == "3"] == [
        "Pasal 3 ayat (1)",
        "Pasal 3 ayat (2)",
        "Pasal 3 ayat (3)",
    ]
    assert "wajib mengundurkan diri" in units["Pasal 3 ayat (1)"].text
    assert "diberhentikan tidak dengan hormat" in units["Pasal 9 ayat (1)"].text
    assert "Pasal 9 ayat (3)" in units
    assert units["Pasal 1 angka 1"].pasal == "1"  # heading OCR'd as "Pasal I"
    assert {int(s.pasal) for s in body(reg)} == set(range(1, 18))
    assert "calon Anggota Dewan Perwakilan Daerah" in units["Penjelasan Pasal 10"].text


@needs_files
def test_uu_5_2014() -> None:
    _, reg = load("uu-2014-5.md")
    units = by_label(reg)
    assert units["Pasal 2 huruf f"].text == (
        "Penyelenggaraan kebijakan dan Manajemen ASN berdasarkan pada asas: netralitas"
    )
    assert "partai politik" in units["Pasal 9 ayat (2)"].text
    assert units["Pasal 87 ayat (4) huruf c"].text.endswith(
        "menjadi anggota dan/atau pengurus partai politik"
    )
    assert "pengunduran diri secara tertulis" in units["Pasal 119"].text
    assert "mencalonkan diri" in units["Pasal 123 ayat (3)"].text
    assert "kepeloporan dalam bidang: keahlian profesional" in (
        units["Pasal 19 ayat (2) huruf a angka 1"].text
    )
    assert units["Pasal 47 huruf a"].pasal == "47"  # heading OCR'd as "PasaI 47"
    assert {int(s.pasal) for s in body(reg)} == set(range(1, 142))
    assert "asas netralitas" in units["Penjelasan Pasal 2 huruf f"].text


@needs_files
def test_parse_time_of_largest_file() -> None:
    text = (REGULATIONS / "uu-2014-5.md").read_text(encoding="utf-8")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        parse_regulation(text)
        best = min(best, time.perf_counter() - start)
    assert best < 1.0, f"parsing UU 5/2014 took {best:.2f} s"
