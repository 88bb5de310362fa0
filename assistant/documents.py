"""Loading documents from ``corpus/``: Markdown with front matter, text, HTML and PDF.

A file that cannot be read is reported with its reason and skipped; the rest still load.
News pages pasted in by users carry site chrome (teasers, share widgets, comment boxes),
which is removed here so it is never indexed or quoted.

Only documents in the trusted folders (``trusted_folders``: the shipped rule cards, near
misses and official texts) can decide an answer: there a card is checked against its schema
and an official text is parsed into articles. Anything else (added, uploaded or copied in)
is evidence that may be quoted and cited: its type becomes "dokumen" unless it is news, its
verdict-bearing fields are dropped, and it can never take a trusted document's id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from assistant import regulation, schema
from assistant.text import stopwords, words

# libyaml's loader where PyYAML was built with it: the corpus's front matter parses five times
# faster, which every start of the app pays (it looks for changed documents).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_ID_SAFE = re.compile(r"[^a-z0-9]+")
TRUSTED_TYPES = ("aturan", "luar", "peraturan", "regulasi")  # types that decide answers
EVIDENCE_TYPES = ("berita", "dokumen")  # what any other document may be
# The fields an untrusted document keeps; a verdict, rulings or a basis are a card's.
EVIDENCE_FIELDS = ("id", "title", "type", "publisher", "date", "url", "tags", "region")


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
    trusted: bool = False  # from a trusted folder: may decide answers
    demoted_from: str = ""  # the type an untrusted document asked for and did not get

    @property
    def fingerprint(self) -> str:
        """Changes whenever the text, any metadata or the trust changes: the unit of
        re-indexing."""
        payload = json.dumps([self.text, self.meta, self.title, self.type, self.trusted],
                             sort_keys=True, default=str)
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
    errors: list[LoadError]  # files left out, with why
    notes: list[LoadError] = field(default_factory=list)  # loaded, but not as they asked


DEFAULT_TRUSTED = ("aturan", "luar", "peraturan", "berita")


def load_corpus(corpus_dir: Path, trusted: tuple[str, ...] = DEFAULT_TRUSTED,
                max_bytes: int | None = None) -> LoadResult:
    """Every supported file under ``corpus_dir``, in a stable order. ``trusted`` names the
    folders (relative to ``corpus_dir``; "." for all of it) whose documents may decide
    answers. Links that leave the corpus, broken links, linked folders and files over
    ``max_bytes`` are reported and left out. Of two documents with one id a trusted one is
    kept, else the first."""
    result = LoadResult([], [])
    if not corpus_dir.is_dir():
        return LoadResult([], [LoadError(str(corpus_dir), "corpus folder not found")])
    root = corpus_dir.resolve()
    loaded: list[Document] = []
    for path, rel in _corpus_files(corpus_dir, root, result.errors):
        target = path.resolve()
        if path.suffix.lower() not in SUPPORTED:
            result.errors.append(
                LoadError(rel, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        size = target.stat().st_size
        if max_bytes is not None and size > max_bytes:
            result.errors.append(LoadError(
                rel, f"{size / 2**20:.1f} MB is over the limit of {max_bytes / 2**20:g} MB "
                     "(setting max_document_mb)"))
            continue
        is_trusted = in_folders(target.relative_to(root), trusted)
        try:
            doc = load_file(path, rel, trusted=is_trusted)
        except DocumentError as exc:
            result.errors.append(LoadError(rel, str(exc)))
            continue
        if doc.demoted_from:
            result.notes.append(LoadError(rel, (
                f"type {doc.demoted_from!r} is only taken from the trusted "
                f"folders ({', '.join(trusted)}); indexed as {doc.type!r}, evidence that "
                "can be quoted, never a verdict")))
        loaded.append(doc)
    owner: dict[str, Document] = {}
    for doc in sorted(loaded, key=lambda d: not d.trusted):  # trusted ones claim ids first
        if doc.id in owner:
            result.errors.append(LoadError(doc.source, (
                f"duplicate id {doc.id!r} (also used by {owner[doc.id].source}"
                f"{', a trusted document' if owner[doc.id].trusted else ''})")))
            continue
        owner[doc.id] = doc
    result.documents = [d for d in loaded if owner.get(d.id) is d]
    return result


def _corpus_files(corpus_dir: Path, root: Path, errors: list[LoadError]
                  ) -> list[tuple[Path, str]]:
    """The corpus's files with their relative paths, sorted. A linked file is kept only when
    it points to a file inside the corpus; linked folders are not followed."""
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(corpus_dir):
        here = Path(folder)
        for name in sorted(dirs):
            if (here / name).is_symlink():
                rel = (here / name).relative_to(corpus_dir).as_posix()
                errors.append(LoadError(rel, "a linked folder; not followed"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
        for name in files:
            path = here / name
            if name.startswith(".") or name.lower() == "readme.md":
                continue
            rel = path.relative_to(corpus_dir).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if not target.is_file():
                    errors.append(LoadError(rel, f"a broken link (to {os.readlink(path)})"))
                    continue
                if not target.is_relative_to(root):
                    errors.append(LoadError(rel, "a link to a file outside the corpus; refused"))
                    continue
            found.append((path, rel))
    return sorted(found, key=lambda item: item[1])


def in_folders(rel: Path, folders: tuple[str, ...]) -> bool:
    """Whether a corpus-relative path lies in one of ``folders`` ("." is the whole corpus)."""
    parts = rel.parts
    return any(f in (".", "") or tuple(Path(f).parts) == parts[:len(Path(f).parts)]
               for f in folders)


class DocumentError(ValueError):
    """A file that cannot become a document; the message says why."""


def load_file(path: Path, source: str | None = None, *, trusted: bool = False) -> Document:
    """One file as a document; ``trusted`` only for the trusted folders (see the module)."""
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
    return make_document(meta, body, path.stem, source, trusted=trusted)


def split_front_matter(raw: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if not match:
        return {}, raw
    try:
        meta = yaml.load(match.group(1), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise DocumentError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise DocumentError("front matter must be a mapping of fields")
    return meta, raw[match.end():]


def make_document(meta: dict[str, Any], body: str, stem: str, source: str, *,
                  trusted: bool = False) -> Document:
    """Build a document, filling what the front matter leaves out from the text itself. An
    untrusted one keeps only the fields of evidence and is never read as an official text;
    a trusted card or near miss must match its schema."""
    meta = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in meta.items()}
    declared = str(meta.get("type", "") or "")
    if not trusted:
        meta = {k: v for k, v in meta.items() if k in EVIDENCE_FIELDS}
        if declared and declared not in EVIDENCE_TYPES:
            meta["type"] = "dokumen"
    elif declared and declared not in TRUSTED_TYPES + EVIDENCE_TYPES:
        raise DocumentError(f"unknown type {declared!r}; use one of "
                            f"{', '.join(TRUSTED_TYPES + EVIDENCE_TYPES)}")
    reg = None
    extract = trusted and bool(meta.get("extract"))  # a clean excerpt of an official text
    if trusted and (extract or regulation.looks_like_regulation(body)):
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
    if trusted and (problem := schema.problem(meta)):
        raise DocumentError(f"not a valid {meta['type']!r} document: {problem}")
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
        trusted=trusted,
        demoted_from=declared if declared and declared != meta["type"] else "",
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
