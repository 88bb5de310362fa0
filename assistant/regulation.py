"""Parse OCR'd Indonesian regulations (PP, UU, Perpres, ...) into citable sections.

Answers about ASN neutrality are only trustworthy when they point at the exact unit of law
("PP 94/2021 Pasal 5 huruf n angka 2"). Official texts reach us as messy OCR: running page
headers, scanner stamps, digits read as letters, and articles run together on long lines.
This module cleans that text and cuts it into the smallest citable units (Pasal, ayat,
huruf, angka) for the body and for the official elucidation (Penjelasan), so that every
unit can be retrieved and quoted on its own.

Only the standard library is used; parsing is a handful of linear regex passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

__all__ = ["Regulation", "Section", "cite", "looks_like_regulation", "parse_regulation"]

BODY = "batang_tubuh"
EXPLANATION = "penjelasan"


@dataclass(frozen=True)
class Section:
    """One citable unit; ``text`` carries its parent's lead-in so it reads on its own.

    ``label`` is unique within a regulation: "Pasal 5 huruf n angka 2" in the body and
    "Penjelasan Pasal 5 huruf n angka 2" for the elucidation (``part`` says which).
    """

    label: str
    pasal: str
    ayat: str | None
    huruf: str | None
    angka: str | None
    text: str
    part: str = BODY


@dataclass(frozen=True)
class Regulation:
    """A parsed regulation; ``short`` is the name used in citations ("PP 94/2021")."""

    kind: str
    number: str
    year: str
    title: str
    short: str
    sections: list[Section] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Title / kind detection
# --------------------------------------------------------------------------------------------

# Longest names first so "PERATURAN PEMERINTAH PENGGANTI UNDANG-UNDANG" wins over "PP".
_KINDS: tuple[tuple[str, str], ...] = (
    (r"PERATURAN\s+PEMERINTAH\s+PENGGANTI\s+UNDANG-\s?UNDANG", "Perppu"),
    (r"PERATURAN\s+PEMERINTAH", "PP"),
    (r"UNDANG-\s?UNDANG", "UU"),
    (r"PERATURAN\s+PRESIDEN", "Perpres"),
    (r"KEPUTUSAN\s+PRESIDEN", "Keppres"),
    (r"INSTRUKSI\s+PRESIDEN", "Inpres"),
    (r"PERATURAN\s+MENTERI(?:\s+[A-Z][A-Z,\-]*)*?", "Permen"),
    (r"PERATURAN\s+BADAN\s+KEPEGAWAIAN\s+NEGARA", "Peraturan BKN"),
    (r"PERATURAN\s+KOMISI\s+PEMILIHAN\s+UMUM", "PKPU"),
    (r"PERATURAN\s+BADAN\s+PENGAWAS\s+PEMILIHAN\s+UMUM", "Perbawaslu"),
    (r"PERATURAN\s+DAERAH(?:\s+[A-Z]+)*?", "Perda"),
    (r"PERATURAN(?:\s+[A-Z]+){1,4}?", "Peraturan"),
)
_KIND_RE = "|".join(f"(?P<k{i}>{pattern})" for i, (pattern, _) in enumerate(_KINDS))
# Official titles are upper case; a news article writing "Nomor 5 Tahun 2014" does not match.
_TITLE_RE = re.compile(
    rf"(?:{_KIND_RE})(?:\s+REPUBLIK\s+INDONESIA)?\s+NOMOR\s+(?P<number>[0-9OoIl]{{1,4}})"
    rf"\s+TAHUN\s+(?P<year>[0-9OoIlL]{{4}})(?:\s+TENTANG\s+(?P<title>[^\n]*))?"
)
# The title ends where the repeated cover header, the preamble or running text begins; a
# bare "PERATURAN PEMERINTAH NOMOR ..." inside an amendment title does not stop it.
_TITLE_STOP = re.compile(
    r"\s+(?:(?:PERATURAN|UNDANG-UNDANG|KEPUTUSAN|INSTRUKSI)(?:\s+[A-Z-]+){0,6}?\s+REPUBLIK"
    r"\s+INDONESIA\b|DENGAN\s+RAHMAT|PRESIDEN\s+REPUBLIK|Menimbang|[A-Z]?[a-z])"
)
_HEAD_CHARS = 4000  # the official title sits on the cover, well within this
_SMALL_WORDS = frozenset(
    {"dan", "atau", "di", "ke", "dari", "yang", "untuk", "bagi", "dengan", "tentang", "pada"}
    | {"oleh", "atas", "serta", "dalam", "terhadap", "sebagai"}
)
_ACRONYMS = frozenset(
    {"ASN", "PNS", "PPPK", "TNI", "POLRI", "KASN", "BKN", "LAN", "KPU", "DPR", "DPRD", "DPD", "RI"}
)
_ROMAN = re.compile(r"^[IVXLC]+$")


def _ocr_digits(value: str) -> str:
    """Undo the usual OCR swaps inside a number (O/o -> 0, I/l/L -> 1)."""
    return value.translate(str.maketrans("OoIlL", "00111"))


def _title_case(upper: str) -> str:
    """Turn an all-caps title into the way it is written in running text."""
    words = []
    for i, word in enumerate(upper.split()):
        if word in _ACRONYMS or (_ROMAN.match(word) and i > 0):
            words.append(word)
        elif i > 0 and word.lower() in _SMALL_WORDS:
            words.append(word.lower())
        else:
            words.append("-".join(part.capitalize() for part in word.split("-")))
    return " ".join(words)


def _find_title(text: str) -> re.Match[str] | None:
    """Locate the official title, which sits in the first part of the document."""
    return _TITLE_RE.search(text.lstrip()[:_HEAD_CHARS])


def _kind_of(match: re.Match[str]) -> str:
    """Short kind used in citations ("PP", "UU", ...), read from the matched title."""
    for i, (_, short) in enumerate(_KINDS):
        if match.group(f"k{i}"):
            if short == "Peraturan":
                return _title_case(match.group(f"k{i}"))
            return short
    return "Peraturan"  # pragma: no cover - the regex always fills one group


def _clean_title(raw: str | None) -> str:
    """Cut the title before the repeated header or the preamble, then title-case it."""
    if not raw:
        return ""
    stop = _TITLE_STOP.search(raw)
    raw = raw[: stop.start()] if stop else raw
    return _title_case(re.sub(r"\s+", " ", raw[:400]).strip(" .,;:"))


# --------------------------------------------------------------------------------------------
# Cleaning OCR noise
# --------------------------------------------------------------------------------------------

_STRONG_JUNK = re.compile(
    r"[\^\\|<>{}\[\]!'`]|\.\.|[A-Za-z0-9][(]|\([,.)]|[,.]\)|^[lI][0O(]|^[,)]|[,:;][,.:;]"
    r"|[A-Za-z][,.][A-Za-z0-9]"
)
_ABBREVIATION = re.compile(r"^[a-z]\.[a-z]\.[,;]?$")
_MARKER_TOKEN = re.compile(r"^(?:\(\d{1,2}\)\.?|\d{1,2}[.)]|[a-z]\.)[,;:]?$")
_WORD_TOKEN = re.compile(r"^[\"“(]*[A-Za-z][A-Za-z\-/]+[A-Za-z][)\"”.,;:]*$")
# Letter clusters no Indonesian word starts with, typical of the mangled "SK No" stamp.
_GIBBERISH = re.compile(r"^(?:[NnHh][lI]|[Ii]r[lI]|[Ll][lrI])")


def _gibberish(word: str) -> bool:
    """Short letter strings that are stamp debris; upper-case acronyms (PNS) are fine."""
    if len(word) > 6 or not word.isalpha():
        return False
    if _GIBBERISH.match(word):
        return True
    return not word.isupper() and not re.search(r"[aeiouAEIOU]", word)


def _token_kind(token: str) -> str:
    """Classify a token as 'stop' (real text), 'strong' (certain junk) or 'weak'."""
    if _MARKER_TOKEN.match(token):
        return "stop"
    if _STRONG_JUNK.search(token) and not _ABBREVIATION.match(token):
        return "strong"
    if _WORD_TOKEN.match(token):
        if _gibberish(re.sub(r"[^A-Za-z]", "", token)):
            return "weak"
        return "stop"
    return "weak"


def _is_left_edge(token: str, kind: str) -> bool:
    """Junk runs may only start on tokens that cannot be real text."""
    if kind == "strong":
        return True
    letters = re.sub(r"[^A-Za-z]", "", token)
    if not re.search(r"\w", token):
        return True
    if letters != token:
        return False
    return (len(token) == 1 and token.isupper()) or (len(token) > 2 and _gibberish(token))


def _is_right_edge(token: str, kind: str) -> bool:
    """Stamps end with a short tail ("A", "^n", "4"); accept those as junk too."""
    if _is_left_edge(token, kind):
        return True
    return len(token) <= 2 or (len(token) == 3 and not token.isalpha())


def _remove_stamps(text: str) -> str:
    """Drop runs of scanner-stamp garbage such as ``: il( Nlo l0(,15,) /r``."""
    tokens = list(re.finditer(r"\S+", text))
    kinds = [_token_kind(t.group()) for t in tokens]
    cuts: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if kinds[i] == "stop":
            i += 1
            continue
        j = i
        while j < len(tokens) and kinds[j] != "stop":
            j += 1
        run = list(range(i, j))
        while run and not _is_left_edge(tokens[run[0]].group(), kinds[run[0]]):
            run.pop(0)
        while run and not _is_right_edge(tokens[run[-1]].group(), kinds[run[-1]]):
            run.pop()
        strong = sum(1 for k in run if kinds[k] == "strong")
        if strong and len(run) >= 2:
            cuts.append((tokens[run[0]].start(), tokens[run[-1]].end()))
        i = j
    if not cuts:
        return text
    out: list[str] = []
    last = 0
    for start, end in cuts:
        out.append(text[last:start])
        out.append("\n" if "\n" in text[start:end] else " ")
        last = end
    out.append(text[last:])
    return "".join(out)


def _drop_ellipsis_catchwords(text: str) -> str:
    """Remove page-end catchwords ("Pasal 3… Pasal 3") that repeat the next page's start."""
    tokens = list(re.finditer(r"\S+", text))
    drop: list[tuple[int, int]] = []

    def norm(token: str) -> str:
        return re.sub(r"[^0-9a-z]", "", token.lower())

    for i, tok in enumerate(tokens):
        if not tok.group().endswith("…"):
            continue
        chosen = 0
        for k in range(4, 0, -1):
            if i - k + 1 < 0 or i + k >= len(tokens):
                continue
            before = [norm(t.group()) for t in tokens[i - k + 1 : i + 1]]
            after = [norm(t.group()) for t in tokens[i + 1 : i + 1 + k]]
            if all(
                a and b and (a.startswith(b) or b.startswith(a))
                for a, b in zip(before, after, strict=True)
            ):
                chosen = k
                break
        if chosen:
            drop.append((tokens[i - chosen + 1].start(), tok.end()))
        else:
            drop.append((tok.end() - 1, tok.end()))
    out: list[str] = []
    last = 0
    for start, end in drop:
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return "".join(out)


# Named headings never repeat legitimately; bare item markers only count at a clause start.
_CATCHWORD_NAMED = re.compile(
    r"(?<!\S)((?:Pasal \d{1,3}|BAB [IVXLC]+|(?:Huruf|Ayat|Angka) (?:\(\d{1,2}\)|[a-zA-Z]|\d{1,2}))"
    r"(?: \S+){0,2}?)(?: \.)?\s+\1(?=\s)"
)
_CATCHWORD_ITEM = re.compile(
    r"(?:^|(?<=\n)|(?<=[.;:] )|(?<=\bdan )|(?<=\batau ))"
    r"((?:\(\d{1,2}\)|\d{1,2}[.)]|[a-z]\.)(?: \S+){0,2}?)(?: \.)?\s+\1(?=\s)"
)
_RUNNING_HEADER = re.compile(r"P[A-Z]{0,3}E\s?S\s?IDEN\s+REPUBLIK\s+INDONESIA(?!\s*,)")
_DIGIT_RUN = re.compile(r"(?<![\w])(?=[0-9OoIlL]*[0-9])[0-9OoIlL]{2,}(?![\w])")


def _clean(text: str) -> str:
    """Normalise OCR text; newlines are kept because they often mark list items."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\uf0a7", " ")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\.\s?\.\s?\.", "…", text)
    text = re.sub(r"\^(?=j[a-z])", "", text)  # "^jabatan" is how this OCR renders "jabatan"
    text = re.sub(r"\bSK No \d+ A\b", " ", text)  # clean variant of the page stamp
    text = re.sub(r"(?<!\S)[_.]*_[_.]*(?!\S)", " ", text)  # markdown rules ("__", "_._")
    text = re.sub(r"\(\s*_([^_\n]+)_\s*\)", r"(\1)", text)  # markdown italics
    text = text.replace("_", "")
    text = re.sub(r"(?<=[A-Za-z])- (?=[A-Za-z])", "-", text)  # "perundang- undangan"
    text = re.sub(r"(?<=\))['`]+", "", text)  # "ayat (2)'," keeps its reference
    # Paragraph markers: "(21" -> "(2)", "{2)" -> "(2)", "ayat (a)" -> "ayat (4)".
    text = re.sub(r"\((\d)1(?=[\s,;.:])", r"(\1)", text)
    text = re.sub(r"\((\d)1(?=[a-z])", r"(\1) ", text)
    text = re.sub(r"\{(\d)\)", r"(\1)", text)
    text = re.sub(r"(?<=[Aa]yat )\(a\)", "(4)", text)
    text = _remove_stamps(text)
    text = _RUNNING_HEADER.sub(" ", text)
    text = re.sub(
        r"(?<![A-Za-z])(?:[A-Z] ){4,}[A-Z](?![A-Za-z])", lambda m: m.group().replace(" ", ""), text
    )
    text = re.sub(r"\bB A B\b", "BAB", text)
    text = re.sub(r"\bPasa[I1]\b", "Pasal", text)  # "PasaI 47"
    text = re.sub(r"(?<![\w.])[lL][.,]{1,2}(?=[a-z]{4,})", "L", text)  # "l.,embaran"
    text = re.sub(r"\bp(?=[A-Z]{2,}\b)", "P", text)  # "pNS"
    text = re.sub(r"(\d)\s?o/o", r"\1%", text)
    text = re.sub(r"(\d)oh\b", r"\1%", text)
    # A list item "2)" read as "2l" must be fixed before digit runs are repaired.
    text = re.sub(r"((?:^|\n|[;:.])\s*)(\d)l(?=\s)", r"\1\2)", text)
    text = _DIGIT_RUN.sub(lambda m: _ocr_digits(m.group()), text)
    # The first item of a numbered list read as "f ." or "l." right after the colon.
    text = re.sub(r"(:\s*)[fIl]\s?\.(?=\s)", r"\g<1>1.", text)
    text = _drop_ellipsis_catchwords(text)
    text = re.sub(r"[ \t]+", " ", text)
    text = _CATCHWORD_NAMED.sub(r"\1", text)
    text = _CATCHWORD_ITEM.sub(r"\1", text)
    text = re.sub(r"\bPasal(?: Pasal)+\b(?! \d)", " ", text)
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r" ?\n ?", "\n", text)


def _squash(text: str) -> str:
    """One-line text for a section: single spaces, no space before punctuation."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" (?=[:;,])", "", text)


# --------------------------------------------------------------------------------------------
# Finding the parts of the document
# --------------------------------------------------------------------------------------------

_BODY_START = re.compile(r"MEMUTUSKAN|\b(?i:m[ec]netapkan)\b")  # OCR: "McNetapKan"
_BODY_END = re.compile(
    r"\bAgar\s+setiap\b|\bDitetapkan\s+di\b|\bDisahkan\s+di\b|\bDiundangkan\s+di\b"
)
_EXPLANATION_START = re.compile(r"\bPENJELASAN\s+ATAS\b")
_ARTICLE_PART = re.compile(r"\bPASAL\s+DEMI\s+PASAL\b")
_EXPLANATION_END = re.compile(r"\bTAMBAHAN\s+LEMBARAN\s+NEGARA\b")


def _parts(text: str) -> tuple[str, str, str]:
    """Return (body, explanation, everything before the explanation).

    The body leaves out the preamble (Menimbang/Mengingat) and the closing formula; the last
    value is a fallback for excerpts that lack the usual "MEMUTUSKAN" landmarks."""
    start_match = _BODY_START.search(text)
    start = start_match.end() if start_match else 0
    expl = _EXPLANATION_START.search(text, start)
    body_stop = expl.start() if expl else len(text)
    end = _BODY_END.search(text, start, body_stop)
    body = text[start : end.start() if end else body_stop]
    explanation = ""
    if expl:
        article = _ARTICLE_PART.search(text, expl.end())
        ex_start = article.end() if article else expl.end()
        ex_end = _EXPLANATION_END.search(text, ex_start)
        explanation = text[ex_start : ex_end.start() if ex_end else len(text)]
    return body, explanation, text[:body_stop]


# --------------------------------------------------------------------------------------------
# Pasal headings
# --------------------------------------------------------------------------------------------

_PASAL = re.compile(r"(?<![\w-])Pasal +(\d{1,3}|[Il])(?: (\d)(?![\w.)]))?(?![\w])")
_BARE_NUMBER = re.compile(
    r"(?:(?<=[.;:] )|(?<=\n))(\d{1,3}) (?=Cukup|Ayat|Huruf|Angka|Yang dimaksud)"
)
# Words that precede an in-text reference ("dimaksud dalam Pasal 5"), never a heading.
_REFERENCE_BEFORE = frozenset(
    {"dalam", "pada", "dengan", "dan", "atau", "sampai", "hingga", "dimaksud", "sesuai"}
    | {"menurut", "berdasarkan", "ketentuan", "atas", "oleh", "di", "ke", "dari", "serta"}
    | {"lihat", "yaitu", "bahwa", "tentang", "dan/atau", "juncto", "jo.", "bunyi"}
)
_REFERENCE_AFTER = re.compile(
    r"\s*(?:[,;)]|(?:ayat|huruf|angka|dan|atau|sampai|hingga|juncto|jo\.|sebagaimana|tentang)\b"
    r"|Undang-\s?Undang\s+Dasar|UUD)"
)
_MAX_GAP = 5  # OCR may drop a page, and with it a few articles (PP 94/2021 loses Pasal 39)
_LOOKBACK = 80  # context needed to judge a marker; bounded so parsing stays linear


def _heading_context(text: str, start: int, end: int) -> tuple[bool, bool, bool]:
    """Judge a "Pasal N" at start..end: (may be a heading, strong boundary, at line start)."""
    stripped = text[max(0, start - _LOOKBACK) : start].rstrip(" ")
    at_line_start = not stripped or stripped.endswith("\n")
    if _REFERENCE_AFTER.match(text, end):
        return False, False, False
    if at_line_start:
        return True, True, True
    prev_word = stripped.rsplit(None, 1)[-1] if stripped.split() else ""
    if prev_word.endswith(",") or prev_word.lower() in _REFERENCE_BEFORE:
        return False, False, False
    strong = prev_word[-1:] in ".;:" or (prev_word.isupper() and len(prev_word) > 1)
    return True, strong, False


def _split_articles(text: str, explanation: bool) -> list[tuple[str, str]]:
    """Cut a part into (pasal number, content), following the numbering to skip references."""
    # Each candidate: (start, is_bare_number, [(number, content start), ...] best first).
    candidates: list[tuple[int, bool, list[tuple[int, int]]]] = []
    for m in _PASAL.finditer(text):
        first = int(_ocr_digits(m.group(1)))
        options = [(first, m.end(1))]
        if m.group(2):  # "Pasal 1 1" is Pasal 11 split by the OCR
            options.insert(0, (int(f"{first}{m.group(2)}"), m.end(2)))
        candidates.append((m.start(), False, options))
    if explanation:
        for m in _BARE_NUMBER.finditer(text):
            candidates.append((m.start(), True, [(int(m.group(1)), m.end(1))]))
        candidates.sort(key=lambda c: c[0])
    heads: list[tuple[int, int, int]] = []  # (number, heading start, content start)
    current = 0
    for start, bare, options in candidates:
        heading, strong, line_start = _heading_context(text, start, options[-1][1])
        if not heading:
            continue
        # Small gaps are lost pages; the first heading and headings on their own line may
        # jump further, which lets excerpts ("Pasal 87", "Pasal 119", ...) parse too.
        max_gap = len(text) if not heads or line_start else _MAX_GAP
        for number, content_start in options:
            repeated = heads and start - heads[-1][2] <= _LOOKBACK
            if number == current and repeated and not text[heads[-1][2] : start].strip():
                heads[-1] = (number, heads[-1][1], content_start)  # repeated heading
                break
            gap = number - current
            if gap == 1 or (not bare and strong and 0 < gap <= max_gap):
                heads.append((number, start, content_start))
                current = number
                break
    articles = []
    for i, (number, _, content_start) in enumerate(heads):
        stop = heads[i + 1][1] if i + 1 < len(heads) else len(text)
        articles.append((str(number), text[content_start:stop]))
    return articles


# --------------------------------------------------------------------------------------------
# Ayat / huruf / angka inside an article
# --------------------------------------------------------------------------------------------

_CHAPTER_HEADING = re.compile(
    r"(?:^|(?<=[.;:])\s|\n)\s*(?:BAB [IVXLC]+\b|Bagian Ke[a-z]+\b|Paragraf \d+\b)"
)
_AYAT = re.compile(r"(?<![\w(])\((\d{1,2})\)\.?(?=\s)")
_HURUF = re.compile(r"(?<!\S)([a-zA-Z1])\.(?=\s)")
_ANGKA = re.compile(r"(?<!\S)(\d{1,2}|\d \d)[.)](?=\s)")
_CONJ_END = re.compile(r"[;,]\s*(?:dan/atau|dan|atau)$")
_CUKUP_JELAS = re.compile(r"^(?:cukup\s+jelas\W*)+(?:\w\W*)?$", re.IGNORECASE)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _at_boundary(text: str, start: int) -> bool:
    """A list marker only counts at a line start or after the end of a clause."""
    stripped = text[max(0, start - _LOOKBACK) : start].rstrip(" ")
    if not stripped or stripped.endswith("\n"):
        return True
    stripped = stripped.rstrip()
    return stripped[-1] in ".;:," or _CONJ_END.search(stripped) is not None


def _strip_headings(text: str) -> str:
    """Chapter/part headings sit between articles and would otherwise end the last unit."""
    match = _CHAPTER_HEADING.search(text)
    return text[: match.start()] if match else text


def _line_start(text: str, start: int) -> bool:
    """Whether a marker opens its line: in a clean extract of a few articles ("…" stands
    for what was left out), numbering may then skip the units that were not quoted."""
    before = text[max(0, start - _LOOKBACK) : start].rstrip(" \t")
    return not before or before.endswith("\n")


def _split_ayat(text: str, extract: bool = False) -> list[tuple[str, str]]:
    """Split an article into numbered paragraphs "(1)", "(2)"... when it starts with one
    (in an extract, with the first one quoted)."""
    first = _AYAT.search(text)
    if not first or text[: first.start()].strip():
        return []
    if first.group(1) != "1" and not (extract and _line_start(text, first.start())):
        return []
    items: list[tuple[str, int, int]] = []  # (number, marker start, content start)
    expected = int(first.group(1))
    for m in _AYAT.finditer(text):
        number = int(m.group(1))
        skipped = extract and number > expected and _line_start(text, m.start())
        if number != expected and not skipped:
            continue
        if not _at_boundary(text, m.start()):
            continue
        if text[max(0, m.start() - _LOOKBACK) : m.start()].rstrip().lower().endswith("ayat"):
            continue
        items.append((m.group(1), m.start(), m.end()))
        expected = number + 1
    return [
        (num, text[begin : items[i + 1][1] if i + 1 < len(items) else len(text)])
        for i, (num, _, begin) in enumerate(items)
    ]


def _huruf_value(raw: str, expected: str) -> str | None:
    """Accept the expected letter; OCR turns "l." into "I." or "1."."""
    if raw == expected:
        return raw
    if expected == "l" and raw in "I1":
        return "l"
    return None


def _split_list(text: str, kind: str, extract: bool = False
                ) -> tuple[str, list[tuple[str, str]]] | None:
    """Split text into (lead-in, items) for a list of kind 'huruf' or 'angka'.

    The first item must follow a colon; later items must continue the sequence, which keeps
    references such as "huruf a" or "angka 4)" from being mistaken for items. In an
    ``extract`` a list may skip the items it does not quote, each quoted one on its own line.
    """
    pattern = _HURUF if kind == "huruf" else _ANGKA
    first = "a" if kind == "huruf" else "1"
    items: list[tuple[str, int, int]] = []
    lead = ""
    for m in pattern.finditer(text):
        raw = m.group(1).replace(" ", "")
        line_start = extract and _line_start(text, m.start())
        if not items:
            after_colon = text[max(0, m.start() - _LOOKBACK) : m.start()].rstrip().endswith(":")
            if not after_colon or (raw != first and not (line_start and _plain(raw, kind))):
                continue
            lead = text[: m.start()]
            items.append((raw, m.start(), m.end()))
            continue
        last = items[-1][0]
        if kind == "huruf":
            if last == "z":
                break
            value = _huruf_value(raw, _LETTERS[_LETTERS.index(last) + 1])
            if value is None and line_start and _plain(raw, kind) and raw > last:
                value = raw
        else:
            bigger = raw.isdigit() and (int(raw) == int(last) + 1
                                        or (line_start and int(raw) > int(last)))
            value = raw if bigger else None
        if value is None or not _at_boundary(text, m.start()):
            continue
        items.append((value, m.start(), m.end()))
    if not items:
        return None
    return lead, [
        (value, text[begin : items[i + 1][1] if i + 1 < len(items) else len(text)])
        for i, (value, _, begin) in enumerate(items)
    ]


def _plain(raw: str, kind: str) -> bool:
    """A marker as a clean text writes it: a lower-case letter or a number."""
    return raw.isdigit() if kind == "angka" else len(raw) == 1 and raw.islower()


_EXPL_MARKERS = {
    "ayat": re.compile(r"(?<![\w])Ayat ?\((\d{1,2})\)"),
    "huruf": re.compile(r"(?<![\w])Huruf ([a-zA-Z])(?![\w])"),
    "angka": re.compile(r"(?<![\w])Angka (\d{1,2})(?!\d)"),
}


def _expl_value(kind: str, raw: str, last: str | None) -> str:
    """Normalise an elucidation marker value ("Huruf C" -> "c", "Huruf I" after k -> "l")."""
    if kind != "huruf":
        return raw
    if raw == "I":
        return "i" if last is None or last < "i" else "l"
    return raw.lower()


def _split_explained(text: str, kinds: tuple[str, ...]) -> tuple[str, str, list[tuple[str, str]]]:
    """Split elucidation text on explicit "Ayat (n)" / "Huruf x" / "Angka n" headings."""
    best: tuple[int, str] | None = None
    for kind in kinds:
        m = _EXPL_MARKERS[kind].search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), kind)
    if best is None:
        return text, "", []
    kind = best[1]
    items: list[tuple[str, int, int]] = []
    for m in _EXPL_MARKERS[kind].finditer(text):
        value = _expl_value(kind, m.group(1), items[-1][0] if items else None)
        if items:
            last = items[-1][0]
            bigger = int(value) > int(last) if kind != "huruf" else value > last
            if not bigger:
                continue
        items.append((value, m.start(), m.end()))
    lead = text[: items[0][1]]
    return (
        lead,
        kind,
        [
            (value, text[begin : items[i + 1][1] if i + 1 < len(items) else len(text)])
            for i, (value, _, begin) in enumerate(items)
        ],
    )


# --------------------------------------------------------------------------------------------
# Building sections
# --------------------------------------------------------------------------------------------


def _tidy_item(text: str) -> str:
    """Trim list punctuation ("; dan") so a unit reads as a sentence of its own."""
    text = _squash(text)
    text = re.sub(r"\s*[;,]?\s*(?:dan/atau|dan|atau)$", "", text)
    return text.rstrip(" ;,")


def _make_section(pasal: str, path: list[tuple[str, str]], text: str, part: str) -> Section:
    """Build a Section; elucidation labels say so, which keeps every label unique."""
    values = dict(path)
    label = f"Pasal {pasal}" + "".join(
        f" ayat ({v})" if k == "ayat" else f" {k} {v}" for k, v in path
    )
    if part == EXPLANATION:
        label = f"Penjelasan {label}"
    return Section(
        label=label,
        pasal=pasal,
        ayat=values.get("ayat"),
        huruf=values.get("huruf"),
        angka=values.get("angka"),
        text=text,
        part=part,
    )


def _body_units(
    pasal: str, path: list[tuple[str, str]], text: str, leads: list[str], parent: str | None,
    extract: bool = False,
) -> list[Section]:
    """Recursively split a unit into list items; emit only the leaves."""
    for kind in ("huruf", "angka"):
        if kind == parent or any(k == kind for k, _ in path):
            continue
        split = _split_list(text, kind, extract)
        if split is None:
            continue
        lead, items = split
        lead = _squash(lead)
        sections: list[Section] = []
        for value, item in items:
            sections += _body_units(
                pasal, [*path, (kind, value)], item, [*leads, lead] if lead else leads, kind,
                extract,
            )
        return sections
    body = _tidy_item(text) if parent else _squash(text)
    if not body:
        return []
    return [_make_section(pasal, path, " ".join([*leads, body]), BODY)]


def _explained_units(
    pasal: str, path: list[tuple[str, str]], text: str, kinds: tuple[str, ...]
) -> list[Section]:
    """Split elucidation text recursively; "Cukup jelas." units carry nothing and are skipped."""
    lead, kind, items = _split_explained(text, kinds)
    if not items:
        body = _squash(text)
        if not body or _CUKUP_JELAS.match(body):
            return []
        return [_make_section(pasal, path, body, EXPLANATION)]
    sections: list[Section] = []
    lead = _squash(lead)
    rest = tuple(k for k in kinds if k != kind)
    for value, item in items:
        for section in _explained_units(pasal, [*path, (kind, value)], item, rest):
            if lead and not _CUKUP_JELAS.match(lead):
                section = replace(section, text=f"{lead} {section.text}")
            sections.append(section)
    return sections


def _merge_duplicates(sections: list[Section]) -> list[Section]:
    """Keep labels unique: a repeated unit (OCR repeats) is appended to the first one."""
    merged: dict[str, Section] = {}
    for section in sections:
        key = section.label
        if key in merged:
            first = merged[key]
            if section.text not in first.text:
                merged[key] = replace(first, text=f"{first.text} {section.text}")
        else:
            merged[key] = section
    return list(merged.values())


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def looks_like_regulation(text: str) -> bool:
    """Cheap gate for the document loader: an official title plus several Pasal headings.

    Headings are judged as the parser judges them (line start or clause end, not "dalam
    Pasal 5" or "Pasal 5 ayat (2)"), so a text that passes here also parses.
    """
    if _find_title(text) is None:
        return False
    numbers: set[str] = set()
    for m in _PASAL.finditer(text):
        heading, strong, _ = _heading_context(text, m.start(), m.end(1))
        if heading and strong:
            numbers.add(m.group(1))
            if len(numbers) >= 3:
                return True
    return False


def parse_regulation(text: str, extract: bool = False) -> Regulation:
    """Parse an OCR'd regulation into sections; raise ValueError for anything else.

    ``extract``: a clean excerpt of some articles, whose lists may skip the units it leaves
    out (each quoted unit on its own line)."""
    title_match = _find_title(text)
    if title_match is None:
        raise ValueError(
            "not a regulation: no official title like "
            "'PERATURAN PEMERINTAH ... NOMOR <n> TAHUN <yyyy>' near the start"
        )
    kind = _kind_of(title_match)
    number = str(int(_ocr_digits(title_match.group("number"))))
    year = _ocr_digits(title_match.group("year"))
    title = _clean_title(title_match.group("title"))

    body, explanation, whole = _parts(_clean(text))
    sections: list[Section] = []
    articles = _split_articles(body, explanation=False) or _split_articles(whole, explanation=False)
    for pasal, content in articles:
        content = _strip_headings(content)
        ayats = _split_ayat(content, extract)
        if ayats:
            for ayat, ayat_text in ayats:
                sections += _body_units(pasal, [("ayat", ayat)], ayat_text, [], None, extract)
        else:
            sections += _body_units(pasal, [], content, [], None, extract)
    for pasal, content in _split_articles(explanation, explanation=True):
        sections += _explained_units(pasal, [], content, ("ayat", "huruf", "angka"))
    if not sections:
        raise ValueError(f"{kind} {number}/{year}: no 'Pasal N' articles found in the text")
    return Regulation(
        kind=kind,
        number=number,
        year=year,
        title=title,
        short=f"{kind} {number}/{year}",
        sections=_merge_duplicates(sections),
    )


def cite(reg: Regulation, section: Section) -> str:
    """Human citation, e.g. "PP 94/2021 Pasal 5 huruf n angka 2" or "... Penjelasan Pasal 5"."""
    label = section.label
    if section.part == EXPLANATION and not label.startswith("Penjelasan "):
        label = f"Penjelasan {label}"
    return f"{reg.short} {label}"
