"""Odd input, fuzzed with hypothesis: whatever is typed or passed on a command line, the
assistant raises nothing but ``InvalidQuestion``, returns an ``Answer`` whose [n] markers all
have a citation, and gives a text without a real word neither a verdict nor a grounded answer.

The "ci" profile (tests/conftest.py) keeps this file short; ``make fuzz`` runs the "long"
one (``HYPOTHESIS_PROFILE=long``, over 10,000 examples) and prints what was tried.
"""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import hypothesis
import pytest
from hypothesis import Phase, event, example, given
from hypothesis import strategies as st

from assistant import Answer, Assistant, InvalidQuestion
from assistant.compose import messages
from assistant.settings import Settings
from assistant.text import normalise, stopwords, words
from assistant.understand import lexical_terms, lexicon

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted((ROOT / "corpus" / "aturan").glob("*.md"))
# Real questions: the ways of asking that the rule cards list; and the corpus's own words.
QUESTIONS = sorted({m for p in CARDS for m in re.findall(r'^- "(.+\?)"$', p.read_text("utf-8"),
                                                        re.M)})
CORPUS_WORDS = sorted({w for p in CARDS for w in words(p.read_text("utf-8"))
                       if len(w) > 2 and w not in stopwords()})

LOREM = [
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
    "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna",
    "aliqua", "enim", "ad", "minim", "veniam", "quis", "nostrud", "exercitation", "ullamco",
    "laboris", "nisi", "aliquip", "ex", "ea", "commodo", "consequat", "duis", "aute", "irure",
    "in", "reprehenderit", "voluptate", "velit", "esse", "cillum", "eu", "fugiat", "nulla",
    "pariatur", "excepteur", "sint", "occaecat", "cupidatat", "non", "proident", "sunt",
    "culpa", "qui", "officia", "deserunt", "mollit", "anim", "id", "est", "laborum",
]
INJECTIONS = ["1' OR '1'='1", "' OR 1=1 --", "'; DROP TABLE users; --", '" OR ""="',
              "UNION SELECT NULL, NULL --", "admin'--", "<script>alert(1)</script>", "{{7*7}}",
              "${jndi:ldap://x/a}", "../../etc/passwd", "%00%0a", "\\x00\\u0000", "); --"]

# Pieces of text with no real word in them: function words, punctuation and numbers, lorem
# ipsum, keyboard mash, injections.
mash = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=12)
symbols = st.text(alphabet=string.punctuation + string.digits + " ", min_size=1, max_size=20)
nonsense_piece = st.one_of(st.sampled_from(sorted(stopwords())), st.sampled_from(LOREM),
                           st.sampled_from(INJECTIONS), mash, symbols)
nonsense = st.tuples(st.lists(nonsense_piece, min_size=1, max_size=12), st.sampled_from(
    ["", "?", "!", "...", " ??"]), st.booleans()).map(
    lambda t: (" ".join(t[0]) + t[1]).upper() if t[2] else " ".join(t[0]) + t[1])

# Any code point (lone surrogates and control characters included), control and format
# characters only, huge strings, and words of several scripts.
every_char = st.characters(exclude_categories=())
controls = st.characters(categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"])
scripts = st.characters(categories=["Lu", "Ll", "Lo", "Mn", "Nd", "So"])
odd_text = st.one_of(
    st.text(every_char, max_size=300),
    st.text(controls, min_size=1, max_size=40),
    st.builds(lambda s, n: s * n, st.text(every_char, min_size=1, max_size=30),
              st.integers(50, 5_000)),
    st.lists(st.one_of(st.sampled_from(CORPUS_WORDS), st.text(scripts, min_size=1, max_size=8)),
             min_size=1, max_size=12).map(" ".join),
)

# Real words and real questions with junk in them.
junk = st.one_of(nonsense_piece, st.text(every_char, min_size=1, max_size=6),
                 st.text(controls, min_size=1, max_size=4))
real_with_junk = st.one_of(
    st.lists(st.one_of(st.sampled_from(CORPUS_WORDS), junk), min_size=1, max_size=15).map(
        " ".join),
    st.builds(lambda q, j, at: q[:at] + j + q[at:], st.sampled_from(QUESTIONS), junk,
              st.integers(0, 120)),
)


def real_words(bot: Assistant, text: str) -> list[str]:
    """The words of a text that the index or the lexicon knows, numbers not counted: this
    test's own reading, stricter than the assistant's (a word of any length counts)."""
    known = bot.retriever.vocab | lexicon()["known"]
    return [w for w in words(normalise(text))
            if any(t in known and not t.isdigit() for t in lexical_terms(w, "en"))]


def check(bot: Assistant, text: str, history: list[dict[str, str]] | None = None
          ) -> Answer | None:
    """Ask; what must hold of any answer, and of one to a text without a real word. The
    events are counted in ``--hypothesis-show-statistics`` (make fuzz)."""
    try:
        answer = bot.ask(text, history=history)
    except InvalidQuestion as exc:
        assert str(exc).strip()
        event("InvalidQuestion")
        return None
    assert isinstance(answer, Answer)
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers <= {c.n for c in answer.citations}, answer.text
    event(f"outcome {answer.outcome}")
    if not history and not real_words(bot, text):
        event("no real word")
        assert answer.verdict is None and not answer.grounded, answer.text
        event(f"no real word: {answer.outcome}")
    return answer


@given(odd_text)
@example("\ud800")
@example("boleh \udcff\udcfe like?")
@example("\x00\x01\x1b[31m\u200b\ufeff")
def test_odd_text_never_breaks_the_answer(assistant: Assistant, text: str) -> None:
    check(assistant, text)


@given(nonsense)
@example("if")
@example("what?")
@example("1' OR '1'='1")
@example("Lorem ipsum dolor sit amet, consectetur adipiscing elit?")
@example("asdfghjkl qwertyuiop")
def test_text_without_a_real_word_gets_no_verdict(assistant: Assistant, text: str) -> None:
    answer = check(assistant, text)
    if answer and real_words(assistant, text):
        # Mash or lorem ipsum that happens to spell a word ("kpu", "non"): searched.
        event(f"nonsense with a real word by chance: {answer.outcome}, "
              f"{'grounded' if answer.grounded else 'not grounded'}, verdict {answer.verdict}")


@given(real_with_junk)
@example("boleh like?")
@example("kl sy pppk?")
def test_real_words_with_junk_still_get_an_answer(assistant: Assistant, text: str) -> None:
    check(assistant, text)


@given(odd_text)
@example("Bolehkah ASN like\ud800 unggahan calon?")
def test_an_odd_earlier_turn_never_breaks_a_follow_up(assistant: Assistant, text: str) -> None:
    check(assistant, "kalau komentar?", history=[{"role": "user", "content": text}])


def test_normalise_drops_what_no_tokenizer_takes() -> None:
    assert normalise("boleh\udcff \x00like?\n\tkalau\u200b PNS\x85") == "boleh like? kalau PNS"
    assert normalise("cafe\u0301") == "caf\u00e9"  # composed
    assert normalise("\ud800\x01\ue000") == ""


def test_unreadable_and_empty_questions_say_which(assistant: Assistant) -> None:
    with pytest.raises(InvalidQuestion, match="tidak dapat dibaca"):
        assistant.ask("\ud800\x07")
    with pytest.raises(InvalidQuestion, match="kosong"):
        assistant.ask(" \n\t ")


def test_short_real_questions_are_not_nonsense(assistant: Assistant) -> None:
    """Informal questions of a word or two reach the search; nonsense does not."""
    for question in ["boleh like?", "kl sy pppk?", "sanksinya?", "KPPS?", "Gerindra?"]:
        q = assistant.understand(question)
        assert real_words(assistant, question), question
        assert assistant.decide(q).reason != "not_a_question", question
    for question in ["what?", "1' OR '1'='1", "lorem ipsum dolor sit amet", "?!?", "12345"]:
        answer = assistant.ask(question)
        assert answer.outcome == "abstain" and not answer.grounded and answer.verdict is None
        assert answer.text == messages()[answer.language]["not_a_question"], question


def test_a_follow_up_of_function_words_leans_on_the_question_before(
        assistant: Assistant) -> None:
    history = [{"role": "user", "content": "Bolehkah ASN memberi like pada unggahan calon?"}]
    assert assistant.decide(assistant.understand("kenapa?", history)).reason != "not_a_question"
    assert assistant.decide(assistant.understand("kenapa?")).reason == "not_a_question"
    assert assistant.decide(assistant.understand("qwzx?", history)).reason == "not_a_question"


def netralitas(settings: Settings, question: bytes) -> subprocess.CompletedProcess[str]:
    """The installed command, given the question as raw bytes on its command line."""
    command = Path(sys.executable).with_name("netralitas")
    env = dict(os.environ, NETRALITAS_CORPUS_DIR=str(settings.corpus_dir),
               NETRALITAS_INDEX_DIR=str(settings.index_dir))
    return subprocess.run([command, "ask", "--json", "--", question], capture_output=True,
                          text=True, errors="replace", env=env, timeout=600)


# A subprocess loads the model each time (seconds to half a minute): the "ci" profile runs
# the example given, the long one eight drawn ones too.
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
# Bytes that UTF-8 never uses, around any other bytes: always undecodable.
undecodable = st.builds(lambda a, bad, b: a + bad + b, st.binary(max_size=3),
                        st.sampled_from([b"\xff", b"\xfe", b"\xc0", b"\xc1", b"\xf8"]),
                        st.binary(max_size=3))


@hypothesis.settings(max_examples=8, phases=list(Phase) if LONG else [Phase.explicit])
@given(st.sampled_from([q.encode() for q in QUESTIONS[:40]] + [b"", b"asdf"]),
       undecodable, st.integers(0, 80))
@example(b"boleh  like?", b"\xff\xfe", 6)
def test_command_line_takes_undecodable_bytes(settings: Settings, assistant: Assistant,
                                              question: bytes, junk: bytes, at: int) -> None:
    raw = question[:at] + junk + question[at:]
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b" ")  # no command line can hold a NUL byte
    out = netralitas(settings, raw)
    assert "Traceback" not in out.stderr, out.stderr
    # Python reads undecodable bytes as lone surrogates, which the assistant drops.
    text = normalise(raw.decode("utf-8", errors="surrogateescape"))
    assert out.returncode == (0 if text else 2), out.stderr
    if not text:
        assert out.stderr.strip() and not out.stdout  # the message, no answer
        return
    answer = json.loads(out.stdout)
    assert answer["question"] == text and answer["text"]
