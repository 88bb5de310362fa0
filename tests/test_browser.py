"""The app in a real browser: Debian's Chromium driven by Playwright.

CI installs Chromium (.ci/run); a machine without it fails this test with a clear
message rather than skipping it.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from assistant.chat import Assistant
from assistant.ui import build_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def url(assistant: Assistant) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app(assistant).queue()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.mark.browser
def test_question_typed_in_the_browser_gets_an_answer_with_sources(
    url: str, tmp_path: Path
) -> None:
    assert Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(url)
        box = page.locator("#question textarea")
        box.fill("Bolehkah saya memberi like pada unggahan calon bupati?")
        page.locator("#send").click()
        expect(page.locator("#chat")).to_contain_text("Tidak boleh.", timeout=60_000)
        expect(page.locator("#chat")).to_contain_text("[1]")
        expect(page.locator("#sources")).to_contain_text("Memberi like")
        expect(box).to_have_value("")
        page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
        browser.close()
