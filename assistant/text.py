"""Indonesian-aware text helpers shared by chunking, lexical retrieval and answering."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

_WORD = re.compile(r"[0-9A-Za-zÀ-ÿ]+(?:[-'][0-9A-Za-zÀ-ÿ]+)*")
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before a space
# and a capital letter, digit, quote or bracket.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")

_EN_MARKERS = {
    "the", "is", "are", "can", "may", "what", "who", "how", "does", "do", "should", "allowed",
    "which", "when", "where", "why", "of", "civil", "servant", "servants", "candidate", "i",
    "my", "an", "to", "be", "if", "it", "and", "with", "for", "about", "during", "election",
}
_ID_MARKERS = {
    "yang", "dan", "di", "ke", "dari", "apakah", "bolehkah", "boleh", "saya", "apa", "siapa",
    "bagaimana", "berapa", "untuk", "dengan", "tidak", "itu", "ini", "pada", "dalam", "kalau",
    "jika", "kapan", "mengapa", "kenapa", "atau", "sebagai", "oleh", "ada", "jadi", "bisa",
}


def _data_lines(name: str) -> list[str]:
    text = resources.files("assistant.data").joinpath(name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(w for line in _data_lines("stopwords.txt") for w in line.split())


@lru_cache(maxsize=1)
def abbreviations() -> frozenset[str]:
    return frozenset(w for line in _data_lines("abbreviations.txt") for w in line.split())


def turn_text(content: object) -> str:
    """The text of a chat turn's content: a string, or the parts Gradio and OpenAI-style
    messages use ([{"type": "text", "text": "..."}])."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(turn_text(part) for part in content).strip()
    return "" if content is None else str(content)


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space."""
    return re.sub(r"\s+", " ", text).strip()


def normalise(text: str) -> str:
    """Typed text made safe to read, then squashed: any whitespace (newlines, tabs) becomes a
    space; other control and format characters, lone surrogates (what undecodable bytes on a
    command line become), private-use and unassigned code points are dropped, since no
    tokenizer takes them and none carries a word; the rest is composed (NFC), so that an "e"
    with a combining accent is the "é" the documents write."""
    kept = "".join(" " if c.isspace() else c for c in text
                   if c.isspace() or unicodedata.category(c)[0] != "C")
    return squash(unicodedata.normalize("NFC", kept))


def split_sentences(text: str) -> list[str]:
    """Split into sentences, paragraph breaks included, without breaking after titles
    and abbreviations such as "Dr.", "No." or "Kec." that Indonesian news uses a lot."""
    sentences: list[str] = []
    for para in re.split(r"\n\s*\n|\n", text):
        para = squash(para)
        if not para:
            continue
        pieces = _BOUNDARY.split(para)
        buf = ""
        for piece in pieces:
            buf = f"{buf} {piece}".strip() if buf else piece
            last = re.findall(r"([A-Za-z][A-Za-z.]*)\.$", buf)
            if last and (last[-1].lower() in abbreviations() or len(last[-1]) == 1):
                continue  # "Dr." or an initial: the sentence goes on
            sentences.append(buf)
            buf = ""
        if buf:
            sentences.append(buf)
    return sentences


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@lru_cache(maxsize=1)
def _roots() -> frozenset[str]:
    """Indonesian root words from the Sastrawi package (its stemmer is too slow per word)."""
    path = resources.files("Sastrawi.Stemmer").joinpath("data/kata-dasar.txt")
    return frozenset(w.strip() for w in path.read_text(encoding="utf-8").split())


# Terms of the domain that look derived but are not (pemilu is not pe- + milu).
_KEEP = frozenset({"pemilu", "pemilukada", "pilkada", "pileg", "pilpres", "kemenpanrb", "menpanrb"})


def _unprefix(word: str, depth: int = 0) -> str | None:
    """The root reached by removing derivational prefixes (with meN-/peN- sound changes)."""
    roots = _roots()
    if word in roots:
        return word
    if depth == 3 or len(word) < 4:
        return None
    options: list[str] = []
    for pre in ("di", "ke", "se", "ter", "ber", "be", "per", "pe", "te"):
        if word.startswith(pre):
            options.append(word[len(pre):])
    for nasal in ("me", "pe"):
        if not word.startswith(nasal):
            continue
        rest = word[2:]
        if rest.startswith("ng"):
            options += [rest[2:], "k" + rest[2:]]
        elif rest.startswith("ny"):
            options.append("s" + rest[2:])
        elif rest.startswith("m"):
            options += [rest[1:], "p" + rest[1:]]
        elif rest.startswith("n"):
            options += [rest[1:], "t" + rest[1:]]
        else:
            options.append(rest)
    for option in options:
        found = _unprefix(option, depth + 1)
        if found:
            return found
    return None


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Indonesian stem, so that "mengunggah" and "unggahan" both become "unggah".

    Dictionary-guided affix removal; a word it cannot reduce to a known root stays as it is
    (minus particles), which keeps queries and documents consistent."""
    first, _, second = word.partition("-")
    if second.startswith(first) and first.isalpha():
        word = second  # a doubled word ("foto-foto", "kampanye-kampanyenya") is its single
    if not word.isalpha() or len(word) <= 3 or word in _roots() or word in _KEEP:
        return word
    base = word
    for particle in ("lah", "kah", "tah", "pun"):
        if base.endswith(particle) and len(base) - len(particle) >= 3:
            base = base[: -len(particle)]
            break
    for owner in ("nya", "ku", "mu"):
        if base.endswith(owner) and len(base) - len(owner) >= 3:
            base = base[: -len(owner)]
            break
    for suffix in ("kan", "an", "i", ""):
        if suffix and not (base.endswith(suffix) and len(base) - len(suffix) >= 3):
            continue
        found = _unprefix(base[: len(base) - len(suffix)] if suffix else base)
        if found:
            return found
    return base


def tokens(text: str) -> list[str]:
    """Lexical tokens: lower-cased, stop words dropped, Indonesian words stemmed."""
    stop = stopwords()
    return [stem(w) for w in words(text) if w not in stop]


@lru_cache(maxsize=50_000)
def token_set(text: str) -> frozenset[str]:
    """The tokens of a passage or sentence, cached: the same sentences are scored against
    many questions."""
    return frozenset(tokens(text))


def detect_language(text: str) -> str:
    """'en' or 'id' from function words; Indonesian wins ties because most users write it."""
    ws = words(text)
    en = sum(w in _EN_MARKERS for w in ws)
    idn = sum(w in _ID_MARKERS for w in ws)
    return "en" if en > idn else "id"


# A negator ("di luar", outside, included) up to two words before a phrase, unless it is
# the tag of a yes/no question ("boleh gak saya copot?").
_NEGATED = re.compile(r"(?<!boleh )(?<!bisa )(?<!bener )(?<!benar )(?<!harus )(?<!wajib )"
                      r"(?<!perlu )\b(?:tanpa|tidak|tdk|nggak|ngga|gak|ga|gk|enggak|bukan|"
                      r"luar|diluar|without|not|no|never|outside)\s+(?:\w+\s+){0,2}$")


def negated_at(text: str, start: int) -> bool:
    """Whether the words just before ``start`` negate what follows ("bukan PNS")."""
    return bool(_NEGATED.search(text[:start].lower()))


def affirms(text: str, phrases: list[Any]) -> bool:
    """Whether a text uses any of the phrases other than negated: "nggak pakai atribut" and
    "tanpa seragam" say the opposite of "pakai atribut" and "seragam"."""
    return affirmed(text, phrases) is not None


def affirmed(text: str, phrases: list[Any]) -> str | None:
    """The first of the phrases a text uses other than negated, as the text writes it."""
    pattern = phrase_regex(tuple(str(p).lower() for p in phrases), True)
    if pattern is None:
        return None
    return next((m.group(0) for m in pattern.finditer(text)
                 if not _NEGATED.search(text[: m.start()])), None)


def uses_any(text: str, phrases: list[Any]) -> bool:
    """Whether a text uses any of the phrases as written, as whole words."""
    pattern = phrase_regex(tuple(str(p).lower() for p in phrases), False)
    return bool(pattern and pattern.search(text))


@lru_cache(maxsize=1024)
def phrase_regex(phrases: tuple[str, ...], inflected: bool, flags: int = 0
                 ) -> re.Pattern[str] | None:
    """One pattern per card field or lexicon list, compiled once rather than per phrase per
    question (``inflected``: with any ending, so "kampanye" finds "kampanyenya")."""
    if not phrases:
        return None
    end = r"\w*" if inflected else ""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives}){end}(?![\w-])", flags)
