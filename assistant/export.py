"""A session's questions and answers as a Markdown file and a printable HTML handout, each
answer with its sources and their quotes (for a trainer after a webinar)."""

from __future__ import annotations

import html
from datetime import date
from importlib import resources

from assistant.answer import Answer
from assistant.compose import messages, source_line, without_sources

LANG = "id"  # the handout's own words (headings, labels) are Indonesian


def _verdict(answer: Answer) -> str:
    return str(messages()[LANG]["verdict_label"].get(answer.verdict or "", ""))


def _css() -> str:
    return resources.files("assistant.prompts").joinpath("handout.css").read_text(encoding="utf-8")


def answer_markdown(answer: Answer) -> str:
    """One answer as Markdown: verdict, text, then each source with its quote and link
    (what the app's copy button puts on the clipboard)."""
    lines = []
    verdict = _verdict(answer)
    if verdict:
        lines += [f"**Putusan: {verdict}**", ""]
    lines += [without_sources(answer), ""]
    for c in answer.citations:
        lines.append(f"- {source_line(c, LANG)}")
        if c.quote:
            lines.append(f"  > {c.quote}")
        if c.url:
            lines.append(f"  <{c.url}>")
    return "\n".join(lines).rstrip() + "\n"


def session_markdown(answers: list[Answer], title: str = "Tanya Netralitas") -> str:
    lines = [f"# {title}: sesi tanya jawab", f"Diekspor {date.today().isoformat()}.", ""]
    for i, a in enumerate(answers, 1):
        lines += [f"## {i}. {a.question}", "", answer_markdown(a)]
    return "\n".join(lines)


def session_html(answers: list[Answer], title: str = "Tanya Netralitas") -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang='id'><head><meta charset='utf-8'>"
             f"<title>{e(title)}</title><style>{_css()}</style></head><body>",
             f"<h1>{e(title)}: sesi tanya jawab</h1><p>Diekspor {date.today().isoformat()}. "
             "Panduan, bukan pendapat hukum: teks resmi peraturan yang berlaku.</p>"]
    for i, a in enumerate(answers, 1):
        parts.append(f"<h2>{i}. {e(a.question)}</h2>")
        verdict = _verdict(a)
        if verdict:
            parts.append(f"<p class='verdict'>Putusan: {e(verdict)}</p>")
        parts += [f"<p>{e(p)}</p>" for p in without_sources(a).split("\n") if p.strip()]
        if a.citations:
            parts.append("<ol class='sources'>")
            for c in a.citations:
                link = f" <a href='{e(c.url)}'>{e(c.url)}</a>" if c.url else ""
                quote = f"<blockquote>{e(c.quote)}</blockquote>" if c.quote else ""
                parts.append(f"<li value='{c.n}'>{e(source_line(c, LANG))}{link}{quote}</li>")
            parts.append("</ol>")
    parts.append("</body></html>")
    return "\n".join(parts)
