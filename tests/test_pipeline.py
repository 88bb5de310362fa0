"""The question pipeline: understand, retrieve, decide, compose, one class of failure at a
time (issue 6), on the real corpus, model and Chroma store."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.calibration import Calibration
from assistant.documents import load_corpus
from assistant.regulation import cite
from assistant.understand import understand

ROOT = Path(__file__).resolve().parents[1]


# -- understand: read once, no model needed ---------------------------------------------------


@pytest.mark.parametrize(("question", "intent"), [
    ("Bolehkah saya memberi like pada unggahan calon bupati?", "permission"),
    ("pak, sy pns boleh ngasih jempol di fb calon bupati gak?", "permission"),
    ("Kalau cuma komen di IG caleg, kena sanksi nggak?", "permission"),
    ("Apa sanksi bagi PNS yang melanggar netralitas?", "sanction"),
    ("apa saja sanksinya?", "sanction"),
    ("ASN yang ikut kampanye bisa dipenjara nggak?", "criminal"),
    ("Lapor ke mana kalau ada PNS kampanye?", "report"),
    ("Siapa yang berwenang menjatuhkan hukuman disiplin?", "authority"),
    ("Apa itu CLTN?", "definition"),
    ("When is the 2024 general election vote?", "fact"),
    ("Pak sekda mau maju pilbup. Kapan dia harus lepas status ASN-nya?", "fact"),
    ("Apakah aturan netralitas berlaku untuk PPPK?", "applicability"),
    ("Apa isi Pasal 14 PP 94 tahun 2021?", "article"),
    ("Lantas, kenapa ASN dilarang berpolitik?", "reason"),
    ("sy ASN emang knp klu saya like postingan capres", "permission"),
    ("Can Indonesian civil servants join a political party?", "permission"),
    ("Apakah kepala desa bisa ikut kampanye?", "permission"),
    ("Dapatkah PNS menjadi pengurus partai?", "permission"),
    ("Apa motif ASN berpihak ke salah satu calon?", "general"),
    ("Bagaimana jika perangkat desa aktif menjadi caleg?", "scenario"),
    ("Apakah Bawaslu bisa langsung menjatuhkan sanksi ke PNS?", "authority"),
    ("Larangan ASN di media sosial itu apa saja?", "list"),
    ("Bisakah melaporkan camat yang kampanye lewat WhatsApp?", "report"),
    ("What happens to a PPPK worker who signs up as a party member?", "sanction"),
    ("Saya mau ikut penjaringan bakal calon. Apa harus cuti dulu? Kalau nggak, sanksinya apa?",
     "permission"),
    ("Pasang stiker caleg di helm sendiri, bukan kampanye kan?", "permission"),
    ("sy PPPK mau nyalon DPRD, hrs berhenti dulu?", "permission"),
    ("So I can wear the candidate's cap at the rally, right?", "permission"),
    ("Kalau ketahuan like postingan paslon, SK PPPK sy bisa dibatalkan?", "sanction"),
    ("Kata atasan sah-sah aja ikut rapat relawan, bener gitu?", "permission"),
    ("Udah pensiun sejak Juni, berarti udah bebas ikut kampanye kan?", "permission"),
    ("Dulu pernah kena hukdis, kalau ketahuan lagi hukumannya sama aja kan?", "sanction"),
    ("Could a civil servant be prosecuted for handing out cash for a candidate?", "criminal"),
    ("Kalau nggak ada rekamannya, masih bisa dilaporin ke Bawaslu?", "report"),
    ("Our head asked us to post turnout reminders. Is that okay for us?", "permission"),
    ("Temen sy cuma megang poster calon di video, tetep kena?", "permission"),
    ("Kalau tinggalnya beda kota sama calonnya, masih kena aturan netralitas?", "general"),
    ("Guru yang posting dukung capres itu akhirnya kena sanksi gak?", "sanction"),
    ("Larangan komen di postingan paslon itu diatur di aturan apa sih?", "fact"),
])
def test_intent_is_read_from_the_question(question: str, intent: str) -> None:
    assert understand(question).intent == intent


def test_actors_and_slang_are_read_once() -> None:
    q = understand("Pensiunan PNS boleh jadi timses caleg?")
    assert "pensiunan" in q.actors and q.special_actors == ("pensiunan",)
    assert "pemilu" in q.elections
    assert {"tim", "sukses"} <= set(q.terms)  # "timses" is spelled as the documents spell it
    ppk = understand("What happens to a PPPK contract worker who joins a party?")
    assert "PPPK" in ppk.actors and "honorer" not in ppk.actors


def test_what_follows_for_something_other_than_a_civil_servant_is_no_scenario() -> None:
    q = understand("What happens to public trust when civil servants get dragged into politics?")
    assert q.intent != "scenario" and not q.asks_verdict


def test_a_question_about_several_actions_is_split_into_parts() -> None:
    two = understand("Can civil servants join a political party or vote?")
    assert [p.intent for p in two.parts] == ["permission", "permission"]
    assert "vote" in two.parts[1].action_terms and "PNS" in two.parts[1].actors
    three = understand("Netral itu batasannya apa? Ndak boleh milih? Ndak boleh jadi caleg?")
    assert len(three.parts) == 2  # "batasannya apa?" asks no verdict
    # "boleh atau tidak" and a noun phrase joined by "atau" are one question.
    assert not understand("ASN boleh atau tidak ikut kampanye?").parts
    assert not understand("Bolehkah ASN mendampingi suami atau istri yang nyaleg?").parts


def test_a_long_conversation_is_read_from_its_last_turns_only() -> None:
    history = [{"role": "user", "content": "Bolehkah saya like postingan calon bupati?"}] * 5000
    q = understand("apa sanksinya?", history)
    assert q.follow_up == "part" and "like" in q.query


def test_follow_ups_are_resolved_against_the_previous_question() -> None:
    kpps = [{"role": "user", "content": "PNS boleh jadi petugas KPPS?"}]
    new_action = understand("kalau jadi saksi partai?", kpps)
    assert new_action.follow_up == "action" and new_action.intent == "permission"
    assert "saksi" in new_action.action_terms and "kpps" not in new_action.query.lower()
    like = [{"role": "user", "content": "Bolehkah saya like postingan calon bupati?"}]
    part = understand("apa sanksinya?", like)
    assert part.follow_up == "part" and part.intent == "sanction"
    assert "like" in part.query
    actor = understand("kalau PPPK?", like)
    assert actor.follow_up == "actor" and "PPPK" in actor.actors
    # An acknowledgement before the follow-up is not its action.
    team = [{"role": "user", "content": "guru PNS boleh gak jadi tim sukses caleg?"}]
    status = understand("oke gk jd timses. kalo cuma bikin status FB dukung caleg gmn?", team)
    assert status.follow_up == "action" and status.intent == "permission"
    assert "timses" not in status.action_terms and "status" in status.action_terms
    # A question that names the whole subject stands alone, even short and right after
    # another; with an opener it still leans on the one before.
    alone = understand("Apa sanksi bagi PNS yang tidak netral?", kpps)
    assert not alone.follow_up and alone.query == "Apa sanksi bagi PNS yang tidak netral?"
    leaning = understand("kalau tidak netral sanksinya?", kpps)
    assert leaning.follow_up == "part" and "KPPS" in leaning.query


# -- decide and compose, on the real index ----------------------------------------------------


def test_a_date_question_gets_no_verdict(assistant: Assistant) -> None:
    answer = assistant.ask("When is the 2024 general election vote?")
    assert answer.verdict is None and answer.intent == "fact"
    assert not answer.text.startswith(("Yes.", "No."))


def test_a_scenario_question_gets_the_rule_and_its_verdict(direct: Assistant) -> None:
    answer = direct.ask("Bagaimana jika perangkat desa aktif menjadi caleg?")
    assert answer.intent == "scenario" and answer.verdict == "bersyarat"
    assert answer.citations[0].doc_id == "aturan-kepala-desa-perangkat-desa"
    assert "PKPU 10/2023 Pasal 12 ayat (1) huruf b" in [b.label for b in answer.basis]


def test_several_actions_with_different_rules_are_answered_one_by_one(assistant) -> None:
    answer = assistant.ask("Can civil servants join a political party or vote?")
    assert answer.outcome == "parts" and answer.verdict == "bersyarat"
    assert [p.verdict for p in answer.parts] == ["tidak_boleh", "boleh"]
    cards = [c.doc_id for c in answer.citations if c.type == "aturan"]
    assert cards == ["aturan-anggota-pengurus-partai", "aturan-memberikan-suara"]
    assert "No." in answer.text and "Yes." in answer.text
    assert all(f"[{c.n}]" in answer.text for c in answer.citations if c.type == "aturan")


def test_a_when_question_a_card_answers_without_a_date_gets_the_card(assistant) -> None:
    answer = assistant.ask("Pak sekda kami mau maju pilbup. Kapan dia harus lepas status ASN?")
    assert answer.outcome == "explanation" and answer.verdict is None
    assert answer.citations[0].doc_id == "aturan-nyalon-kepala-daerah"


def test_a_who_question_about_people_no_document_names_is_declined(assistant) -> None:
    answer = assistant.ask("Siapa camat di Kabupaten Sleman yang dipanggil Bawaslu karena "
                           "video dukungan ke calon?")
    assert answer.outcome == "abstain" and not answer.grounded


@pytest.mark.parametrize(("question", "card", "verdict"), [
    ("Suami saya PNS, saya ibu rumah tangga bukan ASN, boleh jadi relawan caleg?",
     "aturan-keluarga-asn-bukan-asn", "boleh"),
    ("Kalau bikin status ajakan ke TPS tanpa sebut calon, aman nggak buat PNS?",
     "aturan-unggahan-netral-pemilu", "bersyarat"),
    # ... but a card's situation is required: helping a candidate is not running for office,
    # and a post that backs a candidate is not a neutral post.
    ("Boleh nggak PNS bantu-bantu caleg di kampungnya?", None, None),
    ("PNS boleh posting foto calon bupati dengan nomor urutnya?", None, None),
    ("Bolehkah guru PNS nonton kampanye akbar pas jam kerja?", None, None),
])
def test_a_card_answers_only_the_situation_it_describes(direct: Assistant, question: str,
                                                        card: str | None,
                                                        verdict: str | None) -> None:
    answer = direct.ask(question)
    if card:
        assert answer.citations[0].doc_id == card and answer.verdict == verdict
    else:
        cited = answer.citations[0].doc_id if answer.citations else ""
        assert not cited.startswith("aturan-nyal") and cited != "aturan-unggahan-netral-pemilu"
        assert answer.verdict not in ("boleh", "bersyarat")


def test_a_follow_up_keeps_the_situation_of_the_question_before(direct) -> None:
    history = [{"role": "user", "content": "Istri saya calon bupati, saya ASN. Boleh ikut "
                                           "mendampingi?"}]
    answer = direct.ask("kalau foto bareng?", history=history)
    assert answer.citations[0].doc_id == "aturan-foto-dengan-pasangan-calon"
    assert answer.verdict == "bersyarat"


def test_a_near_miss_is_declined(assistant: Assistant) -> None:
    answer = assistant.ask("Kapan cuti bersama Natal tahun 2025?")
    assert not answer.grounded and answer.verdict is None and answer.outcome == "abstain"


def test_a_known_near_miss_is_declined_with_where_to_ask(assistant: Assistant) -> None:
    answer = assistant.ask("Umur berapa guru PNS pensiun sekarang?")
    assert answer.outcome == "abstain" and not answer.grounded and answer.verdict is None
    assert "bkn.go.id" in answer.text
    # ... while the neutrality question about retirees is still answered.
    assert assistant.ask("Apakah pensiunan PNS boleh jadi timses?").grounded


def test_a_card_for_other_actors_never_rules_for_a_serving_pns(settings) -> None:
    """With no gate at all, the retirees' "Boleh." does not reach a serving PNS."""
    bot = Assistant(settings, calibration=Calibration())
    for text in ("KPU perbolehkan PNS berkampanye dalam pilkada?",
                 "Bolehkah PNS yang tiga bulan lagi pensiun ikut kampanye calon bupati?"):
        decision = bot.decide(bot.understand(text))
        assert not (decision.outcome == "verdict"
                    and decision.card.get("id") == "aturan-pensiunan-asn")


@pytest.mark.parametrize(("question", "card", "verdict"), [
    ("Kades boleh ikut kampanye caleg nggak?", "aturan-kepala-desa-perangkat-desa",
     "tidak_boleh"),
    ("Perangkat desa boleh nyoblos di pilkada?", "aturan-kepala-desa-perangkat-desa", "boleh"),
    ("Polisi boleh nyoblos gak sih?", "aturan-tni-polri", "tidak_boleh"),
    ("May police officers campaign for a presidential candidate?", "aturan-tni-polri",
     "tidak_boleh"),
])
def test_a_card_with_rulings_rules_per_action(assistant: Assistant, question: str, card: str,
                                              verdict: str) -> None:
    answer = assistant.ask(question)
    assert answer.citations[0].doc_id == card and answer.verdict == verdict


def test_joining_a_campaign_is_answered_no(assistant: Assistant) -> None:
    """The plain question gets the plain rule, not the retirees' card or the grey area of
    attending only to listen."""
    answer = assistant.ask("Bolehkah ASN ikut kampanye?")
    assert answer.citations[0].doc_id == "aturan-ikut-kampanye"
    assert answer.verdict == "tidak_boleh"


def test_a_police_officers_wife_is_not_answered_as_police(assistant: Assistant) -> None:
    answer = assistant.ask("Istri polisi boleh nyoblos di pemilu?")
    assert answer.citations and answer.citations[0].doc_id != "aturan-tni-polri"


def test_a_who_question_on_news_quotes_the_sentence_with_the_name(assistant) -> None:
    answer = assistant.ask("Siapa moderator webinar BKPSDM Langsa?")
    assert answer.outcome == "passages" and "Eri Nurmansyah" in answer.text


def test_a_news_question_naming_the_report_by_its_setting_gets_the_fact(assistant) -> None:
    """"Di webinar BKPSDM Langsa" only says which report; the answer is the sentence about
    the Kesbangpol official, not the opening sentence that repeats the setting."""
    answer = assistant.ask("Di webinar BKPSDM Langsa, siapa pejabat Kesbangpol yang "
                           "menjelaskan netralitas?")
    assert answer.outcome == "passages" and "Zulhadisyah Sulaiman" in answer.text
    answer = assistant.ask("Pj Wali Kota Palangka Raya menyebut ASN itu korps yang bagaimana?")
    assert "dilatih, diuji, dan diangkat" in answer.text


def test_a_news_answer_quotes_what_follows_the_speaker(assistant: Assistant) -> None:
    """The sentence naming the speaker is quoted with the next one, which holds the point."""
    answer = assistant.ask(
        "Menurut Ketua AWDI Muba, apa bedanya Pilkada sekarang dengan sebelum ada media sosial?")
    assert answer.outcome == "passages" and "tak mengenal batas ruang dan waktu" in answer.text


def test_a_when_and_where_question_quotes_both_the_date_and_the_place(assistant) -> None:
    """The date stands in a fragment after the sentence ("Selasa (16/10/2024)."), which is
    read with that sentence; each asked-for kind of answer gets a sentence that holds it."""
    answer = assistant.ask("Podcast Netralitas ASN Dipertanyakan itu diadakan kapan dan di "
                           "studio mana?")
    assert "16/10/2024" in answer.text and "Detik Post" in answer.text


def test_a_which_body_question_quotes_the_sentence_naming_the_bodies(assistant) -> None:
    answer = assistant.ask("Lembaga mana yang diminta menindak oknum ASN tidak netral di "
                           "Palembang?")
    assert answer.outcome == "passages" and "Bawaslu dan Inspektorat" in answer.text


def test_a_retiree_question_is_answered_from_the_retiree_card(assistant: Assistant) -> None:
    answer = assistant.ask("Pensiunan PNS boleh ikut kampanye calon bupati?")
    assert answer.citations[0].doc_id == "aturan-pensiunan-asn"
    assert answer.verdict == "boleh"


def test_a_witness_question_is_not_answered_from_the_kpps_card(assistant: Assistant) -> None:
    history = [{"role": "user", "content": "PNS boleh jadi petugas KPPS?"}]
    answer = assistant.ask("kalau jadi saksi partai?", history=history)
    assert answer.citations[0].doc_id == "aturan-saksi-partai-calon-tps"
    assert answer.verdict == "tidak_boleh"


def test_a_follow_up_asking_for_the_sanction_leads_with_it(assistant: Assistant) -> None:
    history = [{"role": "user", "content": "Bolehkah saya like postingan calon bupati?"}]
    answer = assistant.ask("apa sanksinya?", history=history)
    assert answer.text.startswith("Sanksi:") and answer.verdict is None
    assert answer.citations[0].doc_id == "aturan-medsos-like-komentar-bagikan"
    assert answer.sanction is not None and "berat" in answer.sanction.level


def test_a_criminal_question_states_the_penalty(assistant: Assistant) -> None:
    answer = assistant.ask("ASN yang jadi tim kampanye bisa dipidana?")
    assert answer.citations[0].doc_id == "aturan-ancaman-pidana"
    assert "Rp12 juta" in answer.text.split("\n")[0] and answer.verdict is None


def test_a_verdict_cites_the_law_itself(assistant: Assistant) -> None:
    answer = assistant.ask("Bolehkah saya memberi like pada unggahan calon bupati?")
    assert answer.outcome == "verdict" and answer.intent == "permission"
    official = [c for c in answer.citations if c.type == "peraturan"]
    assert any(c.article == "UU 20/2023 Pasal 24 ayat (1) huruf d" and "menjaga netralitas"
               in c.quote for c in official)
    basis = next(b for b in answer.basis if b.label == "UU 20/2023 Pasal 24 ayat (1) huruf d")
    assert "menjaga netralitas" in basis.text and basis.citation == official[0].n
    assert "diperbarui 2026-" in answer.text  # a card's date is when it was updated
    assert 0.0 <= (answer.confidence or 0.0) <= 1.0
    data = answer.to_dict()
    assert {"intent", "outcome", "basis", "sanction", "confidence", "alternatives"} <= set(data)


def test_a_card_that_excludes_the_question_gives_no_verdict(settings, assistant) -> None:
    """With no gate at all, the KPPS card still refuses a question about a party witness."""
    bot = Assistant(settings, calibration=Calibration())
    q = bot.understand("Bolehkah PNS jadi saksi partai di TPS?")
    decision = bot.decide(q)
    assert decision.card.get("id") != "aturan-petugas-kpps-pps"


# -- the law in the corpus --------------------------------------------------------------------

# Articles new cards cite whose official text is not yet extracted into corpus/peraturan.
NOT_YET_EXTRACTED = {"UU 7/2017 Pasal 521", "UU 7/2017 Pasal 240 ayat (1) huruf k"}


def test_every_cited_article_of_an_extracted_law_is_in_the_corpus() -> None:
    loaded = load_corpus(ROOT / "corpus")
    assert loaded.errors == []
    units: dict[str, set[str]] = {}
    for doc in loaded.documents:
        if doc.regulation is not None:
            assert doc.type == "peraturan" and doc.meta.get("extract") is True
            units.setdefault(doc.regulation.short, set()).update(
                cite(doc.regulation, s) for s in doc.regulation.sections)
    assert {"PP 94/2021", "UU 20/2023", "UU 7/2017", "PP 42/2004"} <= set(units)
    missing = set()
    for doc in loaded.documents:
        for label in map(str, doc.meta.get("basis") or []) if doc.type == "aturan" else []:
            law = label.split(" Pasal ")[0].split(" Penjelasan")[0]
            if law in units and " Pasal " in label and not any(
                    u == label or u.startswith(label + " ") for u in units[law]):
                missing.add(label)
    assert missing == NOT_YET_EXTRACTED


def test_a_verdict_needs_the_verdict_scope_threshold(settings) -> None:
    """Below the scope a verdict needs (chosen on validation), the card explains instead."""
    strict = Calibration.load()
    strict.thresholds = {**strict.thresholds, "verdict_scope": 0.999999}
    bot = Assistant(settings, calibration=strict)
    answer = bot.ask("Bolehkah ASN ikut kampanye?")
    assert answer.grounded and answer.verdict is None
    assert answer.citations[0].doc_id == "aturan-ikut-kampanye"


@pytest.mark.parametrize("question", [
    "Bolehkah mahasiswa jadi relawan capres?",
    "Paslon boleh bagi-bagi sembako waktu kampanye?",
    "May journalists run as legislative candidates?",
    "What should presidential candidates avoid in their debates?",
    "Is it acceptable for an incumbent to skip campaign leave?",
])
def test_a_question_about_people_the_asn_rules_do_not_bind_is_declined(assistant, question
                                                                       ) -> None:
    answer = assistant.ask(question)
    assert answer.outcome == "abstain" and answer.verdict is None
    assert "ASN" in answer.text


def test_a_question_that_names_a_civil_servant_is_still_answered(assistant) -> None:
    answer = assistant.ask("Bolehkah ASN foto bareng caleg?")
    assert answer.verdict == "tidak_boleh"


@pytest.mark.parametrize(("question", "card"), [
    ("Bolehkah ASN maju pilkada tanpa mengundurkan diri?", "aturan-nyalon-kepala-daerah"),
    ("Suami saya nyaleg, saya PNS, boleh jadi juru kampanye dan naik panggung?",
     "aturan-pasangan-keluarga-jadi-calon"),
])
def test_a_condition_the_question_says_is_unmet_gives_no(assistant, question: str,
                                                        card: str) -> None:
    answer = assistant.ask(question)
    assert answer.citations[0].doc_id == card and answer.verdict == "tidak_boleh"


@pytest.mark.parametrize("question", [
    "Bolehkah kampanye di masjid?",
    "Spanduk caleg boleh dipasang di tiang listrik?",
])
def test_permission_for_nobody_in_particular_may_be_the_campaigners_rules(assistant,
                                                                         question) -> None:
    """Where a campaign may be held binds the campaigners: declined with where to ask."""
    answer = assistant.ask(question)
    assert answer.outcome == "abstain" and answer.verdict is None
    assert "Bawaslu" in answer.text


@pytest.mark.parametrize("question", [
    "Bolehkah saya ikut kampanye di masjid?",
    "Apakah PNS boleh kampanye di sekolah?",
])
def test_the_same_action_asked_for_a_civil_servant_gets_the_rule(assistant, question) -> None:
    answer = assistant.ask(question)
    assert answer.verdict == "tidak_boleh"
    assert answer.citations[0].doc_id == "aturan-ikut-kampanye"


def test_the_asker_speaking_of_themselves_is_read_once() -> None:
    assert understand("Boleh gak gw ikut kampanye?").personal
    assert not understand("Bolehkah kampanye di masjid?").personal
    history = [{"role": "user", "content": "Saya PNS, boleh like postingan caleg?"}]
    assert understand("kalau komentar?", history).personal
    parts = understand("Saya boleh like postingan caleg? Boleh komentar juga?").parts
    assert len(parts) == 2 and all(p.personal for p in parts)


def test_informal_asking_words_are_not_what_the_question_is_about() -> None:
    q = understand("knp klu sy jg like postingan caleg?")
    assert not {"knp", "klu", "sy", "jg"} & set(q.action_terms)
    assert "like" in q.action_terms


def test_a_permission_question_about_no_election_gets_no_verdict(assistant: Assistant) -> None:
    """A transfer to follow one's wife shares "istri" with the spouse-candidate card, but
    nothing in it is about an election."""
    answer = assistant.ask("Boleh nggak PNS pindah tugas ke kota lain ikut istri?")
    assert answer.outcome == "abstain" and answer.verdict is None


def test_election_words_count_in_any_derived_form() -> None:
    assert understand("Seorang kepala desa berkampanye, boleh?").domain_terms >= 1
    assert understand("Boleh mutasi ikut suami?").domain_terms == 0


def test_a_holiday_does_not_turn_a_campaign_question_into_one_about_leave(assistant) -> None:
    answer = assistant.ask("Bolehkah PNS berkampanye di hari libur?")
    assert answer.verdict == "tidak_boleh"
    assert answer.citations[0].doc_id == "aturan-ikut-kampanye"


def test_no_way_back_after_resigning_to_run(assistant: Assistant) -> None:
    answer = assistant.ask("Sy PNS, kemarin mundur buat nyaleg DPRD tp gagal. Bisa diangkat "
                           "kembali jadi PNS?")
    assert answer.verdict == "tidak_boleh" and "PP 32/2018" in answer.text


def test_a_party_shirt_is_an_attribute_not_a_plain_colour(assistant: Assistant) -> None:
    answer = assistant.ask("ASN boleh pakai kaos partai warna merah ke kantor?")
    assert answer.verdict == "tidak_boleh"
    assert answer.citations[0].doc_id != "aturan-pakaian-warna-partai"


def test_watching_at_home_is_not_attending_but_broadcasting_the_rally_is_joining(assistant
                                                                               ) -> None:
    assert assistant.ask("Boleh gak PNS nonton debat capres di TV?").verdict == "boleh"
    answer = assistant.ask("Saya ASN, boleh datang ke kampanye akbar terus live streaming "
                           "di IG?")
    assert answer.verdict == "tidak_boleh"


def test_a_voters_paperwork_question_is_declined_with_the_kpu_pointer(assistant) -> None:
    answer = assistant.ask("Kalau e-KTP hilang, masih bisa nyoblos nggak?")
    assert answer.outcome == "abstain" and "KPU" in answer.text


def test_an_english_question_about_a_region_the_corpus_never_covers_is_declined(assistant
                                                                                 ) -> None:
    """"Central Java" is a name the corpus never mentions (in English or as Jawa Tengah);
    "South Sumatra" is known as Sumatera Selatan."""
    answer = assistant.ask("How many civil servants in Central Java were punished for "
                           "breaking neutrality rules in 2020?")
    assert answer.outcome == "abstain"
    answer = assistant.ask("How many neutrality cases involving civil servants were recorded "
                           "in South Sumatra?")
    assert answer.outcome != "abstain"


def test_must_i_resign_to_run_gets_the_condition(direct: Assistant) -> None:
    answer = direct.ask("Does a civil servant need to resign before running for the DPRD?")
    assert answer.verdict == "bersyarat" and "resign" in answer.text.lower()


def test_the_actor_named_first_is_the_one_asked_about() -> None:
    assert understand("Pak camat nyuruh kades kumpulin warga buat calon bupati, boleh?"
                      ).special_actors == ()
    assert understand("Kades boleh ajak PNS di desanya dukung calon?").special_actors


def test_a_follow_up_about_a_new_action_keeps_the_candidate_of_the_first() -> None:
    history = [{"role": "user", "content": "PNS boleh datang ke hajatan calon bupati?"}]
    q = understand("Kalau foto-foto di sana?", history)
    assert "calon" in q.terms and "foto" in q.action_terms


def test_a_relatives_candidacy_does_not_allow_posting_or_urging_votes(assistant) -> None:
    answer = assistant.ask("Suami saya nyaleg, saya PNS. Boleh saya posting foto kampanyenya "
                           "di IG?")
    assert answer.verdict == "tidak_boleh"


def test_taking_down_a_banner_hung_on_ones_fence_is_allowed(assistant: Assistant) -> None:
    answer = assistant.ask("Ada spanduk caleg dipasang di pagar rumah saya tanpa izin. Saya "
                           "PNS, boleh gak saya copot?")
    assert answer.verdict == "boleh"


def test_a_negated_attribute_is_not_an_attribute(direct: Assistant) -> None:
    """"tanpa atribut" is passive attendance; "pakai seragam dinas" is an attribute; the
    "gak" of "boleh gak" asks, it does not negate."""
    without = direct.ask("Saya ASN, kalau datang ke kampanye tanpa atribut apa pun, boleh?")
    assert without.verdict == "bersyarat"
    uniform = direct.ask("Saya ASN, datang ke kampanye pakai seragam dinas boleh?")
    assert uniform.verdict == "tidak_boleh"


@pytest.mark.parametrize("question", [
    "Kepala dinas nyuruh guru-guru memilih paslon nomor urut 1, itu boleh?",
    "Tetangga minta saran sebaiknya pilih caleg yang mana, saya ASN boleh kasih saran?",
])
def test_telling_or_advising_others_whom_to_vote_for_is_not_voting(assistant: Assistant,
                                                                   question: str) -> None:
    answer = assistant.ask(question)
    assert answer.verdict == "tidak_boleh"
    assert answer.citations[0].doc_id != "aturan-memberikan-suara"


def test_another_countrys_civil_service_is_declined(assistant: Assistant) -> None:
    answer = assistant.ask("Can civil servants in Singapore join a political party?")
    assert answer.outcome == "abstain" and "other countries" in answer.text
    assert not understand("Bolehkah ASN pose hati ala Korea Selatan?").abroad


def test_informal_report_and_counts_as_support_questions_are_read() -> None:
    assert understand("temen kantor posting paslon terus, lapornya kemana ya?").intent == "report"
    assert understand("kalo cuma komen 'amin' di postingan caleg, itu dihitung dukungan ya?"
                      ).intent == "permission"


def test_village_head_elections_are_a_near_miss_even_as_a_permission_question(assistant
                                                                              ) -> None:
    """A village head is not a civil servant: the near miss on running a pilkades declines
    a question about its costs, permission-worded or not."""
    answer = assistant.ask("Calon kades boleh nggak dimintai biaya pendaftaran pilkades?")
    assert answer.outcome == "abstain" and "pilkades" in answer.text.lower()


def test_a_soldier_rejoining_after_running_gets_no_verdict(assistant: Assistant) -> None:
    answer = assistant.ask("Tentara yang mundur buat nyalon bupati terus kalah, bisa balik "
                           "jadi TNI lagi?")
    assert answer.verdict is None


def test_a_who_question_naming_only_what_a_news_report_names_is_answered(assistant) -> None:
    answer = assistant.ask("who chairs AWDI in Musi Banyuasin?")
    assert answer.outcome == "passages" and "Darul Kutni" in answer.text


def test_speaking_at_a_campaign_rally_is_campaigning(assistant: Assistant) -> None:
    answer = assistant.ask("Bolehkah guru PNS jadi pembicara di rapat umum kampanye partai?")
    assert answer.verdict == "tidak_boleh"


def test_a_sanction_word_alone_does_not_make_a_question_about_elections(assistant) -> None:
    answer = assistant.ask("Bolehkah PNS pamer harta di medsos, apa sanksinya?")
    assert answer.verdict is None


def test_sitting_legislators_are_not_civil_servants_but_candidates_are_no_actors() -> None:
    assert understand("Anggota DPRD boleh kampanye buat caleg lain?").others
    assert not understand("PNS boleh dampingi istri yang jadi calon anggota DPRD?").others


def test_an_election_organiser_as_the_subject_is_not_a_civil_servant(assistant) -> None:
    answer = assistant.ask("Anggota PPS boleh like postingan caleg di FB?")
    assert answer.outcome == "abstain" and answer.verdict is None
    assert not understand("boleh jadi anggota KPPS?").others


def test_a_civil_servant_asking_about_moving_polling_station_gets_the_kpu_pointer(assistant
                                                                                ) -> None:
    """Every civil servant is a voter: the voter-list near miss binds them too."""
    answer = assistant.ask("Saya PNS, belum urus pindah TPS padahal sudah pindah domisili. "
                           "Masih bisa nyoblos?")
    assert answer.outcome == "abstain" and "KPU" in answer.text


def test_escorting_a_candidates_registration_is_not_running(assistant: Assistant) -> None:
    answer = assistant.ask("Saya PNS diajak ikut rombongan nganter paslon daftar ke KPU, "
                           "boleh?")
    assert answer.verdict == "tidak_boleh"
    assert answer.citations[0].doc_id not in {"aturan-nyalon-kepala-daerah",
                                               "aturan-nyalon-dprd"}


def test_a_would_be_candidate_may_not_use_the_office_before_resigning(assistant) -> None:
    answer = assistant.ask("Saya kepala dinas PNS mau maju pilkada. Sebelum mundur, boleh "
                           "sosialisasi diri lewat kegiatan dinas?")
    assert answer.verdict == "tidak_boleh"


def test_forwarding_a_campaign_chain_message_is_spreading_support(assistant) -> None:
    answer = assistant.ask("Saya PNS, di grup WA keluarga ada pesan berantai ajakan pilih "
                           "caleg. Kalau saya teruskan ke grup lain, kena gk?")
    assert answer.verdict == "tidak_boleh"


def test_informal_can_and_caught_questions_ask_permission() -> None:
    assert understand("emg ASN bisa minta izin buat ikut kampanye?").intent == "permission"
    assert understand("klo kita ikut deklarasi aja, kena gk?").intent == "permission"


def test_resigning_only_if_elected_is_running_without_resigning(assistant) -> None:
    answer = assistant.ask("Saya PNS mau nyaleg DPRD, boleh mundur kalau sudah terpilih saja?")
    assert answer.verdict == "tidak_boleh"


def test_private_employers_and_regional_heads_as_subjects_are_not_civil_servants() -> None:
    assert understand("Kantor saya (swasta) nyuruh karyawan milih caleg tertentu, boleh?").others
    assert understand("Bupati yang mau nyalon lagi boleh mutasi pejabat?").others
    assert not understand("Bolehkah ASN like postingan calon bupati?").others
    # ... and an asker who says they are a candidate asks a candidate's rules.
    assert understand("sy caleg DPRD, boleh bantu kampanye caleg partai lain?").others
    assert not understand("sy PNS mau jadi caleg, boleh?").others


def test_a_campaign_teams_internal_meeting_is_not_passive_attendance(assistant) -> None:
    answer = assistant.ask("Bolehkah ASN ikut rapat konsolidasi tim pemenangan caleg kalau "
                           "tidak pakai atribut?")
    assert answer.verdict == "tidak_boleh"


# -- an act that breaches neutrality decides over the situation around it ---------------------


def test_breaching_acts_are_read_with_their_negation_and_harmless_uses() -> None:
    def cards(question: str) -> set[str]:
        return {card for card, _ in understand(question).breaches}

    assert cards("Saya PNS, boleh datang pakai kaos partai?") == {
        "aturan-atribut-partai-kaos-kampanye"}
    assert not cards("Saya PNS, boleh datang tanpa atribut partai?")
    assert not cards("Boleh foto bareng suami caleg asal nggak saya upload?")
    assert not cards("Bolehkah camat mengajak warga menggunakan hak pilihnya?")
    assert cards("Camat ngajak warga pilih paslon nomor 1, boleh?") == {
        "aturan-pertemuan-ajakan-hadiah"}


@pytest.mark.parametrize(("question", "card", "permitted"), [
    ("Saya PNS, boleh nyoblos terus ngajak tetangga pilih paslon nomor 2?",
     "aturan-pertemuan-ajakan-hadiah", "Menggunakan hak pilih"),
    ("Saya ASN, boleh datang ke kampanye cuma dengerin tapi berangkatnya naik mobil dinas?",
     "aturan-fasilitas-negara", "Menghadiri kampanye"),
    ("Sy PNS, boleh gak ikut KPPS sekalian jadi jurkam caleg?", "aturan-ikut-kampanye",
     "KPPS"),
])
def test_an_act_that_breaches_decides_over_the_situation_allowed(
        assistant: Assistant, question: str, card: str, permitted: str) -> None:
    answer = assistant.ask(question)
    assert answer.verdict == "tidak_boleh"
    assert answer.citations[0].doc_id == card
    note = next(line for line in answer.text.splitlines() if "tidak mencakup" in line)
    assert permitted in note


@pytest.mark.parametrize("question", [
    "Saya PNS, boleh datang ke kampanye di luar jam kerja cuma dengerin?",
    "Saya PNS, boleh foto bareng suami yang nyaleg asal tidak saya upload?",
])
def test_a_negated_breach_or_exclusion_leaves_the_permitting_card(direct: Assistant,
                                                                   question: str) -> None:
    answer = direct.ask(question)
    assert answer.verdict == "bersyarat"
    assert answer.citations[0].doc_id in {"aturan-hadir-kampanye-mendengar",
                                          "aturan-foto-dengan-pasangan-calon"}


def test_an_indonesian_civil_servant_abroad_is_still_asked_about() -> None:
    assert not understand("Saya PNS lagi kuliah S2 di Australia, boleh gabung tim sukses "
                          "capres untuk diaspora?").abroad
    assert understand("In Malaysia, can civil servants campaign?").abroad
    assert understand("Who won the 2020 US presidential election?").abroad
    assert understand("As a UK civil servant, may I canvass for a party?").abroad


def test_a_negated_or_borrowed_actor_word_names_no_civil_servant() -> None:
    q = understand("Gubernur itu pejabat negara, bukan ASN. Boleh dia ikut kampanye?")
    assert q.actors == () and "pejabat negara" in q.others
    assert understand("Saya pejabat eselon III di pemkab, boleh like postingan calon?").actors


@pytest.mark.parametrize("question", [
    "Kepsek kami ngumpulin guru buat rapat paslon, boleh?",
    "Are public servants allowed to put up campaign banners?",
    "Pegawai pemkot ketahuan jadi timses caleg, gimana?",
])
def test_civil_service_roles_are_read_as_civil_servants(question: str) -> None:
    assert "PNS" in understand(question).actors


@pytest.mark.parametrize(("question", "verdict", "card"), [
    # What turns an allowed situation into support is a no.
    pytest.param("Saya PNS, suami caleg. Boleh ikut teriak yel-yel pas nemenin dia kampanye?",
                 "tidak_boleh", "aturan-ikut-kampanye", id="yel-yel-beside-a-spouse"),
    pytest.param("Sy ASN, boleh jadi pengurus ormas sayap partai? kan bukan partai",
                 "tidak_boleh", "aturan-ormas-organisasi-kemasyarakatan", id="party-wing-ormas"),
    pytest.param("Aula kantor kecamatan dipinjam tim caleg buat sosialisasi program, sy PNS boleh "
                 "ngizinin?", "tidak_boleh", "aturan-sosialisasi-program-pemerintah",
                 id="candidate-team-socialisation"),
    # A card whose permitting ruling names the action answers it; a breaching act still decides.
    pytest.param("Saya ASN, habis nyoblos boleh upload foto jari ungu ke IG? nggak pakai pose "
                 "apa-apa", "boleh", "aturan-memberikan-suara", id="inked-finger-photo"),
    pytest.param("Saya ASN, habis nyoblos upload foto jari ungu sambil pose dua jari, boleh?",
                 "tidak_boleh", "aturan-pose-jari-gestur", id="inked-finger-with-a-pose"),
    # Rulings for official duty and a neutral pose.
    pytest.param("Saya camat, diundang resmi ke acara partai sebagai tugas dinas, ada surat tugas, "
                 "boleh pakai mobil dinas?", "bersyarat", "aturan-fasilitas-negara",
                 id="official-duty"),
    pytest.param("Foto bareng kantor pakai pose tangan mengepal boleh buat ASN?", "boleh",
                 "aturan-pose-jari-gestur", id="clenched-fist"),
])
def test_the_card_that_rules_on_the_act_answers(direct: Assistant, question: str,
                                                verdict: str, card: str) -> None:
    answer = direct.ask(question)
    assert (answer.verdict, answer.citations[0].doc_id) == (verdict, card)


@pytest.mark.parametrize(("question", "verdict"), [
    pytest.param("Sy PNS, diminta tetangga yg nyaleg jadi panitia konsumsi pas acara "
                 "kampanyenya, boleh?", "tidak_boleh", id="campaign-catering"),
    pytest.param("Our regional secretary is running for regent. Can he keep his post while "
                 "campaigning?", "tidak_boleh", id="running-in-office"),
    pytest.param("Sekolah kami jadi TPS, terus caleg mau masang spanduk di pagar sekolah, sy "
                 "kepsek boleh ngizinin?", "tidak_boleh", id="banner-on-a-school-fence"),
    pytest.param("Kadis diundang ke rakerda partai yg bahas pemenangan pilgub, boleh datang sbg "
                 "tamu?", "tidak_boleh", id="party-work-meeting"),
    # Pay, other organisations, village polls and state officials get no verdict.
    pytest.param("Sy perangkat desa, mau nyalon kades di desa sebelah, harus mundur dulu gak?",
                 None, id="village-head-candidacy"),
    pytest.param("Sy ASN KTP luar kota, pas hari coblosan telat ngantor, tukin kepotong gak?",
                 None, id="pay-on-voting-day"),
    pytest.param("Sy PNS jadi anggota PPK, honornya boleh diterima bareng gaji?", None,
                 id="poll-worker-pay"),
    pytest.param("Saya ASN ditawari jadi bendahara pengurus PMI kabupaten, kan bukan partai, "
                 "boleh?", None, id="non-party-organisation"),
    pytest.param("Gubernur itu pejabat negara, bukan ASN. Boleh dia ikut kampanye?", None,
                 id="state-official"),
])
def test_the_verdict_or_none(assistant: Assistant, question: str, verdict: str | None) -> None:
    assert assistant.ask(question).verdict == verdict


def test_a_conditional_permission_is_asked_back_unless_direct(assistant, monkeypatch) -> None:
    """By default (``verdict_policy=cautious``) "Boleh dengan syarat" is not a verdict: the
    allowed case is shown beside a forbidden one and the asker is asked which is theirs;
    "Boleh" and "Tidak boleh" stand. ``direct`` gives the card's verdict."""
    question = "Bolehkah PNS jadi anggota KPPS?"
    answer = assistant.ask(question)
    assert answer.outcome == "clarify" and answer.verdict is None
    verdicts = [a.verdict for a in answer.alternatives]
    assert verdicts[0] == "bersyarat" and "tidak_boleh" in verdicts[1:]
    assert answer.alternatives[0].doc_id == "aturan-petugas-kpps-pps"
    assert assistant.ask("Bolehkah PNS ikut kampanye capres?").verdict == "tidak_boleh"
    assert assistant.ask("Bolehkah PNS mencoblos di pilkada?").verdict == "boleh"
    monkeypatch.setattr(assistant, "settings",
                        assistant.settings.replace(verdict_policy="direct"))
    assert assistant.ask(question).verdict == "bersyarat"
