"""The Gradio app: each answer opens with its verdict badge and carries its sources as
chips that open the quoted passage; the conversation survives a reload.

UI code only: it calls the library through ``Assistant`` and nothing in the library
imports this module. What the app says is in ``prompts/ui.yaml``, its look in
``prompts/ui.css``.
"""

from __future__ import annotations

import html
import json
import os
import re
from functools import lru_cache
from importlib import resources
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
import yaml

from assistant.answer import Answer, Citation, InvalidQuestion
from assistant.chat import Assistant
from assistant.compose import source_lines
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.text import turn_text

MAX_ALTERNATIVES = 3
_CITE = re.compile(r"\[(\d+)\]")
STORAGE_KEY = "tanya-netralitas-chat"  # where the browser keeps the conversation
# After an answer, show its start, not its end: a long answer's verdict must be in view.
# A [n] in an answer opens its source chip in place.
OPEN_CITATION = """() => {
  document.addEventListener('click', (event) => {
    const cite = event.target.closest && event.target.closest('a.cite');
    if (!cite) return;
    event.preventDefault();
    const message = cite.closest('.message') || document;
    const n = parseInt((cite.getAttribute('href') || '').replace('#source-', ''), 10);
    const chip = message.querySelectorAll('details.chip')[n - 1];
    if (chip) { chip.open = true; chip.scrollIntoView({block: 'nearest'}); }
  });
}"""
SCROLL_TO_ANSWER = """() => {
  const bots = document.querySelectorAll('#chat .bot');
  const last = bots[bots.length - 1];
  if (last) last.scrollIntoView({block: 'start', behavior: 'instant'});
}"""


@lru_cache(maxsize=1)
def texts(lang: str = "id") -> dict[str, Any]:
    path = resources.files("assistant.prompts").joinpath("ui.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))[lang]


def launch_options() -> dict[str, Any]:
    """What every launch of the app passes: its style, and no Gradio footer (API and
    settings links in English beside an Indonesian interface)."""
    css = resources.files("assistant.prompts").joinpath("ui.css").read_text(encoding="utf-8")
    return {"css": css, "footer_links": [], "js": OPEN_CITATION}


def _badge(answer: Answer) -> str:
    key = "clarify" if answer.outcome == "clarify" else answer.verdict
    label = texts()["badges"].get(key or "")
    return f'<span class="verdict verdict-{key}">{label}</span>' if label else ""


def _body(answer: Answer) -> str:
    """The answer without its list of sources, which the chips replace."""
    tail = source_lines(answer.citations, answer.language)
    text = answer.text.strip()
    return text[: -len(tail)].rstrip() if tail and text.endswith(tail) else text


def _chip(c: Citation) -> str:
    t = texts()
    kind = t["types"].get(c.type, c.type)
    dated = t["dated"].get(c.type, "{date}").format(date=c.date) if c.date else ""
    where = " · ".join(html.escape(x) for x in (kind, c.article, c.publisher, dated) if x)
    link = (f'<br><a href="{html.escape(c.url)}" target="_blank" rel="noopener noreferrer">'
            f'{t["source_link"]}</a>' if c.url else "")
    return (f'<details class="chip"><summary>[{c.n}] {html.escape(c.title)}'
            f'</summary>'
            f'<div class="where">{where}</div>'
            f'<blockquote><mark>{html.escape(c.quote)}</mark></blockquote>{link}</details>')


def answer_markdown(answer: Answer) -> str:
    """The chat turn of an answer: badge, text, then one chip per source."""
    body = _CITE.sub(r'<a class="cite" href="#source-\1">[\1]</a>',
                     html.escape(_body(answer), quote=False))
    parts = [_badge(answer), body]
    if answer.citations:
        parts.append('<div class="chips">' + "".join(map(_chip, answer.citations)) + "</div>")
    return "\n\n".join(p for p in parts if p)


def _alternative_buttons(answer: Answer | None) -> list[Any]:
    alternatives = answer.alternatives if answer else []
    shown = [gr.update(value=a.question, visible=True) for a in alternatives[:MAX_ALTERNATIVES]]
    return shown + [gr.update(visible=False)] * (MAX_ALTERNATIVES - len(shown))


def build_app(assistant: Assistant) -> gr.Blocks:
    t = texts()
    limit = assistant.settings.max_question_chars
    feedback = FeedbackStore(assistant.settings)

    def respond(message: str, history: list[dict[str, Any]]) -> tuple[Any, ...]:
        """One question asked in the chat; a question the assistant refuses (empty, too
        long) leaves the conversation and the typed text as they are, with a notice."""
        history = list(history or [])
        asked = [m for m in history if m.get("role") == "user"]
        try:
            answer = assistant.ask(message, history=asked)
        except InvalidQuestion as exc:
            return (history, message, gr.update(value=str(exc), visible=True),
                    *[gr.update()] * MAX_ALTERNATIVES)
        history += [{"role": "user", "content": message},
                    {"role": "assistant", "content": answer_markdown(answer)}]
        return (history, "", gr.update(value="", visible=False),
                *_alternative_buttons(answer))

    def answer_api(question: str, history: list[str] | None = None) -> dict[str, Any]:
        """The structured answer (text, verdict, basis, sanction, citations, ...) as JSON;
        ``history`` holds the earlier questions of the conversation."""
        turns = [{"role": "user", "content": q} for q in history or []]
        try:
            return assistant.ask(question, history=turns).to_dict()
        except InvalidQuestion as exc:
            raise gr.Error(str(exc)) from exc

    def rate(history: list[dict[str, Any]], data: gr.LikeData) -> tuple[Any, ...]:
        """A thumb on an answer is stored with the question it answered; the comment box
        opens for an optional comment on it."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        history = list(history or [])
        content = turn_text(history[index].get("content")) if index < len(history) else ""
        question = next((turn_text(m.get("content")) for m in reversed(history[:index])
                         if m.get("role") == "user"), "")
        verdict = re.search(r"verdict-(\w+)", content)
        saved_id = feedback.add(1 if data.liked is True else -1, question, content,
                                verdict.group(1) if verdict else "")
        return saved_id, gr.update(visible=True), gr.update(value="", visible=False)

    def add_comment(saved_id: int | None, comment: str) -> tuple[Any, ...]:
        if saved_id is not None and comment.strip():
            feedback.comment(saved_id, comment.strip())
        return gr.update(visible=False), "", gr.update(value=t["thanks"], visible=True)

    counter = json.dumps(t["counter"])
    count_js = (f"(v) => {{ const el = document.querySelector('#counter-text');"
                f" if (el) el.textContent = {counter}.replace('{{n}}', v.length)"
                f".replace('{{limit}}', {limit}); }}")

    with gr.Blocks(title=t["title"]) as app:
        gr.Markdown(f"# {t['title']}\n{t['intro']}", elem_id="intro")
        saved = gr.BrowserState([], storage_key=STORAGE_KEY)
        chat = gr.Chatbot(label=t["chat_label"], show_label=False, elem_id="chat",
                          height="60vh", autoscroll=False, placeholder=t["start"],
                          buttons=["copy"])
        with gr.Row(elem_id="alternatives"):
            alternatives = [gr.Button(visible=False, size="sm", elem_classes="alternative")
                            for _ in range(MAX_ALTERNATIVES)]
        box = gr.Textbox(label=t["question_label"], placeholder=t["placeholder"],
                         elem_id="question", max_lines=6)
        gr.HTML(f'<div id="counter-text">{t["counter"].format(n=0, limit=limit)}</div>',
                elem_id="counter")
        notice = gr.Markdown(visible=False, elem_id="notice")
        rated = gr.State(None)  # the id of the rating a comment belongs to
        with gr.Row(visible=False, elem_id="feedback") as comment_row:
            comment = gr.Textbox(label=t["comment_label"], placeholder=t["comment_hint"],
                                 elem_id="feedback-comment", scale=4)
            comment_send = gr.Button(t["comment_send"], elem_id="feedback-send", scale=1)
        thanks = gr.Markdown(visible=False, elem_id="feedback-thanks")
        with gr.Row():
            send = gr.Button(t["send"], variant="primary", elem_id="send")
            clear = gr.Button(t["clear"], elem_id="clear")
        with gr.Accordion(t["examples"], open=True, elem_id="examples"):
            examples = []
            for topic in t["topics"]:
                gr.Markdown(f"**{topic['name']}**")
                with gr.Row():
                    examples += [gr.Button(q, size="sm", elem_classes="example")
                                 for q in topic["questions"]]

        outputs = [chat, box, notice, *alternatives]
        for trigger, source, name in [(send.click, box, "respond"), (box.submit, box, False)]:
            trigger(respond, [source, chat], outputs, api_name=name).then(
                lambda h: h, chat, saved, api_name=False).then(
                None, None, None, js=SCROLL_TO_ANSWER, api_name=False)
        for button in [*alternatives, *examples]:
            button.click(respond, [button, chat], outputs, api_name=False).then(
                lambda h: h, chat, saved, api_name=False).then(
                None, None, None, js=SCROLL_TO_ANSWER, api_name=False)
        box.input(None, box, None, js=count_js, api_name=False)
        chat.like(rate, chat, [rated, comment_row, thanks], api_name=False)
        comment_send.click(add_comment, [rated, comment], [comment_row, comment, thanks],
                           api_name=False)
        clear.click(lambda: ([], [], "", gr.update(visible=False),
                             *_alternative_buttons(None)),
                    None, [chat, saved, box, notice, *alternatives], api_name=False)
        app.load(lambda history: history or [], saved, chat, api_name=False)
        gr.api(answer_api, api_name="answer")
    return app


def launch(settings: Settings | None = None, **kwargs: Any) -> None:
    settings = settings or Settings.from_env()
    assistant = Assistant(settings)
    _ = assistant.retriever  # index and load before the first visitor arrives
    build_app(assistant).queue().launch(
        server_name=settings.host, server_port=settings.port, **launch_options(), **kwargs
    )
