"""Readers' feedback in a real PostgreSQL server (the team setup, ``feedback_url``), started
by the test on loopback from Debian's binaries and removed afterwards.

CI installs PostgreSQL (.ci/run, `make postgres`); a machine without it fails here with the
command to run rather than skipping.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text

from assistant.feedback import FIELDS, FeedbackStore
from assistant.settings import Settings
from tests.conftest import free_port

USER, DB = "netralitas", "feedback"
MISSING = ("PostgreSQL's server binaries are missing: run `make postgres` "
           "(or `sudo apt-get install postgresql`), then the tests again")


def _bindir() -> Path:
    """Where initdb and postgres are: pg_config's answer, else the newest Debian version."""
    candidates = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(found.stdout.strip())
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, reverse=True,
                         key=lambda p: [int(n) for n in Path(p).parent.name.split(".")
                                        if n.isdigit()])
    for folder in candidates:
        if folder and (Path(folder) / "postgres").is_file() and (Path(folder) / "initdb").is_file():
            return Path(folder)
    pytest.fail(MISSING, pytrace=False)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway server in a temporary folder, as an unprivileged user when run as root
    (initdb and postgres refuse root); stopped and deleted even when a test fails."""
    bindir = _bindir()
    home = Path(tempfile.mkdtemp(prefix="netralitas-pg-"))  # not under pytest's 0700 root dir
    (home / "socket").mkdir()
    owner: dict[str, object] = {}
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = pwd.getpwnam("nobody")
        for path in (home, home / "socket"):
            os.chown(path, account.pw_uid, account.pw_gid)
        owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_", "LANG"))}
    log = home / "server.log"
    server = None
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(home / "data"), "--auth=trust",
                        f"--username={USER}", "--encoding=UTF8", "--no-locale", "--no-sync"],
                       cwd=home, env=env, check=True, capture_output=True, **owner)
        port = free_port()
        with log.open("wb") as out:
            server = subprocess.Popen([str(bindir / "postgres"), "-D", str(home / "data"),
                                       "-h", "127.0.0.1", "-p", str(port),
                                       "-k", str(home / "socket"), "-F"],
                                      cwd=home, env=env, stdout=out, stderr=out, **owner)
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(host="127.0.0.1", port=port, user=USER, dbname="postgres",
                                     connect_timeout=2, autocommit=True) as admin:
                    admin.execute(f"CREATE DATABASE {DB}")
                break
            except psycopg.OperationalError:  # not accepting connections yet
                assert server.poll() is None, f"postgres exited:\n{log.read_text()}"
                assert time.monotonic() < deadline, \
                    f"postgres did not accept connections within 30 s:\n{log.read_text()}"
                time.sleep(0.2)
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{DB}"
    finally:
        if server is not None:
            server.send_signal(2)  # SIGINT: fast shutdown, open client connections are cut
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def make_store(postgres_url: str, tmp_path: Path) -> Iterator[Callable[[], FeedbackStore]]:
    """App instances on the server, each test starting from no table at all (the store
    creates it on first use); their connection pools are closed afterwards."""
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS feedback"))
    admin.dispose()
    stores: list[FeedbackStore] = []

    def make() -> FeedbackStore:
        stores.append(FeedbackStore(Settings(feedback_url=postgres_url,
                                             data_dir=tmp_path / "unused")))
        return stores[-1]

    yield make
    for store in stores:
        store.engine.dispose()
    assert not (tmp_path / "unused").exists()  # nothing fell back to SQLite


def test_the_rows_are_really_in_postgresql(postgres_url: str,
                                           make_store: Callable[[], FeedbackStore]) -> None:
    """So that the other tests cannot pass on SQLite by accident."""
    store = make_store()
    assert (store.engine.dialect.name, store.engine.driver) == ("postgresql", "psycopg")
    feedback_id = store.add(1, "Boleh like unggahan calon?", "Tidak boleh.", "tidak_boleh")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("select version()")).startswith("PostgreSQL ")
            assert "feedback" in inspect(conn).get_table_names()
            assert conn.execute(text("select id, rating, verdict from feedback")).all() == [
                (feedback_id, 1, "tidak_boleh")]
            assert conn.scalar(text(
                "select data_type from information_schema.columns "
                "where table_name = 'feedback' and column_name = 'created'"
            )) == "timestamp with time zone"
    finally:
        engine.dispose()


def test_ratings_and_comments_are_kept_newest_first(
        make_store: Callable[[], FeedbackStore]) -> None:
    """Thumbs up and down (any sign), a comment attached later, none to a missing rating."""
    store = make_store()
    first = store.add(5, "Boleh like unggahan calon?", "Tidak boleh. ...", "tidak_boleh")
    second = store.add(-3, "Boleh jadi KPPS?", "Perlu diperjelas ...")
    assert store.comment(second, "jawabannya kurang jelas")
    assert not store.comment(second + 1000, "no such rating")
    rows = store.rows()
    assert [r["id"] for r in rows] == [second, first] and list(rows[0]) == list(FIELDS)
    assert rows[0]["rating"] == -1 and rows[0]["comment"] == "jawabannya kurang jelas"
    assert rows[0]["verdict"] == "" and rows[1]["rating"] == 1
    assert rows[1]["verdict"] == "tidak_boleh" and rows[1]["comment"] == ""
    assert datetime.fromisoformat(rows[1]["created"]).utcoffset() is not None
    assert store.rows(1) == rows[:1]


def test_unicode_round_trips_and_exports(make_store: Callable[[], FeedbackStore]) -> None:
    """Indonesian text with curly quotes, dashes and emoji comes back unchanged in csv/json."""
    store = make_store()
    question = "Bolehkah ASN “menyukai” unggahan calon — atau tidak? 👍 Ñ 漢字"
    comment = "Terima kasih, jawabannya jelas ‘sekali’… 🙏"
    store.add(1, question, "Tidak boleh – lihat PP 94/2021.", "tidak_boleh", comment=comment)
    store.add(-1, "Apakah camat boleh hadir?", "Perlu diperjelas.")
    as_json = json.loads(store.export("json"))
    assert [r["question"] for r in as_json] == ["Apakah camat boleh hadir?", question]
    assert as_json[1]["comment"] == comment and as_json[1]["rating"] == 1
    assert "“menyukai”" in store.export("json")  # written as text, not \u escapes
    table = list(csv.DictReader(io.StringIO(store.export("csv"))))
    assert list(table[0]) == list(FIELDS) and table[0]["rating"] == "-1"
    assert table[1]["question"] == question and table[1]["comment"] == comment
    assert table[1]["answer"] == "Tidak boleh – lihat PP 94/2021."


def test_two_app_instances_see_each_others_ratings(
        make_store: Callable[[], FeedbackStore]) -> None:
    """Two instances of a team's app on one server share ratings and comments both ways."""
    one, two = make_store(), make_store()
    from_one = one.add(1, "Boleh foto bersama calon?", "Tidak boleh.")
    from_two = two.add(-1, "Boleh hadir kampanye?", "Perlu diperjelas.")
    assert from_two != from_one
    assert [r["id"] for r in one.rows()] == [r["id"] for r in two.rows()] == [from_two, from_one]
    assert two.comment(from_one, "dari instans kedua")
    assert one.rows()[1]["comment"] == "dari instans kedua"
