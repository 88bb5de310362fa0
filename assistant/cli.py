"""The ``netralitas`` command: index, ask, add, eval, calibrate, feedback, serve, api."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from assistant.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="netralitas", description="Tanya Netralitas: ASN election-neutrality assistant."
    )
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: ./corpus)")
    parser.add_argument("--index", type=Path, help="index folder (default: ./index)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_index = sub.add_parser("index", help="index new or changed documents, drop removed ones")
    p_index.add_argument("--rebuild", action="store_true",
                         help="delete the index and build it again from scratch")
    p_ask = sub.add_parser("ask", help="answer one question")
    p_ask.add_argument("question")
    p_ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    p_add = sub.add_parser("add", help="copy a document into the corpus and index it")
    p_add.add_argument("path", type=Path)
    p_add.add_argument("--folder", default="tambahan", help="sub-folder of the corpus "
                       "(not a trusted one: aturan, luar, peraturan, berita)")
    p_add.add_argument("--replace", action="store_true",
                       help="replace a document of the same name in that folder")
    p_eval = sub.add_parser("eval", help="measure answers on the evaluation splits")
    p_eval.add_argument("--split", nargs="*", default=["train", "validation"],
                        choices=["train", "validation", "test"],
                        help="splits of eval/splits.yaml (default: train and validation)")
    p_eval.add_argument("--eval-dir", type=Path, default=Path("eval"))
    p_eval.add_argument("--mode", choices=["hybrid", "dense", "bm25"])
    p_eval.add_argument("--json", type=Path, help="also write the results to this file")
    p_cal = sub.add_parser("calibrate", help="refit the confidence models (train split) and "
                           "their thresholds (validation split)")
    p_cal.add_argument("--eval-dir", type=Path, default=Path("eval"))
    p_cal.add_argument("--out", type=Path, help="where to write (default: the package's "
                       "data/calibration.json)")
    p_fb = sub.add_parser("feedback", help="list the readers' ratings of answers, or export them")
    p_fb.add_argument("--export", choices=["json", "csv"], help="print every rating in a format")
    p_fb.add_argument("--limit", type=int, default=20, help="how many to list (newest first)")
    # What `serve` and `api` share (cli._served reads it).
    serving = argparse.ArgumentParser(add_help=False)
    serving.add_argument("--no-index", action="store_true",
                         help="serve the index as it is, without looking for changes first")
    serving.add_argument("--host")
    serving.add_argument("--port", type=int)
    p_serve = sub.add_parser("serve", parents=[serving], help="index what changed in the "
                             "corpus, then start the web app")
    p_serve.add_argument("--auth", help="user:password; the app asks for this login and "
                         "offers document upload (also NETRALITAS_AUTH)")
    p_serve.add_argument("--share", action="store_true", help=argparse.SUPPRESS)
    p_api = sub.add_parser("api", parents=[serving], help="index what changed in the corpus, "
                           "then serve the OpenAI-compatible endpoint (/v1) alone")
    p_api.add_argument("--auth", help="user:password; every request needs it as its API key "
                       "(also NETRALITAS_AUTH)")
    args = parser.parse_args(argv)

    overrides = {}
    if args.corpus:
        overrides["corpus_dir"] = args.corpus
    if args.index:
        overrides["index_dir"] = args.index
    if getattr(args, "mode", None):
        overrides["retrieval"] = args.mode
    settings = Settings.from_env(**overrides)
    from assistant.store import StoreError

    try:
        return COMMANDS[args.command](settings, args)
    except StoreError as exc:  # a damaged or unreachable store: its message, no traceback
        print(exc, file=sys.stderr)
        return 1


def _index(settings: Settings, args: argparse.Namespace, repair: bool = True) -> int:
    """Index what changed; a store that cannot be read is rebuilt when ``repair``, else its
    message is printed and nothing is done (the app never starts on a damaged index)."""
    from tqdm import tqdm

    from assistant.chat import Assistant
    from assistant.store import StoreDamaged, StoreError, check_store, erase_store

    start = time.perf_counter()
    # A store that cannot be read is built again, never reported as "0 changed".
    reason = "asked for with --rebuild" if args.rebuild else ""
    try:
        if not reason:
            try:
                check_store(settings)
            except StoreDamaged as exc:
                if not repair:
                    raise
                reason = f"the index could not be read: {exc.detail}"
        if reason:
            print(f"Rebuilding the index from scratch ({reason})", flush=True)
            erase_store(settings)
        bars: dict[str, tqdm] = {}

        def progress(unit: str) -> Callable[[int, int], None]:
            def show(done: int, total: int) -> None:
                if unit not in bars:  # shown on a terminal only
                    bars[unit] = tqdm(total=total, unit=unit, desc=f"embedding {unit}s",
                                      file=sys.stderr, disable=None)
                bar = bars[unit]
                bar.total = total
                bar.update(done - bar.n)
            return show

        try:
            report, errors = Assistant(settings).index(progress("chunk"),
                                                       progress("sentence"))
        finally:
            for bar in bars.values():
                bar.close()
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    report.rebuilt = report.rebuilt or reason
    for label, ids in (("added", report.added), ("changed", report.changed),
                       ("removed", report.removed)):
        for doc_id in ids:
            print(f"{label}: {doc_id}")
    for err in errors:
        print(err, file=sys.stderr)
    print(f"{report.summary()} ({time.perf_counter() - start:.1f} s)")
    return 0


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.answer import InvalidQuestion
    from assistant.chat import Assistant
    from assistant.store import StoreError, start_check

    start_check(settings)  # in a child process while the model loads
    try:
        answer = Assistant(settings).ask(args.question)
    except InvalidQuestion as exc:
        print(exc, file=sys.stderr)
        return 2
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(answer.text)
    return 0


def _add(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.chat import Assistant
    from assistant.documents import DocumentError

    src: Path = args.path
    try:
        doc, report = Assistant(settings).add_document(src, args.folder, args.replace)
    except (DocumentError, OSError) as exc:
        print(f"{src}: {exc}", file=sys.stderr)
        return 2
    print(f"added {doc.id} ({doc.type}, {doc.title}) to {args.folder}/; {report.summary()}")
    return 0


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.chat import Assistant
    from assistant.evaluation import format_report, run_eval

    result = run_eval(Assistant(settings), args.eval_dir, args.split)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


def _calibrate(settings: Settings, args: argparse.Namespace) -> int:
    from importlib import resources

    from assistant.chat import Assistant
    from assistant.evaluation import calibrate

    cal, report = calibrate(Assistant(settings), args.eval_dir)
    out = args.out or Path(str(resources.files("assistant.data").joinpath("calibration.json")))
    cal.save(out)
    print(json.dumps(report, indent=2))
    print(f"written to {out}")
    return 0


def _feedback(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.feedback import FeedbackStore

    store = FeedbackStore(settings)
    if args.export:
        print(store.export(args.export), end="")
        return 0
    rows = store.rows(args.limit)
    if not rows:
        print("no feedback yet")
    for row in rows:
        mark = "+" if row["rating"] > 0 else "-"
        note = f"  \"{row['comment']}\"" if row["comment"] else ""
        print(f"{row['id']:>4} {row['created']} {mark} {row['question'][:70]}{note}")
    return 0


def _served(settings: Settings, args: argparse.Namespace) -> Settings:
    """What ``serve`` and ``api`` do first: index what changed (a damaged index is reported,
    exit status 1), then the settings with the command line's host, port and login."""
    # Indexing here, not in a `netralitas index` run before, saves `make run` a second start
    # of Python, its imports and the model (README, "Speed").
    if not args.no_index and (code := _index(settings, argparse.Namespace(rebuild=False),
                                             repair=False)):
        raise SystemExit(code)
    if args.host:
        settings = settings.replace(host=args.host)
    if args.port:
        settings = settings.replace(port=args.port)
    if args.auth:
        settings = settings.replace(auth=args.auth)
    return settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.ui import launch

    launch(_served(settings, args))  # prints why and exits non-zero on an unusable store
    return 0


def _api(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.api import serve

    serve(_served(settings, args))  # as the app: never on a store that cannot be used
    return 0


COMMANDS = {"index": _index, "ask": _ask, "add": _add, "eval": _eval,
            "calibrate": _calibrate, "feedback": _feedback, "serve": _serve, "api": _api}

if __name__ == "__main__":
    raise SystemExit(main())
