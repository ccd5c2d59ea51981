"""Text encoders: the ``Encoder`` protocol, the real e5 encoder and a hashing fake.

Owns: turning Chinese text into float32, L2-normalised vectors. Callers get an
``Encoder`` passed in; nothing here reads settings at import time or loads a
model before it is first needed.

* ``CachedQueryEncoder`` is what both real encoders share: lazy loading, e5's
  ``"query: "`` / ``"passage: "`` prefixes and a bounded LRU cache of query
  vectors (shoppers repeat the same short messages).
* ``E5Encoder`` runs multilingual-e5-small through sentence-transformers: the
  reference and the training path. ``retrieval.onnx_encoder.OnnxE5Encoder``
  runs the same model on ONNX Runtime for serving (no torch in the process);
  ``encoder_from_settings`` picks one by ``settings.encoder_backend``.
* ``HashingEncoder`` is a deterministic character n-gram hashing encoder for
  tests of index mechanics only: it has no notion of meaning.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from retrieval.errors import EncoderError

if TYPE_CHECKING:
    from schema.settings import Settings

logger = logging.getLogger(__name__)

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds queries and passages into one cosine space."""

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Shape ``(len(texts), dim)``, float32, rows L2-normalised."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Shape ``(len(texts), dim)``, float32, rows L2-normalised."""
        ...


@dataclass(frozen=True)
class CacheInfo:
    """Counters of the query cache, like ``functools.lru_cache``'s."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


def _as_text_list(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("pass a sequence of texts, not a single str")
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"texts must be str, got {type(t).__name__}")
    return out


class CachedQueryEncoder:
    """Shared behaviour of the real encoders: lazy loading and the bounded query LRU cache.

    Subclasses implement ``_load()`` (returns the embedding dimension) and
    ``_encode_uncached(texts, prefix)``; queries go through the cache,
    passages never do (they are encoded once, at index build).
    """

    backend = "abstract"

    def __init__(self, model_name_or_path: str, *, batch_size: int = 32, cache_size: int = 4096) -> None:
        if batch_size < 1 or cache_size < 0:
            raise ValueError("batch_size must be >= 1 and cache_size >= 0")
        self.model_name_or_path = model_name_or_path
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._dim: int | None = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    # --- loading -----------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._dim is not None

    def warm_up(self) -> None:
        """Load the model (once; thread-safe) and run one tiny encode."""
        if self._dim is not None:
            return
        with self._load_lock:
            if self._dim is None:
                self._dim = self._load()

    def _load(self) -> int:
        raise NotImplementedError

    def _encode_uncached(self, texts: list[str], prefix: str) -> np.ndarray:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        self.warm_up()
        assert self._dim is not None
        return self._dim

    # --- encoding ----------------------------------------------------------
    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        self.warm_up()
        return self._encode_uncached(texts, prefix)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        items = _as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(items, PASSAGE_PREFIX)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        items = _as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.cache_size == 0:
            return self._encode(items, QUERY_PREFIX)
        rows: list[np.ndarray | None] = [None] * len(items)
        with self._cache_lock:
            for i, text in enumerate(items):
                hit = self._cache.get(text)
                if hit is None:
                    self._misses += 1
                else:
                    self._cache.move_to_end(text)
                    self._hits += 1
                    rows[i] = hit
        missing = list(dict.fromkeys(t for t, r in zip(items, rows, strict=False) if r is None))
        if missing:
            fresh = dict(zip(missing, self._encode(missing, QUERY_PREFIX), strict=False))
            with self._cache_lock:
                for text, vec in fresh.items():
                    vec.setflags(write=False)
                    self._cache[text] = vec
                    self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            rows = [fresh[t] if r is None else r for t, r in zip(items, rows, strict=False)]
        return np.stack(rows).astype(np.float32, copy=False)

    def cache_info(self) -> CacheInfo:
        with self._cache_lock:
            return CacheInfo(self._hits, self._misses, self.cache_size, len(self._cache))

    def cache_clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self._hits = self._misses = 0


class E5Encoder(CachedQueryEncoder):
    """multilingual-e5-small (or any e5-style model) via sentence-transformers.

    The reference encoder and the training path (``encoder_backend="torch"``);
    serving uses ``retrieval.onnx_encoder.OnnxE5Encoder`` by default. The
    constructor only records its arguments; ``warm_up()`` imports torch and
    loads the model, and is called by the first encode when nobody called it
    before. ``num_threads`` sets ``torch.set_num_threads`` at load time; note
    that torch's thread count is process-wide.
    """

    backend = "torch"

    def __init__(
        self,
        model_name_or_path: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        cache_size: int = 4096,
        num_threads: int | None = None,
    ) -> None:
        super().__init__(model_name_or_path, batch_size=batch_size, cache_size=cache_size)
        self.device = device
        self.num_threads = num_threads
        self._model = None
        self._encode_lock = threading.Lock()  # fast tokenizers are not re-entrant

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: object) -> E5Encoder:
        """The configured encoder (``resolve_model``) with the configured cache size."""
        from retrieval.models import resolve_model

        kwargs.setdefault("cache_size", settings.encoder_cache_size)
        return cls(resolve_model(settings), **kwargs)  # type: ignore[arg-type]

    def _load(self) -> int:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        logger.info("loading encoder %s on %s (torch)", self.model_name_or_path, self.device)
        try:
            model = SentenceTransformer(self.model_name_or_path, device=self.device)
        except (OSError, ValueError) as e:
            raise EncoderError(
                f"cannot load encoder {self.model_name_or_path!r}: {e}; for the default "
                "model run `python -m retrieval.models bootstrap`"
            ) from e
        model.eval()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        model.encode(["预热"], prompt=QUERY_PREFIX, show_progress_bar=False)
        self._model = model
        return int(get_dim())

    def set_num_threads(self, n: int) -> None:
        """Change torch's (process-wide) intra-op thread count."""
        import torch

        self.num_threads = n
        torch.set_num_threads(n)

    def _encode_uncached(self, texts: list[str], prefix: str) -> np.ndarray:
        with self._encode_lock:
            try:
                vectors = self._model.encode(  # type: ignore[union-attr]
                    texts,
                    prompt=prefix,
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            except RuntimeError as e:
                raise EncoderError(f"encoding {len(texts)} texts failed: {e}") from e
        return np.ascontiguousarray(vectors, dtype=np.float32)


def encoder_from_settings(settings: Settings, *, backend: str | None = None, **kwargs: object) -> Encoder:
    """The configured encoder: ``settings.encoder_backend`` (or ``backend``) picks the runtime.

    ``"onnx"`` (the serving default) runs the bootstrapped ONNX export with
    onnxruntime and never imports torch; ``"torch"`` is the sentence-transformers
    reference. Nothing is loaded until the first encode or ``warm_up()``.
    Raises ``EncoderError`` for an unknown backend.
    """
    chosen = backend or settings.encoder_backend
    if chosen == "torch":
        kwargs.setdefault("num_threads", settings.encoder_threads)
        return E5Encoder.from_settings(settings, **kwargs)
    if chosen == "onnx":
        from retrieval.onnx_encoder import OnnxE5Encoder

        return OnnxE5Encoder.from_settings(settings, **kwargs)
    raise EncoderError(f"unknown encoder backend {chosen!r}; expected 'onnx' or 'torch'")


class HashingEncoder:
    """Deterministic fake encoder: hashed character n-grams, for index-mechanics tests ONLY.

    Texts that share characters get similar vectors; paraphrases with different
    wording do not. Never use it to judge retrieval quality. Queries and
    passages are embedded the same way; an empty text maps to a fixed unit
    vector (the first axis).
    """

    def __init__(self, dim: int = 384, ngram_range: tuple[int, int] = (1, 3)) -> None:
        if dim < 1 or not 1 <= ngram_range[0] <= ngram_range[1]:
            raise ValueError("dim must be >= 1 and ngram_range a valid (min, max) pair")
        self._dim = dim
        self.ngram_range = ngram_range

    @property
    def dim(self) -> int:
        return self._dim

    def _embed(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        norm_text = unicodedata.normalize("NFKC", text).lower().strip()
        lo, hi = self.ngram_range
        for n in range(lo, hi + 1):
            for i in range(len(norm_text) - n + 1):
                digest = hashlib.blake2b(norm_text[i : i + n].encode("utf-8"), digest_size=8).digest()
                h = int.from_bytes(digest, "little")
                vec[h % self._dim] += 1.0 if (h >> 63) & 1 else -1.0
        length = float(np.linalg.norm(vec))
        if length == 0.0:
            vec[0] = 1.0
            return vec
        return vec / length

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        items = _as_text_list(texts)
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._embed(t) for t in items]).astype(np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)
