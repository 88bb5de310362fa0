"""The Gradio chat app: answers with their sources beside them.

UI code only: it calls the library through ``Assistant`` and nothing in the library
imports this module.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from assistant.answer import Answer, InvalidQuestion
from assistant.chat import Assistant
from assistant.settings import Settings

EXAMPLES = [
    "Bolehkah saya memberi like pada unggahan calon bupati?",
    "Berapa kasus pelanggaran netralitas ASN di Sumatera Selatan pada Pilkada 2020?",
    "Apa yang harus dijaga ASN di media sosial selama pemilu?",
    "May a civil servant attend a campaign rally?",
]
VERDICT_LABELS = {"boleh": "Boleh", "tidak_boleh": "Tidak boleh",
                  "bersyarat": "Boleh, dengan syarat"}


def sources_markdown(answer: Answer) -> str:
    """The passages an answer rests on, each with its quote and where it comes from."""
    if not answer.citations:
        return "_Belum ada sumber untuk ditampilkan._"
    parts = []
    if answer.verdict:
        parts.append(f"**Putusan: {VERDICT_LABELS.get(answer.verdict, answer.verdict)}**")
    for c in answer.citations:
        where = " · ".join(x for x in (c.article, c.publisher, c.date) if x)
        title = f"[{c.title}]({c.url})" if c.url else c.title
        parts.append(f"**[{c.n}] {title}**  \n{where}  \n> {c.quote}")
    return "\n\n".join(parts)


def build_app(assistant: Assistant) -> gr.Blocks:
    def respond(message: str, history: list[dict[str, Any]]) -> tuple[list, str, str]:
        history = list(history or [])
        try:
            answer = assistant.ask(message, history=history)
        except InvalidQuestion as exc:
            # Keep the user's text in the box so nothing typed is lost.
            return [*history, {"role": "assistant", "content": str(exc)}], message, ""
        history += [{"role": "user", "content": message},
                    {"role": "assistant", "content": answer.text}]
        return history, "", sources_markdown(answer)

    with gr.Blocks(title="Tanya Netralitas") as app:
        gr.Markdown(
            "# Tanya Netralitas\nTanya jawab aturan netralitas ASN (PNS, PPPK) dalam pemilu "
            "dan pilkada, dengan sumber untuk setiap jawaban. Berjalan sepenuhnya offline."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Percakapan", height=480, elem_id="chat")
                box = gr.Textbox(label="Pertanyaan", placeholder="Tulis pertanyaan Anda...",
                                 elem_id="question", max_lines=6)
                with gr.Row():
                    send = gr.Button("Kirim", variant="primary", elem_id="send")
                    clear = gr.Button("Hapus percakapan")
                gr.Examples(EXAMPLES, inputs=box)
            with gr.Column(scale=2):
                sources = gr.Markdown("_Sumber jawaban akan tampil di sini._",
                                      elem_id="sources", label="Sumber")
        send.click(respond, [box, chat], [chat, box, sources], api_name="respond")
        box.submit(respond, [box, chat], [chat, box, sources], api_name=False)
        clear.click(lambda: ([], "", ""), None, [chat, box, sources], api_name=False)
    return app


def launch(settings: Settings | None = None, **kwargs: Any) -> None:
    settings = settings or Settings.from_env()
    assistant = Assistant(settings)
    _ = assistant.retriever  # index and load before the first visitor arrives
    build_app(assistant).queue().launch(
        server_name=settings.host, server_port=settings.port, **kwargs
    )
