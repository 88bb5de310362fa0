"""The app in a real browser: Debian's Chromium driven by Playwright, at phone and desktop
width. Screenshots of the main screens go to ``test-artifacts/`` (ignored by git).

CI installs Chromium (.ci/run); a machine without it fails these tests with a clear
message rather than skipping them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.chat import Assistant
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.topics import scenarios
from assistant.ui import ANSWERS_KEY, LANGUAGE_KEY, STORAGE_KEY, launch_options
from tests.conftest import served_app, write_doc

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
# The newest answer's badge is inside the visible part of the chat, whose top is in the upper
# half of the screen.
ANSWER_START_IN_VIEW = """() => {
  const b = [...document.querySelectorAll('#chat .verdict')].pop().getBoundingClientRect();
  const c = document.querySelector('#chat').getBoundingClientRect();
  return b.top >= c.top && b.bottom <= c.bottom && c.top >= 0 && c.top < innerHeight / 2;
}"""
DESKTOP = {"width": 1280, "height": 800}
pytestmark = pytest.mark.browser
# A shared 2-core CI machine can be slow to render; no step here should need 20 s.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def url(assistant: Assistant) -> Iterator[str]:
    with served_app(assistant, **launch_options()) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def _open(browser: Browser, url: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport,
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    expect(page.locator("body.ready")).to_have_count(1, timeout=30_000)
    return page


def _ask(page: Page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()


def _stored(page: Page, key: str, longer_than: int = 0, shorter_than: int = 10**9) -> None:
    """Waits until the browser's storage holds ``key`` with a value of a length in range (the
    stored value is encrypted: a conversation's is long, an empty one's short)."""
    page.wait_for_function(
        "([k, lo, hi]) => { const v = localStorage.getItem(k);"
        " return v !== null && v.length > lo && v.length < hi; }",
        arg=[key, longer_than, shorter_than], timeout=20_000)


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_an_answer_opens_with_its_badge_and_its_sources_open_in_place(
        browser: Browser, url: str, viewport: dict[str, int], name: str) -> None:
    page = _open(browser, url, viewport)
    _shot(page, f"{name}-start")
    _ask(page, "Bolehkah saya memberi like pada unggahan calon bupati?")
    badge = page.locator("#chat .verdict-tidak_boleh").last
    expect(badge).to_have_text("Tidak boleh", timeout=60_000)
    # The view shows the answer's start: its badge inside the visible chat, the chat's top in
    # the upper half of the screen.
    page.wait_for_function(ANSWER_START_IN_VIEW, timeout=20_000)
    _shot(page, f"{name}-verdict")
    expect(page.locator("#question textarea")).to_have_value("")
    chip = page.locator("#chat details.chip").first
    expect(chip).to_contain_text("[1] Memberi like")
    expect(chip.locator("mark")).not_to_be_visible()
    page.locator("#chat a.cite").first.click()  # a [1] in the text opens its source
    expect(chip.locator("mark")).to_be_visible()  # the quoted passage, highlighted
    expect(chip).to_contain_text("penjelasan tim")
    last = page.locator("#chat details.chip").last
    last.locator("summary").click()  # and so does the chip itself
    expect(last.locator("mark")).to_be_visible()
    _shot(page, f"{name}-source")
    page.locator("#copy").click()  # the answer with its sources, as plain Markdown
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("**Putusan: Tidak boleh**") and "<span" not in copied
    assert "- [1] Memberi like" in copied and "\n  > " in copied
    _ask(page, "kalau komentar?")  # a second answer below a long first one
    expect(page.locator("#chat .verdict")).to_have_count(2, timeout=60_000)
    page.wait_for_function(ANSWER_START_IN_VIEW, timeout=20_000)
    _shot(page, f"{name}-follow-up")
    page.close()


def test_a_clarify_answer_offers_the_precise_questions_as_buttons(browser: Browser, url: str
                                                                  ) -> None:
    page = _open(browser, url, PHONE)
    _ask(page, "Bolehkah PNS jadi anggota KPPS?")
    expect(page.locator("#chat .verdict-clarify").last).to_have_text("Perlu diperjelas",
                                                                      timeout=60_000)
    choices = page.locator("#alternatives button:visible")
    expect(choices).to_have_count(2)
    expect(choices.first).to_contain_text("KPPS")
    _shot(page, "phone-clarify")
    choices.last.click()  # the forbidden case, asked precisely
    expect(page.locator("#chat .verdict-tidak_boleh").last).to_be_visible(timeout=60_000)
    page.close()


def test_the_conversation_survives_a_reload_and_clears_in_one_place(browser: Browser, url: str
                                                                    ) -> None:
    page = _open(browser, url, PHONE)
    _ask(page, "Apa sanksi bagi PNS yang tidak netral?")
    expect(page.locator("#chat .message-row")).to_have_count(2, timeout=60_000)
    _stored(page, STORAGE_KEY, longer_than=500)  # the conversation, stored after the answer
    page.reload()
    expect(page.locator("#chat")).to_contain_text("Apa sanksi bagi PNS", timeout=30_000)
    page.locator("#clear").click()
    expect(page.locator("#chat .message-row")).to_have_count(0)
    _stored(page, STORAGE_KEY, shorter_than=200)  # and the empty one after clearing
    page.reload()
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    expect(page.locator("#send")).to_have_text("Kirim")  # the page has loaded its state
    expect(page.locator("#chat .message-row")).to_have_count(0)
    page.close()


def test_a_refused_question_shows_a_notice_and_keeps_the_typed_text(browser: Browser, url: str
                                                                    ) -> None:
    page = _open(browser, url, PHONE)
    long = "kampanye " * 130
    box = page.locator("#question textarea")
    box.fill(long)
    box.press("End")
    box.type(" ok")  # typing updates the counter
    expect(page.locator("#counter-text")).to_have_text(f"{len(long) + 3} / 1000 karakter")
    page.locator("#send").click()
    expect(page.locator("#notice")).to_contain_text("terlalu panjang", timeout=30_000)
    expect(box).to_have_value(long + " ok")
    expect(page.locator("#chat .message-row")).to_have_count(0)  # no error turn in the chat
    page.close()


def test_a_thumb_on_an_answer_is_stored_with_an_optional_comment(
        browser: Browser, url: str, assistant: Assistant) -> None:
    store = FeedbackStore(assistant.settings)
    before = len(store.rows())
    page = _open(browser, url, PHONE)
    _ask(page, "Lapor ke mana kalau ada ASN kampanye?")
    expect(page.locator("#chat .message-row")).to_have_count(2, timeout=60_000)
    page.locator("#chat button[aria-label='Dislike']").last.click()
    comment = page.locator("#feedback-comment textarea")
    expect(comment).to_be_visible(timeout=30_000)
    comment.fill("alamat pengaduannya kurang lengkap")
    page.locator("#feedback-send").click()
    expect(page.locator("#feedback-thanks")).to_contain_text("Terima kasih", timeout=30_000)
    rows = store.rows()
    assert len(rows) == before + 1
    assert rows[0]["rating"] == -1 and rows[0]["question"].startswith("Lapor ke mana")
    assert rows[0]["comment"] == "alamat pengaduannya kurang lengkap"
    page.close()


def test_a_trainer_browses_the_topics_and_runs_the_quiz(browser: Browser, url: str,
                                                         assistant: Assistant) -> None:
    pool = {s.question: s.card for s in scenarios(assistant.retriever)}
    page = _open(browser, url, DESKTOP)
    page.get_by_role("tab", name="Topik").click()
    card = page.locator("#topics details.card", has_text="Memberi like, komentar")
    card.locator("summary").click()
    expect(card).to_contain_text("SKB 2022 Lampiran II")  # its basis, once opened
    expect(card.locator(".verdict-tidak_boleh")).to_have_text("Tidak boleh")
    _shot(page, "desktop-topics")
    page.get_by_role("tab", name="Kuis").click()
    question = page.locator("#quiz-question")
    expect(question).to_contain_text("Seorang ASN bertanya", timeout=30_000)
    asked = question.inner_text().split('"')[1]
    expect(page.locator("#quiz-result")).to_have_text("")  # hidden until answered
    page.locator("#quiz-tidak_boleh").click()
    right = pool[asked].verdict == "tidak_boleh"
    result = page.locator("#quiz-result")
    expect(result).to_contain_text("Benar." if right else "Belum tepat.", timeout=30_000)
    expect(result).to_contain_text(pool[asked].basis[0])
    expect(page.locator("#quiz-score")).to_contain_text(f"{int(right)} benar dari 1 soal")
    _shot(page, "desktop-quiz")
    page.locator("#quiz-next").click()
    expect(page.locator("#quiz-result")).to_have_text("", timeout=30_000)
    page.close()


def test_a_session_exports_after_a_reload_and_the_presentation_view_fits_a_projector(
        browser: Browser, url: str) -> None:
    # A 1280x720 projector at 150 % zoom: 853x480 CSS pixels.
    context = browser.new_context(viewport={"width": 853, "height": 480},
                                  device_scale_factor=1.5)
    page = context.new_page()
    page.goto(url)
    expect(page.locator("body.ready")).to_have_count(1, timeout=30_000)
    _ask(page, "Bolehkah saya memberi like pada unggahan calon bupati?")
    expect(page.locator("#chat .verdict-tidak_boleh")).to_be_visible(timeout=60_000)
    size = page.locator("#chat .bot .prose").last.evaluate("e => getComputedStyle(e).fontSize")
    page.locator("#present input").check()
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresent\b"))
    larger = page.locator("#chat .bot .prose").last.evaluate("e => getComputedStyle(e).fontSize")
    assert float(larger.removesuffix("px")) > float(size.removesuffix("px"))
    _ask(page, "Bolehkah PNS ikut kampanye capres?")  # shown from its start, sources beside
    answer = page.locator("#chat .message-row.bot-row").last
    expect(answer.locator(".verdict")).to_be_in_viewport(timeout=60_000)
    expect(answer.locator(".prose > p").nth(1)).to_be_in_viewport()
    expect(answer.locator("details.chip").first).to_be_in_viewport()
    expect(page.locator("#question textarea")).to_be_in_viewport()
    _shot(page, "projector-answer")
    _stored(page, ANSWERS_KEY, longer_than=2000)
    page.reload()  # the export still holds the answers given before the reload
    expect(page.locator("body.ready")).to_have_count(1, timeout=30_000)
    page.locator("#export").click()
    links = page.locator("#export-files a")
    expect(links).to_have_count(2, timeout=30_000)
    with page.expect_download() as download:
        page.locator("#export-files a[download$='.md']").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## 1. Bolehkah saya memberi like" in text and "**Putusan: Tidak boleh**" in text
    assert "## 2. Bolehkah PNS ikut kampanye capres?" in text
    assert "> " in text and "[1] Memberi like" in text  # sources with their quotes
    context.close()


def test_the_documents_view_lists_the_index_and_offers_no_upload_without_login(
        browser: Browser, url: str) -> None:
    page = _open(browser, url, DESKTOP)
    page.get_by_role("tab", name="Dokumen").click()
    expect(page.locator("#documents")).to_contain_text("Ancaman pidana penjara", timeout=30_000)
    expect(page.locator("#documents")).to_contain_text("penjelasan tim")
    expect(page.locator("#upload")).to_have_count(0)  # not rendered at all
    page.close()


def test_behind_a_login_a_document_is_uploaded_and_indexed(browser: Browser, settings: Settings,
                                                           tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_doc(corpus / "berita", "awal", "Bawaslu kota mengingatkan ASN agar netral.")
    bot = Assistant(settings.replace(corpus_dir=corpus, index_dir=tmp_path / "index",
                                     auth="pelatih:rahasia"))
    bot.index()
    with served_app(bot, auth=("pelatih", "rahasia"), **launch_options()) as base:
        # Gradio's own texts (the login page, the drop area) follow the browser's language.
        page = browser.new_context(viewport=DESKTOP, locale="id-ID").new_page()
        page.goto(base)
        page.get_by_label("nama pengguna").fill("pelatih")
        page.get_by_label("kata sandi").fill("rahasia")
        page.get_by_role("button", name="Masuk").click()
        page.get_by_role("tab", name="Dokumen").click()
        expect(page.locator("#documents")).to_contain_text("awal", timeout=30_000)
        expect(page.locator("#upload")).to_contain_text("Letakkan File di Sini")
        new = write_doc(tmp_path / "in", "unggahan-baru", "Camat diminta menjaga netralitas.",
                        title="Imbauan camat")
        page.locator("#upload input[type=file]").set_input_files(str(new))
        expect(page.locator("#upload-result")).to_contain_text("Ditambahkan: Imbauan camat",
                                                                timeout=60_000)
        expect(page.locator("#documents")).to_contain_text("Imbauan camat")
        assert (corpus / "tambahan" / "unggahan-baru.md").is_file()
        page.close()


def test_the_interface_switches_to_english_and_keeps_the_choice(browser: Browser, url: str
                                                                 ) -> None:
    page = _open(browser, url, PHONE)
    expect(page.locator("#send")).to_have_text("Kirim")
    page.get_by_label("English").check()
    expect(page.locator("#send")).to_have_text("Send", timeout=30_000)
    expect(page.get_by_role("tab", name="Topics")).to_be_visible()
    expect(page.locator("#question textarea")).to_have_attribute("placeholder",
                                                                  "Type your question...")
    english = page.locator("#examples button.example").first
    expect(english).to_have_text("May a civil servant like a regent candidate's post?")
    english.click()  # an example sends in one tap; the answer follows its language
    expect(page.locator("#chat .verdict-tidak_boleh").last).to_have_text("Not allowed",
                                                                         timeout=60_000)
    _shot(page, "phone-english")
    _stored(page, LANGUAGE_KEY)
    page.reload()
    expect(page.locator("#send")).to_have_text("Send", timeout=30_000)
    page.get_by_label("Bahasa Indonesia").check()
    expect(page.locator("#send")).to_have_text("Kirim", timeout=30_000)
    page.close()


def test_the_chat_works_from_the_keyboard_alone(browser: Browser, url: str) -> None:
    page = _open(browser, url, DESKTOP)
    page.locator("#question textarea").focus()
    page.keyboard.type("Bolehkah PNS ikut kampanye capres?")
    page.keyboard.press("Enter")
    expect(page.locator("#chat .verdict-tidak_boleh").last).to_be_visible(timeout=60_000)
    summary = page.locator("#chat details.chip summary").first
    summary.focus()
    page.keyboard.press("Enter")  # a source chip opens from the keyboard too
    expect(page.locator("#chat details.chip mark").first).to_be_visible()
    page.close()


def test_an_llms_words_show_as_they_come_then_the_checked_answer(
        browser: Browser, assistant: Assistant) -> None:
    """With an LLM writing at a reader's pace (the loopback stub), the words appear in the
    chat as a grey preview with no badge, and the checked answer then replaces them."""
    from tests.llm_stub import StubLLM

    with StubLLM(pace=0.15) as stub:
        bot = Assistant(assistant.settings.replace(llm_provider="openai", llm_model="stub",
                                                   llm_base_url=stub.url))
        bot._retriever = assistant.retriever
        with served_app(bot, **launch_options()) as base:
            page = _open(browser, base, PHONE)
            _ask(page, "Bolehkah saya memberi like pada unggahan calon bupati?")
            preview = page.locator("#chat .preview").last
            expect(preview).to_contain_text("Tidak boleh.")
            expect(preview).to_be_in_viewport()
            expect(page.locator("#chat .verdict")).to_have_count(0)
            _shot(page, "phone-streaming")
            expect(page.locator("#chat .verdict-tidak_boleh").last).to_be_visible(
                timeout=60_000)
            expect(page.locator("#chat .preview")).to_have_count(0)
            expect(page.locator("#chat details.chip").first).to_contain_text("[1]")
