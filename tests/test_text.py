"""Indonesian-aware sentence splitting, stemming and language detection."""

from assistant.text import detect_language, split_sentences, stem, tokens, turn_text


def test_sentences_do_not_break_after_titles_and_abbreviations() -> None:
    text = ("Kepala BKPSDM, Dewi Nursanti SH MH, hadir. Acara di Jl. Bidar No. 2, Kec. Ilir Bar. "
            "I, Kota Palembang. Dr. Budi bicara!\n“Netral itu wajib,” katanya.")
    assert split_sentences(text) == [
        "Kepala BKPSDM, Dewi Nursanti SH MH, hadir.",
        "Acara di Jl. Bidar No. 2, Kec. Ilir Bar. I, Kota Palembang.",
        "Dr. Budi bicara!",
        "“Netral itu wajib,” katanya.",
    ]


def test_stemming_joins_word_forms() -> None:
    assert stem("mengunggah") == stem("unggahan") == "unggah"
    assert stem("pelanggaran") == stem("dilanggar") == "langgar"
    assert stem("memberikan") == "beri"
    assert stem("pemilu") == "pemilu"  # a domain term, not pe- + milu


def test_tokens_drop_function_words_and_chat_particles() -> None:
    assert tokens("Bolehkah saya ikut kampanye nggak sih?") == ["ikut", "kampanye"]


def test_language_detection() -> None:
    assert detect_language("May a civil servant like a candidate's post?") == "en"
    assert detect_language("Bolehkah ASN memberi like pada unggahan calon?") == "id"
    assert detect_language("ASN") == "id"


def test_turn_text_reads_every_message_shape() -> None:
    assert turn_text("halo") == "halo"
    assert turn_text([{"type": "text", "text": "kalau"}, {"type": "text", "text": "PPPK?"}]) == (
        "kalau PPPK?")
    assert turn_text({"text": "x"}) == "x" and turn_text(None) == ""


def test_a_doubled_word_is_read_as_the_word() -> None:
    assert tokens("foto-foto kampanye-kampanyenya") == ["foto", "kampanye"]
    assert tokens("TNI-Polri") == ["tni-polri"]
