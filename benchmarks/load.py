"""Load test: concurrent users ask the served app through gradio_client's `/answer` endpoint,
or with `--via openai` through its OpenAI-compatible endpoint `/v1` with the `openai` client.

Run with `make load` (or `.venv/bin/python benchmarks/load.py`). It starts `netralitas serve`
on a free loopback port with the project's index, lets N users (default 50) ask Q questions
each (default 10) at the same time, one after another per user, and prints users, requests,
failures, median, p95 and max latency. The questions are the dev split's (train and
validation in eval/splits.yaml), never the test split's. `--busy` keeps one core busy with
another process (`yes`) during the run. `--hung-llm S` points the server at a stub LLM server
on loopback that answers only after S seconds, so every answer waits for `llm_timeout` and
falls back: the users should still be served side by side, not one after another. `--warm`
first asks the dev questions that the measured users will not ask, unmeasured: a server that
has been up a while, which has embedded the sentences of the documents it quotes.
Everything is bounded: the users stop at `--deadline` seconds and the server is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # the stub LLM server, tests/llm_stub.py

from tests.llm_stub import StubLLM  # noqa: E402


def dev_questions() -> list[str]:
    """The train and validation questions, in file order."""
    splits = yaml.safe_load((ROOT / "eval" / "splits.yaml").read_text(encoding="utf-8"))
    files = [ROOT / "eval" / name for name in splits["train"] + splits["validation"]]
    return [q["question"] for f in files for q in yaml.safe_load(f.read_text(encoding="utf-8"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, env: dict[str, str], log: IO[bytes], wait: float = 180.0
          ) -> subprocess.Popen[bytes]:
    """`netralitas serve` on the port, once it answers HTTP; its messages go to ``log``, a
    file, which never fills up and blocks the server as a pipe would."""
    server = subprocess.Popen([str(BIN / "netralitas"), "serve", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=log)
    start = time.monotonic()
    while time.monotonic() - start < wait:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the server stopped: {log.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit(f"the server did not answer within {wait:.0f} s")


def connect(url: str, via: str) -> Callable[[str], str]:
    """One user's way of asking: the app's ``/answer`` through gradio_client, or the
    OpenAI-compatible endpoint through the official ``openai`` client; gives the answer's
    text."""
    if via == "openai":
        from openai import OpenAI

        client = OpenAI(base_url=f"{url}v1", api_key="none", max_retries=0, timeout=600)
        return lambda q: str(client.chat.completions.create(
            model="tanya-netralitas", messages=[{"role": "user", "content": q}],
        ).choices[0].message.content or "")
    from gradio_client import Client

    # Plain HTTP on loopback verifies nothing; by default gradio_client loads the certificate
    # store for every request: 40 to 80 ms more CPU per question here, on the cores the
    # server needs.
    app = Client(url, verbose=False, ssl_verify=False)
    return lambda q: str(app.predict(q, [], api_name="/answer").get("text") or "")


def run_users(url: str, users: int, questions: list[str], per_user: int,
              deadline: float, via: str = "gradio") -> tuple[list[float], list[str], float]:
    """Each user connects, then all ask at once, each waiting for an answer before asking
    the next; returns the latencies (s), the failures and the seconds from the first
    question to the last answer."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    started, stop_at = [0.0], [0.0]

    def go() -> None:  # runs once, as all users are connected, before any of them asks
        started[0] = time.monotonic()
        stop_at[0] = started[0] + deadline

    ready = threading.Barrier(users + 1, action=go)

    def user(u: int) -> None:
        try:
            client: Callable[[str], str] | None = connect(url, via)
        except Exception as exc:
            with lock:
                failures.extend([f"connect: {exc!r}"] * per_user)
            client = None
        ready.wait()
        for i in range(per_user if client else 0):
            if time.monotonic() > stop_at[0]:
                with lock:
                    failures.append("not asked before the deadline")
                continue
            question = questions[(u * per_user + i) % len(questions)]
            start = time.perf_counter()
            try:
                error = "" if client(question) else "no answer text"
            except Exception as exc:
                error = repr(exc)[:300]
            with lock:
                if error:
                    failures.append(error)
                else:
                    latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=user, args=(u,), daemon=True) for u in range(users)]
    for t in threads:
        t.start()
    ready.wait()
    for t in threads:
        t.join(max(0.0, stop_at[0] + 60 - time.monotonic()))
    if any(t.is_alive() for t in threads):
        failures.append("users still waiting 60 s after the deadline")
    return latencies, failures, time.monotonic() - started[0]


def peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(args: argparse.Namespace, env: dict[str, str], log: IO[bytes],
            peak: list[float]) -> tuple[list[float], list[str], float]:
    """Serve, (warm,) run the users, stop everything started; the server's peak memory is
    appended to ``peak``."""
    port = free_port()
    server = serve(port, env, log)
    busy = None
    try:
        if args.busy:
            busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
        url, questions = f"http://127.0.0.1:{port}/", dev_questions()
        asked = args.users * args.questions
        if args.warm and asked < len(questions):
            rest = questions[asked:]
            run_users(url, 4, rest, -(-len(rest) // 4), args.deadline, args.via)
        return run_users(url, args.users, questions[:asked], args.questions, args.deadline,
                         args.via)
    finally:
        if busy:
            busy.kill()
            busy.wait()
        peak.append(peak_mb(server.pid))
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=10, help="questions per user")
    parser.add_argument("--via", choices=["gradio", "openai"], default="gradio",
                        help="ask the app's /answer (gradio_client) or its OpenAI-compatible "
                        "endpoint /v1 (openai client)")
    parser.add_argument("--busy", action="store_true",
                        help="keep one core busy with another process during the run")
    parser.add_argument("--hung-llm", type=float, default=0.0, metavar="S",
                        help="an LLM server that answers after S seconds (llm_timeout applies)")
    parser.add_argument("--llm-timeout", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, help="NETRALITAS_CONCURRENCY for the server")
    parser.add_argument("--threads", type=int, help="NETRALITAS_EMBEDDING_THREADS for the server")
    parser.add_argument("--warm", action="store_true",
                        help="first ask the other dev questions, unmeasured")
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="seconds after which no new question is asked")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    # A stub that holds every request --hung-llm seconds (or until closed), noting arrivals.
    stub = StubLLM(hang=args.hung_llm) if args.hung_llm else None
    if stub:
        env.update(NETRALITAS_LLM_PROVIDER="openai", NETRALITAS_LLM_BASE_URL=stub.url,
                   NETRALITAS_LLM_TIMEOUT=str(args.llm_timeout))
    if args.concurrency:
        env["NETRALITAS_CONCURRENCY"] = str(args.concurrency)
    if args.threads is not None:
        env["NETRALITAS_EMBEDDING_THREADS"] = str(args.threads)
    with tempfile.TemporaryFile() as log:
        peak: list[float] = []
        latencies, failures, wall = measure(args, env, log, peak)
    if stub:
        stub.close()

    ms = sorted(1000 * x for x in latencies)
    figures = {
        "users": args.users, "requests": len(ms) + len(failures), "failures": len(failures),
        "median_ms": statistics.median(ms) if ms else None,
        "p95_ms": ms[int(0.95 * (len(ms) - 1))] if ms else None,
        "max_ms": ms[-1] if ms else None, "wall_s": wall, "busy_core": args.busy,
        "server_peak_mb": peak[0] if peak else None,
        "warmed": args.warm, "via": args.via,
        "hung_llm_s": args.hung_llm,
        "llm_arrivals_spread_s": max(stub.arrivals) - min(stub.arrivals)
        if stub and stub.arrivals else None,
    }
    label = ", through the OpenAI-compatible endpoint" if args.via == "openai" else ""
    label += ", one core busy" if args.busy else ""
    label += ", warmed" if args.warm else ""
    label += f", LLM server hung {args.hung_llm:g} s (llm_timeout {args.llm_timeout:g} s)" \
        if stub else ", no LLM"
    print(f"{args.users} users x {args.questions} questions{label}: "
          f"{figures['requests']} requests, {len(failures)} failed, in {wall:.1f} s; "
          f"server peak memory {figures['server_peak_mb']:.0f} MB")
    if ms:
        print(f"latency: median {figures['median_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
              f"max {figures['max_ms']:.0f} ms")
    if stub and stub.arrivals:
        print(f"the LLM server received {len(stub.arrivals)} requests within "
              f"{figures['llm_arrivals_spread_s']:.1f} s of each other")
    for reason in sorted(set(failures))[:5]:
        print(f"failure ({failures.count(reason)}x): {reason}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
