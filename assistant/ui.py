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
import random
import re
import sys
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
import yaml

from assistant.answer import Answer, Citation, InvalidQuestion
from assistant.chat import Assistant
from assistant.compose import without_sources
from assistant.documents import SUPPORTED, DocumentError
from assistant.export import session_html, session_markdown
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.text import turn_text
from assistant.topics import Card, Scenario, rule_cards, scenarios

MAX_ALTERNATIVES = 3
_CITE = re.compile(r"\[(\d+)\]")
STORAGE_KEY = "tanya-netralitas-chat"  # where the browser keeps the conversation
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
# After an answer, show its start, not its end: a long answer's verdict must be in view.
SCROLL_TO_ANSWER = """() => {
  const bots = document.querySelectorAll('#chat .bot');
  const last = bots[bots.length - 1];
  if (last) last.scrollIntoView({block: 'start', behavior: 'instant'});
}"""
# The presentation view: large type and high contrast for a projector.
PRESENT = "(on) => { document.body.classList.toggle('present', on); }"


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
                     html.escape(without_sources(answer), quote=False))
    parts = [_badge(answer), body]
    if answer.citations:
        parts.append('<div class="chips">' + "".join(map(_chip, answer.citations)) + "</div>")
    return "\n\n".join(p for p in parts if p)


def _alternative_buttons(answer: Answer | None) -> list[Any]:
    alternatives = answer.alternatives if answer else []
    shown = [gr.update(value=a.question, visible=True) for a in alternatives[:MAX_ALTERNATIVES]]
    return shown + [gr.update(visible=False)] * (MAX_ALTERNATIVES - len(shown))


def topics_html(cards: list[Card]) -> str:
    """Every rule card by topic, each opening to its verdict, summary, basis and sanction."""
    t = texts()
    parts, topic = [], None
    for card in cards:
        if card.topic != topic:
            topic = card.topic
            parts.append(f"<h3>{html.escape(topic.capitalize())}</h3>")
        label = t["badges"].get(card.verdict or "")
        badge = f' <span class="verdict verdict-{card.verdict}">{label}</span>' if label else ""
        details = [f"<p>{html.escape(card.summary)}</p>"]
        if card.conditions:
            details.append(f"<p><b>{t['conditions']}:</b> {html.escape(card.conditions)}</p>")
        if card.basis:
            details.append(f"<p><b>{t['basis']}:</b> {html.escape('; '.join(card.basis))}</p>")
        if card.sanction:
            details.append(f"<p><b>{t['sanction']}:</b> {html.escape(card.sanction)}</p>")
        parts.append(f'<details class="card"><summary>{html.escape(card.title)}{badge}'
                     f'</summary>{"".join(details)}</details>')
    return "\n".join(parts)


def quiz(pool: list[Scenario]) -> tuple[Any, list[Any], list[Any]]:
    """The quiz: a scenario drawn from the cards' ways of asking, three answers to choose
    from, then the card's verdict with its basis, and the session's score."""
    t = texts()
    draw_from = random.Random()
    state = gr.State({"i": None, "answered": True, "right": 0, "asked": 0})
    question = gr.Markdown(elem_id="quiz-question")
    with gr.Row():
        choices = [(verdict, gr.Button(t["badges"][verdict], elem_id=f"quiz-{verdict}"))
                   for verdict in ("boleh", "bersyarat", "tidak_boleh")]
    result = gr.Markdown(elem_id="quiz-result")
    score = gr.Markdown(elem_id="quiz-score")
    following = gr.Button(t["quiz_next"], elem_id="quiz-next", variant="primary")

    def draw(s: dict[str, Any]) -> tuple[Any, ...]:
        if not pool:
            return s, t["quiz_empty"], ""
        i = draw_from.randrange(len(pool))
        return ({**s, "i": i, "answered": False},
                t["quiz_prompt"].format(question=pool[i].question), "")

    def pick(verdict: str, s: dict[str, Any]) -> tuple[Any, ...]:
        if s["i"] is None or s["answered"]:
            return s, gr.update(), gr.update()
        card = pool[s["i"]].card
        right = verdict == card.verdict
        s = {**s, "answered": True, "right": s["right"] + right, "asked": s["asked"] + 1}
        reveal = t["quiz_right" if right else "quiz_wrong"].format(
            verdict=t["badges"][card.verdict or ""], title=card.title, summary=card.summary,
            basis="; ".join(card.basis))
        return s, reveal, t["quiz_score"].format(right=s["right"], asked=s["asked"])

    for verdict, button in choices:
        button.click(lambda s, v=verdict: pick(v, s), state, [state, result, score],
                     api_name=False)
    following.click(draw, state, [state, question, result], api_name=False)
    return draw, [state], [state, question, result]


def documents_table(assistant: Assistant) -> list[list[Any]]:
    kinds = texts()["types"]
    rows = sorted(assistant.retriever.documents(), key=lambda d: (d["type"], d["title"]))
    return [[d["title"], kinds.get(d["type"], d["type"]), d["date"], d["chunks"]] for d in rows]


def build_app(assistant: Assistant) -> gr.Blocks:
    t = texts()
    limit = assistant.settings.max_question_chars
    feedback = FeedbackStore(assistant.settings)

    def respond(message: str, history: list[dict[str, Any]], answers: list[Answer] | None
                ) -> tuple[Any, ...]:
        """One question asked in the chat; a question the assistant refuses (empty, too
        long) leaves the conversation and the typed text as they are, with a notice. The
        session's answers are kept for the export."""
        history = list(history or [])
        asked = [m for m in history if m.get("role") == "user"]
        try:
            answer = assistant.ask(message, history=asked)
        except InvalidQuestion as exc:
            return (history, message, gr.update(value=str(exc), visible=True),
                    *[gr.update()] * MAX_ALTERNATIVES, answers or [])
        history += [{"role": "user", "content": message},
                    {"role": "assistant", "content": answer_markdown(answer)}]
        return (history, "", gr.update(value="", visible=False),
                *_alternative_buttons(answer), [*(answers or []), answer])

    def export(answers: list[Answer] | None) -> Any:
        """The session as Markdown and as a printable HTML handout."""
        if not answers:
            return gr.update(value=None, visible=False)
        folder = Path(tempfile.mkdtemp(prefix="netralitas-export-"))
        md, page = folder / "tanya-netralitas-sesi.md", folder / "tanya-netralitas-sesi.html"
        md.write_text(session_markdown(answers), encoding="utf-8")
        page.write_text(session_html(answers), encoding="utf-8")
        return gr.update(value=[str(md), str(page)], visible=True)

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

    def add_document(path: str | None) -> tuple[Any, str]:
        if not assistant.settings.auth:
            return gr.update(), t["upload_refused"]  # never without a login
        if not path:
            return gr.update(), ""
        try:
            doc, report = assistant.add_document(Path(path))
        except (DocumentError, OSError) as exc:
            return gr.update(), t["upload_error"].format(error=exc)
        return documents_table(assistant), t["upload_done"].format(
            title=doc.title, summary=report.summary())

    counter = json.dumps(t["counter"])
    count_js = (f"(v) => {{ const el = document.querySelector('#counter-text');"
                f" if (el) el.textContent = {counter}.replace('{{n}}', v.length)"
                f".replace('{{limit}}', {limit}); }}")

    with gr.Blocks(title=t["title"]) as app:
        gr.Markdown(f"# {t['title']}\n{t['intro']}", elem_id="intro")
        present = gr.Checkbox(label=t["present"], elem_id="present", container=False)
        saved = gr.BrowserState([], storage_key=STORAGE_KEY)
        answers = gr.State([])
        with gr.Tabs():
            with gr.Tab(t["tab_ask"], id="ask", elem_id="tab-ask"):
                chat = gr.Chatbot(label=t["chat_label"], show_label=False, elem_id="chat",
                                  height="60vh", autoscroll=False, placeholder=t["start"],
                                  buttons=["copy"])
                with gr.Row(elem_id="alternatives"):
                    alternatives = [gr.Button(visible=False, size="sm",
                                              elem_classes="alternative")
                                    for _ in range(MAX_ALTERNATIVES)]
                box = gr.Textbox(label=t["question_label"], placeholder=t["placeholder"],
                                 elem_id="question", max_lines=6)
                gr.HTML(f'<div id="counter-text">{t["counter"].format(n=0, limit=limit)}</div>',
                        elem_id="counter")
                notice = gr.Markdown(visible=False, elem_id="notice")
                rated = gr.State(None)  # the id of the rating a comment belongs to
                with gr.Row(visible=False, elem_id="feedback") as comment_row:
                    comment = gr.Textbox(label=t["comment_label"], elem_id="feedback-comment",
                                         placeholder=t["comment_hint"], scale=4)
                    comment_send = gr.Button(t["comment_send"], elem_id="feedback-send",
                                             scale=1)
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
                export_button = gr.Button(t["export"], elem_id="export", size="sm")
                files = gr.File(label=t["export_files"], visible=False, elem_id="export-files",
                                file_count="multiple", interactive=False)
            with gr.Tab(t["tab_topics"], id="topics", elem_id="tab-topics"):
                gr.HTML(topics_html(rule_cards(assistant.retriever)), elem_id="topics")
            with gr.Tab(t["tab_quiz"], id="quiz", elem_id="tab-quiz"):
                first_question = quiz(scenarios(assistant.retriever))
            with gr.Tab(t["tab_documents"], id="documents", elem_id="tab-documents"):
                table = gr.Dataframe(documents_table(assistant), headers=t["document_columns"],
                                     interactive=False, elem_id="documents", wrap=True)
                # Upload changes what every user is answered from: only behind a login.
                upload = gr.File(label=t["upload_label"].format(
                                     mb=assistant.settings.max_upload_mb), elem_id="upload",
                                 file_types=list(SUPPORTED), visible=bool(assistant.settings.auth))
                uploaded = gr.Markdown(elem_id="upload-result")

        outputs = [chat, box, notice, *alternatives, answers]
        for trigger, source, name in [(send.click, box, "respond"), (box.submit, box, False)]:
            trigger(respond, [source, chat, answers], outputs, api_name=name).then(
                lambda h: h, chat, saved, api_name=False).then(
                None, None, None, js=SCROLL_TO_ANSWER, api_name=False)
        for button in [*alternatives, *examples]:
            button.click(respond, [button, chat, answers], outputs, api_name=False).then(
                lambda h: h, chat, saved, api_name=False).then(
                None, None, None, js=SCROLL_TO_ANSWER, api_name=False)
        box.input(None, box, None, js=count_js, api_name=False)
        chat.like(rate, chat, [rated, comment_row, thanks], api_name=False)
        comment_send.click(add_comment, [rated, comment], [comment_row, comment, thanks],
                           api_name=False)
        clear.click(lambda: ([], [], [], "", gr.update(visible=False),
                             *_alternative_buttons(None), gr.update(value=None, visible=False)),
                    None, [chat, saved, answers, box, notice, *alternatives, files],
                    api_name=False)
        export_button.click(export, answers, files, api_name=False)
        upload.upload(add_document, upload, [table, uploaded], api_name=False)
        present.change(None, present, None, js=PRESENT, api_name=False)
        app.load(lambda history: history or [], saved, chat, api_name=False)
        app.load(*first_question, api_name=False)
        gr.api(answer_api, api_name="answer")
    return app


def launch(settings: Settings | None = None, **kwargs: Any) -> None:
    settings = settings or Settings.from_env()
    assistant = Assistant(settings)
    _ = assistant.retriever  # index and load before the first visitor arrives
    auth = tuple(settings.auth.split(":", 1)) if settings.auth else None
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print(f"warning: serving on {settings.host} without a login: anyone on the network "
              "can use the app; set --auth user:password", file=sys.stderr)
    build_app(assistant).queue().launch(
        server_name=settings.host, server_port=settings.port, auth=auth, **launch_options(),
        **kwargs)
