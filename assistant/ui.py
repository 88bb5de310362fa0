"""The Gradio app. For a civil servant on a phone: each answer opens with its verdict badge
and carries its sources as chips that open the quoted passage; the conversation survives a
reload; feedback in one tap. For a trainer: every rule card by topic, a quiz, a presentation
view and an export of the session. Indonesian, with an English switch.

UI code only: it calls the library (``Assistant``, ``topics``, ``export``, ``feedback``) and
nothing in the library imports this module. What the app says is in ``prompts/ui.yaml``,
its look in ``prompts/ui.css``.
"""

from __future__ import annotations

import html
import itertools
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
import yaml

from assistant.answer import Answer, Citation, InvalidQuestion
from assistant.chat import Assistant
from assistant.compose import messages, without_sources
from assistant.documents import SUPPORTED, DocumentError
from assistant.export import answer_markdown, session_html, session_markdown
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.text import normalise, turn_text
from assistant.topics import Card, Scenario, rule_cards, scenarios

LANGUAGES = [("Bahasa Indonesia", "id"), ("English", "en")]
MAX_ALTERNATIVES = 3
VERDICTS = ("boleh", "bersyarat", "tidak_boleh")
STORAGE_KEY = "tanya-netralitas-chat"  # where the browser keeps the conversation
LANGUAGE_KEY = "tanya-netralitas-lang"
ANSWERS_KEY = "tanya-netralitas-answers"  # the session's answers as data, for the export
_CITE = re.compile(r"\[(\d+)\]")
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
  const rows = document.querySelectorAll('#chat .message-row.bot-row');
  const last = rows[rows.length - 1];
  const wrap = document.querySelector('#chat .bubble-wrap');
  if (!last || !wrap) return;
  wrap.scrollTop += last.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
  const top = document.querySelector('#chat').getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight / 2) window.scrollBy(0, top - 8);
}"""
# An LLM's words streaming in: their start is shown once, when the preview first appears
# (the chat does not follow the words down, so the reader can read along).
SHOW_PREVIEW = f"""() => setTimeout(() => {{
  const rows = document.querySelectorAll('#chat .message-row.bot-row');
  const last = rows[rows.length - 1];
  if (!last || !last.querySelector('.preview') || window.previewShown === rows.length) return;
  window.previewShown = rows.length;
  ({SCROLL_TO_ANSWER})();
}}, 50)"""
# The length counter follows the typing in the browser, without a round trip.
COUNT = """(v) => {
  const el = document.querySelector('#counter-n');
  if (el) el.textContent = v.length;
}"""
# The copy button puts the last answer, as Markdown with its sources, on the clipboard.
COPY = "(text) => { if (text) navigator.clipboard.writeText(text); }"
# Once the stored conversation and language are back, the controls take input: a tap
# before that would be overwritten by the restore (seen on a slow, shared machine).
READY = "() => { document.body.classList.add('ready'); }"
# The presentation view: large type and high contrast for a projector.
PRESENT = "(on) => { document.body.classList.toggle('present', on); }"


@lru_cache(maxsize=2)
def texts(lang: str = "id") -> dict[str, Any]:
    path = resources.files("assistant.prompts").joinpath("ui.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data.get(lang) or data["id"]


def launch_options() -> dict[str, Any]:
    """What every launch of the app passes: its style, its script, and no Gradio footer
    (API and settings links in English beside an Indonesian interface)."""
    css = resources.files("assistant.prompts").joinpath("ui.css").read_text(encoding="utf-8")
    return {"css": css, "footer_links": [], "js": OPEN_CITATION}


# --------------------------------------------------------------------------------------------
# Answers as chat turns (in the answer's own language)
# --------------------------------------------------------------------------------------------


def badge_label(key: str | None, lang: str) -> str:
    """A verdict's label as the answers word it (messages.yaml), and the app's own for a
    question asked back."""
    if key == "clarify":
        return str(texts(lang)["clarify_badge"])
    return str(messages()[lang]["verdict_label"].get(key or "", ""))


def _badge(key: str | None, lang: str) -> str:
    label = badge_label(key, lang)
    return f'<span class="verdict verdict-{key}">{html.escape(label)}</span>' if label else ""


def _in_context(quote: str, passage: str, width: int = 350) -> str:
    """The quote highlighted inside its passage, cut to about ``width`` characters either
    side; the quote alone when the passage does not hold it word for word."""
    at = passage.find(quote) if quote else -1
    if at < 0:
        return f"<mark>{html.escape(quote)}</mark>"
    start, end = max(0, at - width), min(len(passage), at + len(quote) + width)
    before = ("…" if start else "") + passage[start:at]
    after = passage[at + len(quote):end] + ("…" if end < len(passage) else "")
    return f"{html.escape(before)}<mark>{html.escape(quote)}</mark>{html.escape(after)}"


def _chip(c: Citation, lang: str, passage: str = "") -> str:
    t = texts(lang)
    kind = t["types"].get(c.type, c.type)
    dated = t["dated"].get(c.type, "{date}").format(date=c.date) if c.date else ""
    where = " · ".join(html.escape(x) for x in (kind, c.article, c.publisher, dated) if x)
    link = (f'<br><a href="{html.escape(c.url)}" target="_blank" rel="noopener noreferrer">'
            f'{t["source_link"]}</a>' if c.url else "")
    return (f'<details class="chip"><summary>[{c.n}] {html.escape(c.title)}</summary>'
            f'<div class="where">{where}</div>'
            f'<blockquote>{_in_context(c.quote, passage)}</blockquote>{link}</details>')


def chat_turn(answer: Answer, passage: Callable[[str], str] | None = None,
              asked: str = "") -> str:
    """The chat turn of an answer: badge, text with its [n] as links, one chip per source
    (its quote highlighted in the passage it comes from, given ``passage``). When the
    question answered is not the one ``asked`` (a follow-up an LLM rewrote), it says how it
    was read, so a wrong reading shows."""
    body = _CITE.sub(r'<a class="cite" href="#source-\1">[\1]</a>',
                     html.escape(without_sources(answer), quote=False))
    verdict = "clarify" if answer.outcome == "clarify" else answer.verdict
    read_as = texts(answer.language)["read_as"].format(question=answer.question) \
        if asked and normalise(asked) != answer.question else ""
    parts = [_badge(verdict, answer.language),
             f'<div class="read-as">{html.escape(read_as)}</div>' if read_as else "", body]
    if answer.citations:
        chips = "".join(_chip(c, answer.language, passage(c.chunk_id) if passage else "")
                        for c in answer.citations)
        parts.append(f'<div class="chips">{chips}</div>')
    return "\n\n".join(p for p in parts if p)


def _preview(text: str) -> str:
    """An LLM's words while they stream: plain text, marked as not yet checked."""
    return f'<div class="preview">{html.escape(text, quote=False)}</div>'


def _restored(data: Any) -> Answer | None:
    """An answer the browser kept, or None when what it kept is not one (an older version's,
    or edited by hand)."""
    try:
        return Answer.from_dict(data)
    except ValueError:
        return None


def _alternative_buttons(answer: Answer | None) -> list[Any]:
    alternatives = answer.alternatives if answer else []
    shown = [gr.update(value=a.question, visible=True) for a in alternatives[:MAX_ALTERNATIVES]]
    return shown + [gr.update(visible=False)] * (MAX_ALTERNATIVES - len(shown))


# --------------------------------------------------------------------------------------------
# Trainer views
# --------------------------------------------------------------------------------------------


def topics_html(cards: list[Card], lang: str = "id") -> str:
    """Every rule card by topic, each opening to its verdict, summary, basis and sanction."""
    t = texts(lang)
    parts, topic = [], None
    for card in cards:
        if card.topic != topic:
            topic = card.topic
            parts.append(f"<h3>{html.escape(topic.capitalize())}</h3>")
        sections = [("conditions", card.text("conditions", lang)),
                    ("basis", "; ".join(card.basis)), ("sanction", card.text("sanction", lang))]
        details = [f"<p>{html.escape(card.text('summary', lang))}</p>"] + [
            f"<p><b>{t[heading]}:</b> {html.escape(text)}</p>" for heading, text in sections
            if text]
        badge = f" {_badge(card.verdict, lang)}" if card.verdict else ""
        parts.append(f'<details class="card"><summary>{html.escape(card.title)}{badge}'
                     f'</summary>{"".join(details)}</details>')
    return "\n".join(parts)


class Quiz:
    """Scenarios drawn from the cards' ways of asking, in the interface's language: three
    answers to choose from, then the card's verdict with its basis, and a session score."""

    def __init__(self, pools: dict[str, list[Scenario]]) -> None:
        self.pools = pools
        self.rng = random.Random()

    def draw(self, state: dict[str, Any], lang: str) -> tuple[Any, ...]:
        t, pool = texts(lang), self.pools.get(lang) or []
        if not pool:
            return {**state, "i": None}, t["quiz_empty"], ""
        i = self.rng.randrange(len(pool))
        return ({**state, "i": i, "lang": lang, "answered": False},
                t["quiz_prompt"].format(question=pool[i].question), "")

    def pick(self, verdict: str, state: dict[str, Any]) -> tuple[Any, ...]:
        if state.get("i") is None or state.get("answered", True):
            return state, gr.update(), gr.update()
        lang = state.get("lang", "id")
        t, card = texts(lang), self.pools[lang][state["i"]].card
        right = verdict == card.verdict
        state = {**state, "answered": True, "right": state.get("right", 0) + right,
                 "asked": state.get("asked", 0) + 1}
        reveal = t["quiz_right" if right else "quiz_wrong"].format(
            verdict=badge_label(card.verdict, lang), title=card.title,
            summary=card.text("summary", lang), basis="; ".join(card.basis))
        return state, reveal, t["quiz_score"].format(right=state["right"], asked=state["asked"])


def documents_table(assistant: Assistant, lang: str = "id") -> list[list[Any]]:
    kinds = texts(lang)["types"]
    rows = sorted(assistant.retriever.documents(), key=lambda d: (d["type"], d["title"]))
    return [[d["title"], kinds.get(d["type"], d["type"]), d["date"], d["chunks"]] for d in rows]


def _counter(lang: str, n: int, limit: int) -> str:
    label = texts(lang)["counter"].format(n=f'<span id="counter-n">{n}</span>', limit=limit)
    return f'<div id="counter-text">{label}</div>'


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------


def build_app(assistant: Assistant) -> gr.Blocks:
    t = texts("id")
    settings = assistant.settings
    limit = settings.max_question_chars
    feedback = FeedbackStore(settings)
    cards = rule_cards(assistant.retriever)
    quiz = Quiz({lang: scenarios(assistant.retriever, lang) for _, lang in LANGUAGES})

    def respond(message: str, history: list[dict[str, Any]],
                answers: list[dict[str, Any]] | None) -> Iterator[tuple[Any, ...]]:
        """One question asked in the chat; a question the assistant refuses (empty, too
        long) leaves the conversation and the typed text as they are, with a notice. With an
        LLM its words show as they come, as plain text; the answer replaces them once checked,
        with its badge and sources. The session's answers are kept in the browser as data,
        so the export still holds them after a reload."""
        history = list(history or [])
        asked = [m for m in history if m.get("role") == "user"]
        stream = assistant.ask_stream(message, history=asked)
        try:
            first = next(stream)
        except InvalidQuestion as exc:
            yield (history, message, gr.update(value=str(exc), visible=True),
                   *[gr.update()] * MAX_ALTERNATIVES, answers or [], gr.update())
            return
        history.append({"role": "user", "content": message})
        preview, item = "", first
        for item in itertools.chain([first], stream):
            if isinstance(item, str):
                preview += item
                turn = {"role": "assistant", "content": _preview(preview)}
                yield ([*history, turn], "", gr.update(value="", visible=False),
                       *[gr.update()] * (MAX_ALTERNATIVES + 2))
        answer = item
        assert isinstance(answer, Answer)
        history.append({"role": "assistant",
                        "content": chat_turn(answer, assistant.retriever.passage, message)})
        yield (history, "", gr.update(value="", visible=False),
               *_alternative_buttons(answer), [*(answers or []), answer.to_dict()],
               answer_markdown(answer))

    def answer_api(question: str, history: list[str] | None = None) -> dict[str, Any]:
        """The structured answer (text, verdict, basis, sanction, citations, ...) as JSON;
        ``history`` holds the earlier questions of the conversation."""
        turns = [{"role": "user", "content": q} for q in history or []]
        try:
            return assistant.ask(question, history=turns).to_dict()
        except InvalidQuestion as exc:
            raise gr.Error(str(exc)) from exc

    def rate(history: list[dict[str, Any]], lang: str, data: gr.LikeData) -> tuple[Any, ...]:
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

    def add_comment(saved_id: int | None, comment: str, lang: str) -> tuple[Any, ...]:
        if saved_id is not None and comment.strip():
            feedback.comment(saved_id, comment.strip())
        return gr.update(visible=False), "", gr.update(value=texts(lang)["thanks"], visible=True)

    def export(stored: list[dict[str, Any]] | None) -> Any:
        """The session as Markdown and as a printable HTML handout."""
        if not stored:
            return gr.update(value=None, visible=False)
        answers = [a for a in map(_restored, stored) if a]
        folder = Path(tempfile.mkdtemp(prefix="netralitas-export-"))
        md, page = folder / "tanya-netralitas-sesi.md", folder / "tanya-netralitas-sesi.html"
        md.write_text(session_markdown(answers), encoding="utf-8")
        page.write_text(session_html(answers), encoding="utf-8")
        return gr.update(value=[str(md), str(page)], visible=True)

    def add_document(path: str | None, lang: str) -> tuple[Any, str]:
        words = texts(lang)
        if not settings.auth:
            return gr.update(), words["upload_refused"]  # never without a login
        if not path:
            return gr.update(), ""
        try:
            doc, report = assistant.add_document(Path(path))
        except (DocumentError, OSError) as exc:
            return gr.update(), words["upload_error"].format(error=exc)
        return documents_table(assistant, lang), words["upload_done"].format(
            title=doc.title, summary=report.summary())

    with gr.Blocks(title=t["title"]) as app:
        intro = gr.Markdown(f"# {t['title']}\n{t['intro']}", elem_id="intro")
        with gr.Row():
            lang = gr.Radio(LANGUAGES, value="id", show_label=False, elem_id="lang",
                            container=False, scale=1)
            present = gr.Checkbox(label=t["present"], elem_id="present", container=False,
                                  scale=2)
        saved = gr.BrowserState([], storage_key=STORAGE_KEY)
        saved_lang = gr.BrowserState("id", storage_key=LANGUAGE_KEY)
        answers = gr.BrowserState([], storage_key=ANSWERS_KEY)
        quiz_state = gr.State({"i": None, "answered": True, "right": 0, "asked": 0})
        with gr.Tabs():
            with gr.Tab(t["tab_ask"], id="ask", elem_id="tab-ask") as tab_ask:
                chat = gr.Chatbot(label=t["chat_label"], show_label=False, elem_id="chat",
                                  height="60vh", autoscroll=False, placeholder=t["start"],
                                  buttons=[])
                with gr.Row(elem_id="alternatives"):
                    alternatives = [gr.Button(visible=False, size="sm",
                                              elem_classes="alternative")
                                    for _ in range(MAX_ALTERNATIVES)]
                box = gr.Textbox(label=t["question_label"], placeholder=t["placeholder"],
                                 elem_id="question", max_lines=6)
                counter = gr.HTML(_counter("id", 0, limit), elem_id="counter")
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
                    copy = gr.Button(t["copy"], elem_id="copy")
                    clear = gr.Button(t["clear"], elem_id="clear")
                last_answer = gr.Textbox(visible=False)  # the last answer as Markdown, to copy
                with gr.Accordion(t["examples"], open=True, elem_id="examples") as accordion:
                    headings, examples = [], []
                    for topic in t["topics"]:
                        headings.append(gr.Markdown(f"**{topic['name']}**"))
                        with gr.Row():
                            examples += [gr.Button(q, size="sm", elem_classes="example")
                                         for q in topic["questions"]]
                export_button = gr.Button(t["export"], elem_id="export", size="sm")
                files = gr.File(label=t["export_files"], visible=False, elem_id="export-files",
                                file_count="multiple", interactive=False)
            with gr.Tab(t["tab_topics"], id="topics", elem_id="tab-topics") as tab_topics:
                topics = gr.HTML(topics_html(cards), elem_id="topics")
            with gr.Tab(t["tab_quiz"], id="quiz", elem_id="tab-quiz") as tab_quiz:
                question = gr.Markdown(elem_id="quiz-question")
                with gr.Row():
                    choices = {v: gr.Button(badge_label(v, "id"), elem_id=f"quiz-{v}")
                               for v in VERDICTS}
                result = gr.Markdown(elem_id="quiz-result")
                score = gr.Markdown(elem_id="quiz-score")
                following = gr.Button(t["quiz_next"], elem_id="quiz-next", variant="primary")
            with gr.Tab(t["tab_documents"], id="documents", elem_id="tab-documents") as tab_docs:
                table = gr.Dataframe(documents_table(assistant), headers=t["document_columns"],
                                     interactive=False, elem_id="documents", wrap=True)
                # Upload changes what every user is answered from: only behind a login.
                upload = gr.File(label=t["upload_label"].format(mb=settings.max_upload_mb),
                                 elem_id="upload", file_types=list(SUPPORTED),
                                 visible=bool(settings.auth))
                uploaded = gr.Markdown(elem_id="upload-result")

        def relabel(code: str, typed: str) -> dict[Any, Any]:
            """Every label of the interface in the chosen language."""
            w = texts(code)
            example_texts = [q for topic in w["topics"] for q in topic["questions"]]
            return {
                intro: f"# {w['title']}\n{w['intro']}", present: gr.update(label=w["present"]),
                tab_ask: gr.update(label=w["tab_ask"]),
                tab_topics: gr.update(label=w["tab_topics"]),
                tab_quiz: gr.update(label=w["tab_quiz"]),
                tab_docs: gr.update(label=w["tab_documents"]),
                chat: gr.update(placeholder=w["start"]),
                box: gr.update(label=w["question_label"], placeholder=w["placeholder"]),
                counter: _counter(code, len(typed or ""), limit),
                comment: gr.update(label=w["comment_label"], placeholder=w["comment_hint"]),
                comment_send: w["comment_send"], send: w["send"], copy: w["copy"],
                clear: w["clear"], accordion: gr.update(label=w["examples"]),
                **{h: f"**{topic['name']}**" for h, topic in zip(headings, w["topics"],
                                                                 strict=True)},
                **dict(zip(examples, example_texts, strict=True)),
                export_button: w["export"], files: gr.update(label=w["export_files"]),
                topics: topics_html(cards, code),
                **{choices[v]: badge_label(v, code) for v in VERDICTS},
                following: w["quiz_next"],
                table: gr.update(value=documents_table(assistant, code),
                                 headers=w["document_columns"]),
                upload: gr.update(label=w["upload_label"].format(mb=settings.max_upload_mb)),
                saved_lang: code,
            }

        outputs = [chat, box, notice, *alternatives, answers, last_answer]
        # Typed, or a tapped example or alternative: answered, stored in the browser, shown
        # from its start.
        asking = [(send.click, box, "respond"), (box.submit, box, False),
                  *[(b.click, b, False) for b in [*alternatives, *examples]]]
        # Answers run side by side, up to settings.concurrency at once, in one pool shared
        # with /answer: a slow LLM server holds up only its own users (README, "Robustness").
        answering = {"concurrency_limit": settings.concurrency, "concurrency_id": "answer"}
        for trigger, source, name in asking:
            trigger(respond, [source, chat, answers], outputs, api_name=name,
                    **answering).then(
                lambda h: h, chat, saved, api_name=False).then(
                None, None, None, js=SCROLL_TO_ANSWER, api_name=False)
        box.input(None, box, None, js=COUNT, api_name=False)
        chat.change(None, None, None, js=SHOW_PREVIEW, api_name=False, show_progress="hidden")
        chat.like(rate, [chat, lang], [rated, comment_row, thanks], api_name=False)
        comment_send.click(add_comment, [rated, comment, lang], [comment_row, comment, thanks],
                           api_name=False)
        clear.click(lambda: ([], [], [], "", gr.update(visible=False),
                             *_alternative_buttons(None), gr.update(value=None, visible=False),
                             ""),
                    None, [chat, saved, answers, box, notice, *alternatives, files, last_answer],
                    api_name=False)
        export_button.click(export, answers, files, api_name=False)
        copy.click(None, last_answer, None, js=COPY, api_name=False)
        upload.upload(add_document, [upload, lang], [table, uploaded], api_name=False)
        present.change(None, present, None, js=PRESENT, api_name=False)
        for verdict, button in choices.items():
            button.click(lambda s, v=verdict: quiz.pick(v, s), quiz_state,
                         [quiz_state, result, score], api_name=False)
        following.click(quiz.draw, [quiz_state, lang], [quiz_state, question, result],
                        api_name=False)
        quiet = {"api_name": False, "show_progress": "hidden"}  # no spinners over the labels
        labelled = list(relabel("id", ""))  # the components it updates (a few ms, once)
        # The relabelled counter holds the length the server saw; what was typed meanwhile is
        # counted again in the browser.
        lang.input(relabel, [lang, box], labelled, **quiet).then(
            None, box, None, js=COUNT, api_name=False).then(
            quiz.draw, [quiz_state, lang], [quiz_state, question, result], **quiet)
        app.load(lambda history, code: (history or [], code or "id"), [saved, saved_lang],
                 [chat, lang], **quiet).then(
            relabel, [lang, box], labelled, **quiet).then(
            None, box, None, js=COUNT, api_name=False).then(
            None, None, None, js=READY, api_name=False).then(
            quiz.draw, [quiz_state, lang], [quiz_state, question, result], **quiet)
        gr.api(answer_api, api_name="answer", **answering)
    return app


def launch(settings: Settings | None = None, **kwargs: Any) -> gr.Blocks:
    """Serve the app, and its OpenAI-compatible endpoint at /v1 on the same port; returns the
    app (to ``close()`` it when launched with ``prevent_thread_lock=True``)."""
    from assistant.api import ready, router

    settings = settings or Settings.from_env()
    assistant = ready(settings, "app")
    auth = tuple(settings.auth.split(":", 1)) if settings.auth else None
    # Gradio runs answers in its thread pool (40 by default): at least one per answer at once.
    kwargs.setdefault("max_threads", max(40, settings.concurrency + 8))
    # The OpenAI-compatible endpoint (api.py, behind the same login) on the same port: its
    # routes go into Gradio's FastAPI app as it is created, so they answer from the first
    # request on and launch blocks (or not) exactly as Gradio decides.
    app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
    app_kwargs["routes"] = [*app_kwargs.get("routes", []), *router(assistant).routes]
    blocks = build_app(assistant)
    blocks.queue().launch(
        server_name=settings.host, server_port=settings.port, auth=auth, **launch_options(),
        app_kwargs=app_kwargs, **kwargs)
    return blocks
