"""Loading documents from ``corpus/``: Markdown with front matter, text, HTML and PDF.

A file that cannot be read is reported with its reason and skipped; the rest still load.
News pages pasted in by users carry site chrome (teasers, share widgets, comment boxes),
which is removed here so it is never indexed or quoted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from assistant import regulation
from assistant.text import stopwords, words

SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_ID_SAFE = re.compile(r"[^a-z0-9]+")


@dataclass
class Document:
    """One source document; ``meta`` holds its whole front matter (rule cards carry more)."""

    id: str
    title: str
    type: str
    text: str
    source: str
    publisher: str = ""
    date: str = ""
    url: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    regulation: regulation.Regulation | None = None

    @property
    def fingerprint(self) -> str:
        """Changes whenever the text or any metadata changes: the unit of re-indexing."""
        payload = json.dumps([self.text, self.meta, self.title, self.type], sort_keys=True,
                             default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class LoadError:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LoadResult:
    documents: list[Document]
    errors: list[LoadError]


def load_corpus(corpus_dir: Path) -> LoadResult:
    """Every supported file under ``corpus_dir``, in a stable order."""
    documents: list[Document] = []
    errors: list[LoadError] = []
    seen: dict[str, str] = {}
    if not corpus_dir.is_dir():
        return LoadResult([], [LoadError(str(corpus_dir), "corpus folder not found")])
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.name.lower() == "readme.md":
            continue
        rel = path.relative_to(corpus_dir).as_posix()
        if path.suffix.lower() not in SUPPORTED:
            errors.append(LoadError(rel, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        try:
            doc = load_file(path, rel)
        except DocumentError as exc:
            errors.append(LoadError(rel, str(exc)))
            continue
        if doc.id in seen:
            errors.append(LoadError(rel, f"duplicate id {doc.id!r} (also used by {seen[doc.id]})"))
            continue
        seen[doc.id] = rel
        documents.append(doc)
    return LoadResult(documents, errors)


class DocumentError(ValueError):
    """A file that cannot become a document; the message says why."""


def load_file(path: Path, source: str | None = None) -> Document:
    source = source or path.name
    suffix = path.suffix.lower()
    try:
        raw = _read_pdf(path) if suffix == ".pdf" else path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise DocumentError(f"cannot be read ({exc.strerror or exc})") from exc
    if suffix in (".html", ".htm"):
        raw = html_to_text(raw)
    meta, body = split_front_matter(raw)
    return make_document(meta, body, path.stem, source)


def split_front_matter(raw: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if not match:
        return {}, raw
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise DocumentError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise DocumentError("front matter must be a mapping of fields")
    return meta, raw[match.end():]


def make_document(meta: dict[str, Any], body: str, stem: str, source: str) -> Document:
    """Build a document, filling what the front matter leaves out from the text itself."""
    meta = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in meta.items()}
    reg = None
    extract = bool(meta.get("extract"))  # a clean excerpt of an official text
    if extract or regulation.looks_like_regulation(body):
        try:
            reg = regulation.parse_regulation(body, extract=extract)
        except ValueError as exc:
            raise DocumentError(str(exc)) from exc
        text = "\n".join(s.text for s in reg.sections)
        meta.setdefault("type", "regulasi")
        meta.setdefault("title", f"{reg.short} tentang {reg.title}")
        meta.setdefault("publisher", "Pemerintah Republik Indonesia")
        meta.setdefault("date", reg.year)
    else:
        text = clean_text(body, meta.get("title", ""))
    if not text.strip():
        raise DocumentError("no text left after cleaning (empty or only site chrome)")
    title = str(meta.get("title") or _first_line(text) or stem)
    doc_id = str(meta.get("id") or _slug(stem))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", doc_id):
        raise DocumentError(f"id {doc_id!r} may hold only letters, digits, '.', '_' and '-'")
    meta["id"], meta["title"] = doc_id, title
    meta.setdefault("type", "dokumen")
    return Document(
        id=doc_id,
        title=title,
        type=str(meta["type"]),
        text=text,
        source=source,
        publisher=str(meta.get("publisher", "")),
        date=str(meta.get("date", "")),
        url=str(meta.get("url", "")),
        meta=meta,
        regulation=reg,
    )


def _slug(stem: str) -> str:
    return _ID_SAFE.sub("-", stem.lower()).strip("-") or "dokumen"


def _first_line(text: str) -> str:
    line = next((ln.strip("# ").strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:120]


# --- cleaning -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _chrome_patterns() -> list[re.Pattern[str]]:
    data = yaml.safe_load(resources.files("assistant.data").joinpath("chrome.yaml").read_text())
    return [re.compile(p, re.I) for p in data["line_patterns"]]


def clean_text(text: str, title: str = "") -> str:
    """Drop site chrome: known widget lines, and teaser headlines of unrelated articles.

    A teaser is a short, unpunctuated, title-cased line after the article has begun whose
    words hardly occur anywhere else in the article; a genuine subheading shares them."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    kept: list[str] = []
    patterns = _chrome_patterns()
    for ln in lines:
        stripped = ln.strip().lstrip("•·-* ").strip()
        if stripped and any(p.fullmatch(stripped) for p in patterns):
            continue
        kept.append(ln.strip() if stripped else "")
    body_words = _content_words("\n".join(kept))
    started = False
    result: list[str] = []
    for ln in kept:
        if not ln:
            result.append("")
            continue
        if started and _is_teaser(ln, body_words):
            continue
        if len(ln) > 120 or ln.endswith((".", "”", '"')):
            started = True
        result.append(ln)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(result)).strip()
    return cleaned


def _content_words(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    stop = stopwords()
    for w in words(text):
        if w not in stop and not w.isdigit():
            counts[w] = counts.get(w, 0) + 1
    return counts


def _is_teaser(line: str, body_words: dict[str, int]) -> bool:
    if len(line) > 160 or re.search(r"[.!?:;\"“”\[\]()]", line):
        return False
    ws = [w for w in re.findall(r"[A-Za-z0-9]+", line)]
    if len(ws) < 4:
        return False
    capitals = sum(w[0].isupper() or w[0].isdigit() for w in ws) / len(ws)
    if capitals < 0.6:
        return False
    content = [w for w in (x.lower() for x in ws) if w not in stopwords() and not w.isdigit()]
    if not content:
        return False
    # Words of the line seen elsewhere in the article (each line counts itself once).
    shared = sum(body_words.get(w, 0) > 1 for w in content) / len(content)
    return shared < 0.5


class _TextExtractor(HTMLParser):
    """Visible text of a page, without scripts, styles and navigation blocks."""

    SKIP: ClassVar[set[str]] = {
        "script", "style", "nav", "header", "footer", "aside", "form", "noscript", "svg",
        "button", "iframe",
    }
    BLOCK: ClassVar[set[str]] = {
        "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article",
        "blockquote", "figcaption", "title",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    text = "".join(parser.parts)
    return "\n".join(re.sub(r"[ \t]+", " ", ln).strip() for ln in text.splitlines())


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise DocumentError(f"not a readable PDF ({exc})") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise DocumentError("PDF has no extractable text (scanned images need OCR first)")
    return text
