"""The serving encoder: multilingual-e5-small on ONNX Runtime, without torch.

Owns: running the ONNX export that ``python -m retrieval.models bootstrap``
writes (``retrieval.onnx_export``) with ``onnxruntime`` and the checkpoint's
own ``tokenizer.json`` through the ``tokenizers`` package, exactly as the
sentence-transformers reference does it: e5's ``"query: "`` / ``"passage: "``
prompt in front of the text, truncation at the model's ``max_seq_length``,
mean pooling over the attention mask (prompt tokens included), L2
normalisation. The query cache is the one every real encoder shares
(``retrieval.encoder.CachedQueryEncoder``).

Importing this module imports neither torch nor transformers; onnxruntime and
tokenizers are imported by ``warm_up()``.

Example::

    enc = OnnxE5Encoder.from_settings(settings)   # nothing loaded yet
    enc.encode_queries(["怎么退货"]).shape         # (1, 384)
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.encoder import QUERY_PREFIX, CachedQueryEncoder
from retrieval.errors import EncoderError, ModelNotFoundError

if TYPE_CHECKING:
    from schema.settings import Settings

logger = logging.getLogger(__name__)


def _ort_errors() -> tuple[type[BaseException], ...]:
    """What onnxruntime and tokenizers raise: onnxruntime's own classes share no base but Exception."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    own = tuple(v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception))
    return (*own, RuntimeError, ValueError, OSError)


class OnnxE5Encoder(CachedQueryEncoder):
    """An e5 encoder on ONNX Runtime; ``precision`` picks ``model.int8.onnx`` or ``model.onnx``.

    ``model_name_or_path`` is the sentence-transformers checkpoint the export
    came from (it identifies the model for the intent and emotion caches);
    ``onnx_dir`` holds the export. ``num_threads`` is onnxruntime's intra-op
    thread count for this session (0: one per core).
    """

    backend = "onnx"

    def __init__(
        self,
        model_name_or_path: str,
        onnx_dir: str | Path,
        *,
        precision: str = "int8",
        batch_size: int = 32,
        cache_size: int = 4096,
        num_threads: int = 1,
    ) -> None:
        super().__init__(model_name_or_path, batch_size=batch_size, cache_size=cache_size)
        from retrieval.onnx_export import onnx_file_name

        self.onnx_dir = Path(onnx_dir)
        self.precision = precision
        self.model_file = self.onnx_dir / onnx_file_name(precision)
        self.num_threads = num_threads
        self._session = None
        self._tokenizer = None
        self._pad_id = 0
        self._input_names: tuple[str, ...] = ()
        self._tokenize_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: object) -> OnnxE5Encoder:
        """The export of the configured checkpoint; raises ``ModelNotFoundError`` naming the fix."""
        from retrieval.models import resolve_model
        from retrieval.onnx_export import onnx_dir_for

        checkpoint = resolve_model(settings)
        if not Path(checkpoint).is_dir():
            raise ModelNotFoundError(
                f"the onnx encoder backend needs a local checkpoint, not the hub name {checkpoint!r}; "
                "set YEBAN_ENCODER_BACKEND=torch or point YEBAN_ENCODER_MODEL at a local directory")
        kwargs.setdefault("cache_size", settings.encoder_cache_size)
        kwargs.setdefault("num_threads", settings.encoder_threads)
        kwargs.setdefault("precision", settings.encoder_onnx_precision)
        return cls(checkpoint, onnx_dir_for(Path(checkpoint)), **kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        """What the FAQ index records: vectors are reused only under the same runtime and precision."""
        return f"OnnxE5Encoder[{self.precision}]:{self.onnx_dir.name}"

    def _load(self) -> int:
        if not self.model_file.is_file():
            raise ModelNotFoundError(
                f"no ONNX export at {self.model_file}; run `python -m retrieval.models bootstrap` "
                "(it exports the checkpoint once, at build time)")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from retrieval.onnx_export import max_seq_length

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads would steal the core from the other gunicorn worker between requests.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No arena: it keeps the peak of the largest batch (an index rebuild in the worker: +300 MB)
        # for the life of the process; a 15-token query allocates little.
        options.enable_cpu_mem_arena = False
        logger.info("loading encoder %s on onnxruntime (%s, %d intra-op threads)", self.model_file,
                    self.precision, self.num_threads)
        try:
            session = ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(Path(self.model_name_or_path) / "tokenizer.json"))
        except _ort_errors() as e:
            raise EncoderError(f"cannot load the ONNX encoder {self.model_file}: {e}") from e
        pad_token = "<pad>"
        pad_id = tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise EncoderError(f"{self.model_name_or_path}/tokenizer.json has no {pad_token} token")
        tokenizer.enable_truncation(max_seq_length(Path(self.model_name_or_path)))
        tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        self._tokenizer, self._session, self._pad_id = tokenizer, session, pad_id
        self._input_names = tuple(i.name for i in session.get_inputs())
        dim = int(self._run(["预热"], QUERY_PREFIX).shape[1])
        return dim

    def set_num_threads(self, n: int) -> None:
        """Rebuild the session with ``n`` intra-op threads (benchmarks only)."""
        with self._load_lock:
            self.num_threads = n
            self._dim = None
        self.warm_up()

    def _run(self, texts: list[str], prefix: str) -> np.ndarray:
        with self._tokenize_lock:  # padding/truncation state lives in the Rust tokenizer
            encodings = self._tokenizer.encode_batch([prefix + t for t in texts])  # type: ignore[union-attr]
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        try:
            hidden = self._session.run(None, feeds)[0]  # type: ignore[union-attr]
        except _ort_errors() as e:
            raise EncoderError(f"encoding {len(texts)} texts on onnxruntime failed: {e}") from e
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(pooled / norms, dtype=np.float32)

    def _encode_uncached(self, texts: list[str], prefix: str) -> np.ndarray:
        if len(texts) <= self.batch_size:
            return self._run(texts, prefix)
        # Like sentence-transformers: batches of similar length, so padding stays short.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self._dim or 0), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            out[chunk] = self._run([texts[i] for i in chunk], prefix)
        return out
