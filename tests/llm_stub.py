"""A loopback stub LLM server for tests and benchmarks: standard library only.

It speaks the OpenAI chat API (``GET /v1/models``, ``POST /v1/chat/completions``, plain or
streamed as Server-Sent Events) and Ollama's (``POST /api/chat``, NDJSON or one object;
``/api/tags``, ``/api/show``, ``/api/version`` for clients that look a model up first), so
the project's LLM code runs against a server whose replies are known in advance.

What it replies depends on the request's ``model`` (so the ``llm_model`` setting picks it; a
``:tag`` is ignored and unknown names behave as ``stub``):

- a condensing request (the last user message holds ``Last question:``, as
  assistant/prompts/llm_condense_user.txt writes it): the last earlier question and the last
  question joined by one space, whatever the model, except that the failure modes
  (``stub-fail``, ``stub-slow``, ``stub-midstream``, ``hang``, ``gather``) still apply;
- a phrasing request (a system message holds ``Draft answer:\\n``, as
  assistant/prompts/llm_system.txt ends): the draft, or the constructor's ``reply`` if
  given, with its sources block (from a line ``Sumber:`` or ``Sources:`` on) cut, then:

  ``stub``             as is: a faithful rewording that keeps the verdict and the [n] markers;
  ``stub-invalid``     every [n] replaced by [97]: no valid citation left;
  ``stub-extra``       `` [99]``, a made-up marker, appended to the first line;
  ``stub-contradict``  the first sentence replaced by the opposite verdict: one starting
                       with "Tidak" becomes "Boleh.", with "No"/"Not" "Yes, allowed.", with
                       "Yes"/"Allowed" "Not allowed.", anything else "Tidak boleh.";
  ``stub-fail``        HTTP 500 with an error JSON (OpenAI's shape, or Ollama's ``error``);
  ``stub-slow``        ``slow`` seconds before the first byte, then as ``stub``;
  ``stub-midstream``   a stream cut after its first pieces (no final chunk, no [DONE]), a
                       plain reply cut halfway through its JSON body: the client must fail;

- any other request: ``reply`` if given, else the last user message, echoed.

Run as a script (``python tests/llm_stub.py --port 0 --hang 60``) it prints its OpenAI URL,
then its Ollama URL, and serves until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = ("stub", "stub-invalid", "stub-extra", "stub-contradict", "stub-fail", "stub-slow",
          "stub-midstream")
DRAFT = "Draft answer:\n"


def pieces(text: str) -> list[str]:
    """The reply in small pieces (words with their following whitespace), so a streaming
    client sees several chunks."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def text_of(content: Any) -> str:
    """A message's text, whether a string or OpenAI's list of content parts."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def without_sources(draft: str) -> str:
    """The draft up to a line that is exactly "Sumber:" or "Sources:", stripped."""
    lines = draft.splitlines()
    for i, line in enumerate(lines):
        if line.strip() in ("Sumber:", "Sources:"):
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def contradict(text: str) -> str:
    """The text with its first sentence replaced by the opposite verdict (see the module
    docstring); the sentence ends where assistant.llm.stated_verdict ends it."""
    text = text.strip()
    end = re.search(r"(?<=[.!?])\s|\n", text)
    first, rest = (text[:end.start()], text[end.start():]) if end else (text, "")
    word = re.match(r"\W*(\w*)", first).group(1).lower()  # type: ignore[union-attr]
    opposite = {"tidak": "Boleh.", "no": "Yes, allowed.", "not": "Yes, allowed.",
                "yes": "Not allowed.", "allowed": "Not allowed."}.get(word, "Tidak boleh.")
    return opposite + rest


def condensed(last_user: str) -> str | None:
    """The reply to a condensing request: the last earlier question and the last question
    joined by a space; None when the message is no condensing request."""
    found = re.search(r"Last question:[ \t]*(.*)", last_user, re.S)
    if not found:
        return None
    earlier = [line[2:].strip() for line in last_user[:found.start()].splitlines()
               if line.startswith("- ")]
    return " ".join([*earlier[-1:], found.group(1).strip()])


class StubLLM:
    """The stub server on 127.0.0.1, started at once in a daemon thread.

    ``gather=N`` holds each chat request until N are open at once (or ``patience`` seconds
    passed): proof that a client sends requests side by side. ``hang=S`` holds each chat
    request S seconds (or until ``close()``): a server that never answers in time.
    ``arrivals`` notes when each chat request came (``time.monotonic()``). ``slow`` is the delay of
    the ``stub-slow`` model; ``pace`` the seconds between streamed pieces (a model that
    writes at a reader's speed). ``reply`` replaces the draft as the text replies are made of.
    ``requests`` records every request (method, path, headers, json); ``most`` is the most
    chat requests ever open at once.
    """

    def __init__(self, *, reply: str | None = None, gather: int = 0, patience: float = 30.0,
                 hang: float = 0.0, slow: float = 30.0, pace: float = 0.0,
                 port: int = 0) -> None:
        self.reply, self.gather, self.patience = reply, gather, patience
        self.hang, self.slow, self.pace = hang, slow, pace
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.open = self.most = 0
        self.all_in = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.server = _Server(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.ollama_url = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.ollama_url}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)  # 0.05 s: a quick close()
        self._thread.start()

    def __enter__(self) -> StubLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving: held requests are let go, open connections are cut."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        self.all_in.set()
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def hold(self) -> None:
        """What ``gather`` and ``hang`` do to a chat request before it is answered."""
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.open += 1
            self.most = max(self.most, self.open)
            if self.gather and self.open >= self.gather:
                self.all_in.set()
        try:
            if self.gather:
                self.all_in.wait(self.patience)
            if self.hang:
                self.stopped.wait(self.hang)
        finally:
            with self.lock:
                self.open -= 1

    def answer(self, model: str, messages: list[dict[str, Any]]) -> str:
        """The reply text for a chat request (see the module docstring)."""
        users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        question = condensed(users[-1]) if users else None
        if question is not None:
            return question
        systems = [text_of(m.get("content")) for m in messages
                   if m.get("role") in ("system", "developer")]
        drafts = [s.rsplit(DRAFT, 1)[1] for s in systems if DRAFT in s]
        if not drafts:
            return self.reply if self.reply is not None else (users[-1] if users else "")
        text = without_sources(self.reply if self.reply is not None else drafts[-1])
        if model == "stub-invalid":
            return re.sub(r"\[\d+\]", "[97]", text)
        if model == "stub-extra":
            first, newline, rest = text.partition("\n")
            return f"{first} [99]{newline}{rest}"
        if model == "stub-contradict":
            return contradict(text)
        return text


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up (its timeout) is expected here."""


def _handler(stub: StubLLM) -> type[BaseHTTPRequestHandler]:
    """The request handler class, bound to ``stub``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked streams: a cut one is an error, not an end

        def setup(self) -> None:
            super().setup()
            with stub.lock:
                stub._connections.add(self.connection)

        def finish(self) -> None:
            with stub.lock:
                stub._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._record(None)
            models = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"}
                      for m in MODELS]
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": models})
            elif self.path == "/api/tags":
                self._json(200, {"models": [self._ollama_model(m) for m in MODELS]})
            elif self.path == "/api/version":
                self._json(200, {"version": "0.0.0-stub"})
            elif self.path == "/":
                self._send(200, b"Ollama is running", "text/plain")
            else:
                self._json(404, {"error": f"no such path: {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            self._record(body)
            if not isinstance(body, dict):
                self._json(400, {"error": "the body is no JSON object"})
                return
            if self.path == "/api/show":
                self._json(200, {"modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                                 "details": self._ollama_model(str(body.get("model")))["details"],
                                 "model_info": {}, "capabilities": ["completion"]})
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/api/chat"):
                self._json(404, {"error": f"no such path: {self.path}"})
                return
            # OSError: the client gave up (its timeout), so there is nothing to answer.
            with contextlib.suppress(OSError):
                self._chat(body)

        def _record(self, body: Any) -> None:
            with stub.lock:
                stub.requests.append({"method": self.command, "path": self.path,
                                      "headers": dict(self.headers), "json": body})

        def _chat(self, body: dict[str, Any]) -> None:
            ollama = self.path == "/api/chat"
            model = str(body.get("model") or "stub").split(":")[0]
            model = model if model in MODELS else "stub"
            stream = body.get("stream", ollama) is True  # Ollama streams unless told not to
            stub.hold()
            if model == "stub-slow":
                stub.stopped.wait(stub.slow)
            if model == "stub-fail":
                message = "stub-fail: the stub LLM server fails on purpose"
                error: Any = message if ollama else {
                    "message": message, "type": "server_error", "param": None,
                    "code": "stub_fail"}
                self._json(500, {"error": error})
                return
            text = stub.answer(model, body.get("messages") or [])
            cut = model == "stub-midstream"
            name = str(body.get("model") or "stub")
            if ollama:
                self._ollama(name, text, stream, cut, body)
            else:
                self._openai(name, text, stream, cut, body)

        def _openai(self, model: str, text: str, stream: bool, cut: bool,
                    body: dict[str, Any]) -> None:
            usage = {"prompt_tokens": _words(body), "completion_tokens": len(pieces(text)),
                     "total_tokens": _words(body) + len(pieces(text))}
            head = {"id": "chatcmpl-stub", "created": int(time.time()), "model": model}
            if not stream:
                reply = {**head, "object": "chat.completion", "usage": usage, "choices": [{
                    "index": 0, "finish_reason": "stop", "logprobs": None,
                    "message": {"role": "assistant", "content": text}}]}
                self._json(200, reply, cut=cut)
                return

            def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
                data = {**head, "object": "chat.completion.chunk", "choices": [{
                    "index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
                return f"data: {json.dumps(data)}\n\n".encode()

            events = [chunk({"role": "assistant", "content": ""})]
            events += [chunk({"content": p}) for p in pieces(text)]
            events.append(chunk({}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                data = {**head, "object": "chat.completion.chunk", "choices": [],
                        "usage": usage}
                events.append(f"data: {json.dumps(data)}\n\n".encode())
            events.append(b"data: [DONE]\n\n")
            self._stream("text/event-stream", events, cut)

        def _ollama(self, model: str, text: str, stream: bool, cut: bool,
                    body: dict[str, Any]) -> None:
            created = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            last = {"model": model, "created_at": created,
                    "message": {"role": "assistant", "content": "" if stream else text},
                    "done": True, "done_reason": "stop", "total_duration": 1_000_000,
                    "load_duration": 1_000, "prompt_eval_count": _words(body),
                    "prompt_eval_duration": 1_000, "eval_count": len(pieces(text)),
                    "eval_duration": 1_000}
            if not stream:
                self._json(200, last, cut=cut)
                return
            lines = [json.dumps({"model": model, "created_at": created, "message": {
                "role": "assistant", "content": p}, "done": False}).encode() + b"\n"
                for p in pieces(text)]
            self._stream("application/x-ndjson", [*lines, json.dumps(last).encode() + b"\n"],
                         cut)

        def _stream(self, kind: str, events: list[bytes], cut: bool) -> None:
            """Send ``events`` as chunks; ``cut``: only the first few, then hang up."""
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            # a cut stream: the role chunk (OpenAI) and about half the pieces.
            sent = events[:max(2, len(events) // 2)] if cut else events
            for event in sent:
                self.wfile.write(f"{len(event):X}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
                stub.stopped.wait(stub.pace)
            if cut:
                self._hang_up()
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _json(self, status: int, data: Any, cut: bool = False) -> None:
            self._send(status, json.dumps(data).encode(), "application/json", cut)

        def _send(self, status: int, payload: bytes, kind: str, cut: bool = False) -> None:
            """One response; ``cut``: its Content-Length promises the whole body, but only
            half of it is sent before hanging up."""
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[:len(payload) // 2] if cut else payload)
            self.wfile.flush()
            if cut:
                self._hang_up()

        def _hang_up(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        @staticmethod
        def _ollama_model(name: str) -> dict[str, Any]:
            return {"name": name, "model": name, "modified_at": "2024-01-01T00:00:00Z",
                    "size": 0, "digest": "0" * 64, "details": {
                        "format": "gguf", "family": "stub", "families": ["stub"],
                        "parameter_size": "0B", "quantization_level": "none"}}

    return Handler


def _words(body: dict[str, Any]) -> int:
    """A stand-in for the prompt's token count: its words."""
    return sum(len(text_of(m.get("content")).split()) for m in body.get("messages") or [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--hang", type=float, default=0.0, metavar="S",
                        help="hold every chat request S seconds")
    parser.add_argument("--gather", type=int, default=0, metavar="N",
                        help="hold chat requests until N are open at once")
    parser.add_argument("--patience", type=float, default=30.0)
    parser.add_argument("--slow", type=float, default=30.0, help="delay of stub-slow (s)")
    parser.add_argument("--reply", help="a fixed reply text")
    args = parser.parse_args()
    stub = StubLLM(reply=args.reply, gather=args.gather, patience=args.patience,
                   hang=args.hang, slow=args.slow, port=args.port)
    print(stub.url, flush=True)
    print(stub.ollama_url, flush=True)
    try:
        stub._thread.join()
    except KeyboardInterrupt:
        stub.close()


if __name__ == "__main__":
    main()
