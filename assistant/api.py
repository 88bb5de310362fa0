"""An OpenAI-compatible HTTP endpoint of the assistant, so that any chat front-end or bot that
speaks that protocol (Open WebUI, LibreChat, a WhatsApp gateway) can use it as a "model".

``GET /v1/models`` lists one model, ``tanya-netralitas``; ``POST /v1/chat/completions`` takes
the last user message as the question and the user and assistant turns before it as the
history. The reply's content is ``Answer.text`` (the answer with its numbered sources, which a
plain chat window shows as they are); two extra top-level fields carry the structured data
for bots: ``citations`` and ``answer`` (``Answer.to_dict()``).

Streaming sends only checked text: a client cannot take back words it was sent, and the
LLM's words are only a preview that the checks may replace (a reply contradicting the
sources' verdict must never reach a reader). So a streamed completion consumes
``ask_stream`` to the final ``Answer``, ignoring the preview, and then sends ``Answer.text``
in pieces (words with their whitespace).

Serving code: the library never imports it, and it does not import Gradio (``netralitas
api`` serves it alone; the app serves it beside itself on its own port, see ui.py).
With ``settings.auth`` set, every request needs the app's login as its API key
(``Authorization: Bearer user:password``) or as HTTP Basic.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.answer import Answer, InvalidQuestion
from assistant.chat import Assistant
from assistant.settings import Settings
from assistant.store import StoreError, start_check
from assistant.text import turn_text

log = logging.getLogger(__name__)
MODEL_ID = "tanya-netralitas"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Refusal(Exception):
    """An OpenAI-style error response, raised anywhere in a request's handling."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = (status, message, param,
                                                                       code, kind)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param,
                          "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": f'Bearer realm="{MODEL_ID}"'} if self.status == 401 \
            else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def _check_auth(settings: Settings, request: Request) -> None:
    """The app's login, as a bearer key (what OpenAI clients send as ``api_key``) or as
    HTTP Basic; compared in constant time."""
    if not settings.auth:
        return
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    given: str | None = None
    if scheme.lower() == "bearer":
        given = value
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            given = None
    if not given:
        raise _Refusal(401, "Missing API key: send the login user:password as the API key "
                       "(Authorization: Bearer user:password)", code="invalid_api_key")
    if not secrets.compare_digest(given.encode("utf-8"), settings.auth.encode("utf-8")):
        raise _Refusal(401, "Incorrect API key: it is the app's login, user:password",
                       code="invalid_api_key")


def _model_card(created: int) -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": created, "owned_by": MODEL_ID}


def _conversation(body: Any) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the history (the user and assistant turns
    before it; system and tool messages are not the reader's words)."""
    if not isinstance(body, dict):
        raise _Refusal(400, "The request body must be a JSON object")
    model = body.get("model") or MODEL_ID
    if model != MODEL_ID:
        raise _Refusal(404, f"The model `{model}` does not exist; this server has "
                       f"`{MODEL_ID}`", param="model", code="model_not_found")
    turns = body.get("messages")
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise _Refusal(400, "`messages` must be a list of messages")
    users = [i for i, t in enumerate(turns) if t.get("role") == "user"]
    if not users:
        raise _Refusal(400, "No user message: the last user message is the question")
    last = users[-1]
    history = [{"role": t["role"], "content": turn_text(t.get("content"))}
               for t in turns[:last] if t.get("role") in ("user", "assistant")]
    return turn_text(turns[last].get("content")), history


def _words(*texts: str) -> int:
    return sum(len(t.split()) for t in texts)


def _pieces(text: str) -> list[str]:
    """The text in words with their following whitespace; joined, exactly the text."""
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


class _Completion:
    """One completion's envelope: the same id, time and model on every chunk."""

    def __init__(self, question: str, history: list[dict[str, str]]) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.prompt_words = _words(question, *(t["content"] for t in history))

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": MODEL_ID,
                "system_fingerprint": None}

    def usage(self, answer: Answer) -> dict[str, int]:
        """Rough counts (words, not tokens): nothing is metered, but clients expect it."""
        done = _words(answer.text)
        return {"prompt_tokens": self.prompt_words, "completion_tokens": done,
                "total_tokens": self.prompt_words + done}

    def whole(self, answer: Answer) -> dict[str, Any]:
        data = answer.to_dict()
        return {**self.head("chat.completion"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text,
                                                     "refusal": None},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": self.usage(answer), "citations": data["citations"], "answer": data}

    def chunk(self, delta: dict[str, Any], finish: str | None = None,
              **extra: Any) -> str:
        data = {**self.head("chat.completion.chunk"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                             "logprobs": None}], **extra}
        return _event(data)


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _last(first: str | Answer, rest: Iterator[str | Answer]) -> Answer:
    """The checked answer at the end; the LLM's preview on the way is dropped, since the
    checks may replace it. Blocking."""
    answer = first
    for item in rest:
        answer = item
    if not isinstance(answer, Answer):
        raise RuntimeError("the assistant gave no answer")
    return answer


async def _stream(completion: _Completion, first: str | Answer, rest: Iterator[str | Answer],
                  include_usage: bool, limiter: anyio.CapacityLimiter) -> AsyncIterator[str]:
    """The SSE events of a streamed completion: the role at once, the checked text once it
    is decided (waited for in a worker thread, so the event loop never blocks)."""
    yield completion.chunk({"role": "assistant", "content": ""})
    try:
        answer = await anyio.to_thread.run_sync(_last, first, rest, limiter=limiter)
    except Exception as exc:  # the stream has begun: an error event, as OpenAI sends one
        log.exception("answering failed mid-stream")
        message = str(exc) if isinstance(exc, StoreError) else "The answer failed"
        yield _event(_Refusal(500, message, kind="server_error").body())
        return
    for piece in _pieces(answer.text):
        yield completion.chunk({"content": piece})
    data = answer.to_dict()
    yield completion.chunk({}, "stop", citations=data["citations"], answer=data)
    if include_usage:
        yield _event({**completion.head("chat.completion.chunk"), "choices": [],
                      "usage": completion.usage(answer)})
    yield "data: [DONE]\n\n"


def _start(assistant: Assistant, question: str, history: list[dict[str, str]]
           ) -> tuple[str | Answer, Iterator[str | Answer]]:
    """The answer's first item (the final Answer without an LLM, else the LLM's first
    piece) and the rest; blocking, so run in a thread. Raises ``InvalidQuestion`` here,
    before any byte is sent, so that a bad question is a 400, not a broken stream."""
    items = assistant.ask_stream(question, history)
    return next(items), items


def router(assistant: Assistant) -> APIRouter:
    """The /v1 routes over an assistant, to include in any FastAPI app. Answers run in
    worker threads, at most ``settings.concurrency`` at once (as in the app); more wait."""
    api = APIRouter(prefix="/v1")
    created = int(time.time())
    limiter = anyio.CapacityLimiter(assistant.settings.concurrency)

    @api.get("/models")
    async def models(request: Request) -> JSONResponse:
        try:
            _check_auth(assistant.settings, request)
        except _Refusal as refusal:
            return refusal.response()
        return JSONResponse({"object": "list", "data": [_model_card(created)]})

    @api.get("/models/{model}")
    async def model(model: str, request: Request) -> JSONResponse:
        try:
            _check_auth(assistant.settings, request)
            if model != MODEL_ID:
                raise _Refusal(404, f"The model `{model}` does not exist", param="model",
                               code="model_not_found")
        except _Refusal as refusal:
            return refusal.response()
        return JSONResponse(_model_card(created))

    @api.post("/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        try:
            _check_auth(assistant.settings, request)
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise _Refusal(400, "The request body is not valid JSON") from None
            question, history = _conversation(body)
            completion = _Completion(question, history)
            try:
                if body.get("stream"):
                    first, rest = await anyio.to_thread.run_sync(
                        _start, assistant, question, history, limiter=limiter)
                else:
                    answer = await anyio.to_thread.run_sync(
                        assistant.ask, question, history, limiter=limiter)
            except InvalidQuestion as exc:
                raise _Refusal(400, str(exc)) from None
            except StoreError as exc:
                raise _Refusal(503, str(exc), kind="server_error") from None
        except _Refusal as refusal:
            return refusal.response()
        if not body.get("stream"):
            return JSONResponse(completion.whole(answer))
        options = body.get("stream_options")
        usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return StreamingResponse(
            _stream(completion, first, rest, usage, limiter), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api


def create_app(assistant: Assistant) -> FastAPI:
    """The endpoint alone (``netralitas api``); OpenAI's API is its documentation."""
    app = FastAPI(title="Tanya Netralitas", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router(assistant))
    return app


def ready(settings: Settings, serving: str) -> Assistant:
    """The assistant loaded before the first request (the app's and the endpoint's): never
    served on a store that cannot be read (its message, exit status 1), and a warning when
    it is served off loopback without a login."""
    start_check(settings)  # in a child process while the model loads
    try:
        assistant = Assistant(settings)
        _ = assistant.retriever  # index and load before the first request arrives
    except StoreError as exc:  # never serve half-broken: say why and how to fix it
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    if settings.host not in LOOPBACK and not settings.auth:
        print(f"warning: serving on {settings.host} without a login: anyone on the network "
              f"can use the {serving}; set --auth user:password", file=sys.stderr)
    return assistant


def serve(settings: Settings) -> None:
    """Serve the endpoint alone with uvicorn on settings.host:port."""
    import uvicorn

    assistant = ready(settings, "API")
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"OpenAI-compatible endpoint: http://{host}:{settings.port}/v1 (model {MODEL_ID})",
          flush=True)
    uvicorn.run(create_app(assistant), host=settings.host, port=settings.port)
