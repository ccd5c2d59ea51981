"""Versioned FAISS index of FAQ and policy-clause texts on disk, and its reader.

Owns: the on-disk layout under ``settings.index_dir`` and atomic switching.

Layout::

    index_dir/
      CURRENT              -> one line "v<stamp>", replaced atomically
      v<stamp>/            one complete version, never modified once named
        faiss.index        IndexIDMap2(IndexFlatIP); id = row number
        items.jsonl        row -> {kind: faq|clause, id, text, text_hash, role}
        manifest.json      version, graph_version, encoder, dim, counts, ...
      .tmp-v<stamp>-<pid>/ a version being written (renamed when complete)

A writer fills a temp directory, fsyncs every file and the directory, renames
it to ``v<stamp>``, then replaces ``CURRENT``. A reader only ever opens the
directory ``CURRENT`` names, so it never sees a half-written version.
``VectorIndex.refresh_if_changed()`` stats ``CURRENT`` (cheap) and loads a new
version while the old one keeps serving, then swaps a single reference.
Builds and garbage collection (keep two versions) live in ``index_build``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import RetrievalError

logger = logging.getLogger(__name__)

CURRENT_NAME = "CURRENT"
INDEX_FILE = "faiss.index"
ITEMS_FILE = "items.jsonl"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1
KINDS = ("faq", "clause", "product")
ROLES = ("question", "paraphrase", "qa", "clause")


class VectorIndexError(RetrievalError):
    """Base of vector-index errors."""


class IndexNotReadyError(VectorIndexError):
    """No ``CURRENT`` pointer yet, or it names a missing or incomplete version."""


class IndexFormatError(VectorIndexError):
    """A version directory's files disagree with each other or cannot be parsed."""


def text_hash(text: str) -> str:
    """Key for reusing a passage vector: the text alone decides its embedding."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class IndexItem:
    """One embedded text; several items share a FAQ id (question, paraphrases, Q+A).

    ``role`` says what the text is: ``question``, ``paraphrase``, ``qa`` (the
    question followed by the answer, one per FAQ) or ``clause``.
    """

    kind: str
    id: str
    text: str
    text_hash: str
    role: str = "question"

    @classmethod
    def of(cls, kind: str, item_id: str, text: str, role: str | None = None) -> IndexItem:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        role = role or ("clause" if kind == "clause" else "question")
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        return cls(kind, item_id, text, text_hash(text), role)


@dataclass(frozen=True)
class IndexManifest:
    version: str
    graph_version: int | str | None
    encoder: str
    dim: int
    counts: dict[str, int] = field(hash=False)
    created_at: str
    embedded: int = 0
    reused: int = 0
    format: int = FORMAT_VERSION

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexManifest:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


# --- writing ---------------------------------------------------------------------
def new_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse directory fsync
        _fsync_file(path)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def build_faiss(vectors: np.ndarray) -> Any:
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(int(vectors.shape[1])))
    if len(vectors):
        index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    return index


def write_version(
    index_dir: Path, items: Sequence[IndexItem], vectors: np.ndarray, manifest: IndexManifest
) -> Path:
    """Write a complete version directory (not yet current); return its path."""
    import faiss

    if vectors.ndim != 2 or len(items) != vectors.shape[0] or vectors.shape[1] != manifest.dim:
        raise IndexFormatError(
            f"{len(items)} items, vectors {vectors.shape}, manifest dim {manifest.dim} disagree"
        )
    index_dir.mkdir(parents=True, exist_ok=True)
    final = index_dir / f"v{manifest.version}"
    if final.exists():
        raise IndexFormatError(f"version directory {final} already exists")
    tmp = index_dir / f".tmp-v{manifest.version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    faiss.write_index(build_faiss(vectors), str(tmp / INDEX_FILE))
    _fsync_file(tmp / INDEX_FILE)
    _write_text(
        tmp / ITEMS_FILE,
        "".join(json.dumps(asdict(it), ensure_ascii=False) + "\n" for it in items),
    )
    _write_text(tmp / MANIFEST_FILE, json.dumps(asdict(manifest), ensure_ascii=False, indent=2))
    _fsync_dir(tmp)
    os.rename(tmp, final)
    _fsync_dir(index_dir)
    return final


def switch_current(index_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``v<version>`` atomically (temp file + ``os.replace``)."""
    target = index_dir / f"v{version}"
    if not (target / MANIFEST_FILE).is_file():
        raise IndexNotReadyError(f"refusing to switch to incomplete version {target}")
    tmp = index_dir / f".{CURRENT_NAME}.tmp-{os.getpid()}"
    _write_text(tmp, f"v{version}\n")
    os.replace(tmp, index_dir / CURRENT_NAME)
    _fsync_dir(index_dir)


def read_current(index_dir: Path) -> str | None:
    """The version stamp ``CURRENT`` names (without the ``v``), or ``None``."""
    try:
        name = (index_dir / CURRENT_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name[1:] if name.startswith("v") else name


# --- reading ---------------------------------------------------------------------
@dataclass(frozen=True)
class IndexSnapshot:
    """One loaded, immutable version: FAISS index, items and manifest."""

    path: Path
    manifest: IndexManifest
    items: tuple[IndexItem, ...]
    index: Any = field(repr=False)
    rows_by_kind: dict[str, np.ndarray] = field(repr=False, hash=False)

    @property
    def version(self) -> str:
        return self.manifest.version

    @classmethod
    def load(cls, path: Path) -> IndexSnapshot:
        import faiss

        try:
            manifest = IndexManifest.from_json(
                json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
            )
            with open(path / ITEMS_FILE, encoding="utf-8") as f:
                items = tuple(IndexItem(**json.loads(line)) for line in f if line.strip())
            index = faiss.read_index(str(path / INDEX_FILE))
        except FileNotFoundError as e:
            raise IndexNotReadyError(f"incomplete index version {path}: {e}") from e
        except (ValueError, TypeError, RuntimeError) as e:
            raise IndexFormatError(f"unreadable index version {path}: {e}") from e
        if index.ntotal != len(items) or (len(items) and index.d != manifest.dim):
            raise IndexFormatError(
                f"{path}: {index.ntotal} vectors of dim {index.d}, {len(items)} items, "
                f"manifest dim {manifest.dim}"
            )
        kinds = np.array([it.kind for it in items], dtype=object)
        rows = {k: np.flatnonzero(kinds == k).astype(np.int64) for k in KINDS}
        return cls(path, manifest, items, index, rows)

    def vectors(self) -> np.ndarray:
        """All stored vectors in row order."""
        if not self.items:
            return np.zeros((0, self.manifest.dim), dtype=np.float32)
        return self.index.reconstruct_batch(np.arange(len(self.items), dtype=np.int64))

    def vectors_by_hash(self) -> dict[str, np.ndarray]:
        vecs = self.vectors()
        return {it.text_hash: vecs[i] for i, it in enumerate(self.items)}

    def select_rows(self, kind: str | None = None, ids: Iterable[str] | None = None) -> np.ndarray:
        """Row numbers of ``kind`` (all kinds if ``None``), optionally restricted to ``ids``."""
        rows = (
            np.arange(len(self.items), dtype=np.int64) if kind is None else self.rows_by_kind[kind]
        )
        if ids is not None:
            wanted = set(ids)
            rows = np.array([r for r in rows if self.items[r].id in wanted], dtype=np.int64)
        return rows

    def _query(self, query_vecs: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(query_vecs, dtype=np.float32).reshape(-1, self.manifest.dim)

    def search(self, query_vecs: np.ndarray, k: int, rows: np.ndarray | None = None
               ) -> list[list[tuple[int, float]]]:
        """Top ``k`` (row, cosine) per query, optionally among ``rows`` only.

        A restricted search ranks every row and filters: for a few thousand
        texts that is faster than FAISS's ID-selector path.
        """
        q = self._query(query_vecs)
        n = len(self.items)
        pool = n if rows is None else len(rows)
        k = min(k, pool)
        if k <= 0:
            return [[] for _ in range(len(q))]
        restricted = rows is not None and pool < n
        scores, ids = self.index.search(q, n if restricted else k)
        keep = np.zeros(n, dtype=bool)
        if restricted:
            keep[rows] = True
        out = []
        for id_row, s_row in zip(ids, scores, strict=True):
            valid = id_row >= 0
            if restricted:
                valid &= keep[np.maximum(id_row, 0)]
            out.append([(int(i), float(sc)) for i, sc in zip(id_row[valid][:k], s_row[valid][:k],
                                                             strict=True)])
        return out

    def scores(self, query_vec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine of one query with each of ``rows``, in the order of ``rows``."""
        n = len(self.items)
        full = np.zeros(n, dtype=np.float32)
        if n:
            sc, ids = self.index.search(self._query(query_vec)[:1], n)
            valid = ids[0] >= 0
            full[ids[0][valid]] = sc[0][valid]
        return full[rows]


class VectorIndex:
    """Reader of ``index_dir``: holds the current snapshot, swaps in new versions.

    Thread-safe: ``snapshot()`` returns an immutable object; a refresh replaces
    the reference in one assignment, so a search in flight keeps its version.
    """

    def __init__(self, index_dir: Path | str) -> None:
        self.index_dir = Path(index_dir)
        self._snapshot: IndexSnapshot | None = None
        self._stat_key: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    def _current_stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_dir / CURRENT_NAME)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def load(self) -> IndexSnapshot:
        """Load the version ``CURRENT`` names; raises ``IndexNotReadyError`` if none."""
        with self._lock:
            key = self._current_stat()
            version = read_current(self.index_dir)
            if version is None:
                raise IndexNotReadyError(
                    f"no index in {self.index_dir}: run `python -m retrieval.index_build`"
                )
            snap = IndexSnapshot.load(self.index_dir / f"v{version}")
            self._snapshot, self._stat_key = snap, key
            logger.info("loaded index version %s (%d texts)", version, len(snap.items))
            return snap

    def snapshot(self) -> IndexSnapshot:
        snap = self._snapshot
        return snap if snap is not None else self.load()

    @property
    def version(self) -> str | None:
        return self._snapshot.version if self._snapshot else None

    @property
    def manifest(self) -> IndexManifest:
        return self.snapshot().manifest

    def refresh_if_changed(self) -> bool:
        """Load a new version if ``CURRENT`` changed since the last look; True if swapped.

        A version that fails to load is logged and skipped; the old one stays.
        """
        key = self._current_stat()
        if key is None or key == self._stat_key:
            return False
        with self._lock:
            if key == self._stat_key:
                return False
            version = read_current(self.index_dir)
            if version is None or (self._snapshot and version == self._snapshot.version):
                self._stat_key = key
                return False
            try:
                snap = IndexSnapshot.load(self.index_dir / f"v{version}")
            except VectorIndexError as e:
                logger.error("keeping index %s: new version %s unusable: %s",
                             self.version, version, e)
                self._stat_key = key
                return False
            old = self.version
            self._snapshot, self._stat_key = snap, key
        logger.info("index switched %s -> %s", old, version)
        return True

    def check_consistency(self, graph_version: int | str | None) -> bool:
        """True if the index was built from ``graph_version``; logs a warning if not."""
        built_from = self.snapshot().manifest.graph_version
        ok = graph_version is not None and str(built_from) == str(graph_version)
        if not ok:
            logger.warning(
                "vector index %s was built from knowledge version %s but the graph is at %s: "
                "rebuild with `python -m retrieval.index_build`",
                self.version, built_from, graph_version,
            )
        return ok
