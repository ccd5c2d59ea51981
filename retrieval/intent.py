"""Intent classification: the classifier the dialogue calls, its model cache and its CLI.

Owns: turning a message into :class:`schema.types.IntentPrediction`
(calibrated confidence, ``unsure`` below ``settings.intent_threshold``, the
top of the ranking), and ``load_or_train``, which finds a trained model under
``var/models/intent/<key>/`` or trains one. The key is a sha256 of the
training file, the method and its configuration, and the identity of the
encoder or base checkpoint, so ``make demo`` and ``make test`` retrain only
when one of them changed.

Two methods (``retrieval.intent_head`` and ``retrieval.intent_finetune``):
``head`` (default: 90.6% accuracy on the 583-line test set; training is
mostly embedding 3,270 lines, about a minute on this machine when quiet, 17 min
measured with six helpers' test runs on its two cores) and ``finetune`` (the whole encoder, 3 epochs: 83.4%
on the same test set; 20 min for the 3 epochs, i.e. 391 s wall and 302
CPU-seconds per epoch, on this 2-core machine under load). Figures: ``python -m retrieval.evaluate``.

CLI::

    python -m retrieval.intent train [--method head|finetune] [--force]
        [--epochs N] [--max-minutes M]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.encoder import Encoder
from retrieval.errors import RetrievalError
from retrieval.intent_finetune import FinetuneConfig, FinetunedIntentModel, finetune
from retrieval.intent_head import HeadConfig, HeadIntentModel, train_head
from schema.intents import intent_names
from schema.settings import Settings
from schema.types import IntentPrediction

logger = logging.getLogger(__name__)

METHODS = ("head", "finetune")
CACHE_FORMAT = 1
META_FILE = "meta.json"
RANKING_SIZE = 5


class IntentError(RetrievalError):
    """Training data is malformed, or a cached intent model cannot be used."""


class IntentModel(Protocol):
    """A trained model: calibrated class probabilities in ``labels`` order."""

    labels: tuple[str, ...]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class TrainingData:
    texts: tuple[str, ...]
    intents: tuple[str, ...]
    sha256: str


def load_training_data(path: Path, labels: Sequence[str]) -> TrainingData:
    """Read ``{text, intent}`` lines; raises :class:`IntentError` naming the bad line."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise IntentError(f"cannot read intent data {path}: {e}") from e
    known = set(labels)
    texts, intents = [], []
    for n, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, intent = row["text"], row["intent"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise IntentError(f"{path}:{n}: expected {{text, intent}}: {e}") from e
        if intent not in known:
            raise IntentError(f"{path}:{n}: field 'intent' {intent!r} is not in the taxonomy")
        texts.append(text)
        intents.append(intent)
    return TrainingData(tuple(texts), tuple(intents), hashlib.sha256(raw).hexdigest())


class IntentClassifier:
    """Wraps a trained model with the threshold rule.

    >>> clf = load_or_train(settings, encoder)  # doctest: +SKIP
    >>> clf.classify("退款啥时候到账")  # doctest: +SKIP
    IntentPrediction(intent='return_refund', confidence=0.93, unsure=False, ranking=(...))
    """

    def __init__(self, model: IntentModel, threshold: float, method: str = "head",
                 folder: Path | None = None) -> None:
        self.model = model
        self.threshold = threshold
        self.method = method
        self.folder = folder

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels

    def classify(self, text: str) -> IntentPrediction:
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: Sequence[str]) -> list[IntentPrediction]:
        if not texts:
            return []
        probs = self.model.predict_proba(list(texts))
        out = []
        for row in probs:
            order = np.argsort(-row)[:RANKING_SIZE]
            ranking = tuple((self.labels[i], round(float(row[i]), 4)) for i in order)
            best, conf = ranking[0][0], float(row[order[0]])
            out.append(IntentPrediction(best, round(conf, 4), conf < self.threshold, ranking))
        return out


# --- cache -------------------------------------------------------------------------------
def checkpoint_identity(path_or_name: str) -> str:
    """What identifies a checkpoint: its bootstrap stamp's source hash, else its config and size."""
    from retrieval.models import read_stamp

    path = Path(path_or_name)
    if not path.is_dir():
        return path_or_name
    stamp = read_stamp(path)
    if stamp and stamp.get("source_sha256"):
        return f"{path.name}:{stamp['source_sha256']}"
    h = hashlib.sha256()
    for name in ("config.json", "tokenizer.json"):
        if (path / name).is_file():
            h.update((path / name).read_bytes())
    weights = sum(p.stat().st_size for p in path.glob("*.safetensors"))
    return f"{path.name}:{h.hexdigest()[:16]}:{weights}"


def cache_key(method: str, data: TrainingData, labels: Sequence[str], config: object, identity: str) -> str:
    blob = json.dumps({"format": CACHE_FORMAT, "method": method, "data": data.sha256, "labels": list(labels),
                       "config": asdict(config), "model": identity}, sort_keys=True)  # type: ignore[call-overload]
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def intent_cache_dir(settings: Settings) -> Path:
    return settings.models_dir / "intent"


def _base_model(settings: Settings) -> str:
    from retrieval.models import resolve_model

    return settings.intent_base_model or resolve_model(settings)


def load_or_train(
    settings: Settings,
    encoder: Encoder | None = None,
    *,
    method: str = "head",
    head_config: HeadConfig | None = None,
    finetune_config: FinetuneConfig | None = None,
    data_path: Path | None = None,
    force: bool = False,
) -> IntentClassifier:
    """The cached classifier for the current data, method, config and checkpoint; trains on a miss.

    ``encoder`` is required for ``head`` (it embeds every message). Raises
    :class:`IntentError` for an unknown method, bad training data, or a head
    without an encoder.
    """
    if method not in METHODS:
        raise IntentError(f"unknown intent method {method!r}; expected one of {METHODS}")
    labels = intent_names()
    data = load_training_data(data_path or settings.data_dir / "nlu" / "intents_train.jsonl", labels)
    if method == "head":
        if encoder is None:
            raise IntentError("the head method needs an encoder")
        config: HeadConfig | FinetuneConfig = head_config or HeadConfig()
        identity = checkpoint_identity(getattr(encoder, "model_name_or_path", None) or _base_model(settings))
    else:
        config = finetune_config or FinetuneConfig()
        identity = checkpoint_identity(_base_model(settings))
    folder = intent_cache_dir(settings) / f"{method}-{cache_key(method, data, labels, config, identity)}"
    if force and folder.exists():
        shutil.rmtree(folder)
    if (folder / META_FILE).is_file():
        logger.info("loading cached intent model %s", folder)
        model: IntentModel = (HeadIntentModel.load(folder, encoder) if method == "head"  # type: ignore[arg-type]
                              else FinetunedIntentModel.load(folder))
        return IntentClassifier(model, settings.intent_threshold, method, folder)
    return _train(settings, encoder, method, config, data, labels, identity, folder)


def _train(settings: Settings, encoder: Encoder | None, method: str, config: HeadConfig | FinetuneConfig,
           data: TrainingData, labels: Sequence[str], identity: str, folder: Path) -> IntentClassifier:
    tmp = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    logger.info("training intent model (%s) on %d messages into %s", method, len(data.texts), folder)
    if method == "head":
        assert encoder is not None and isinstance(config, HeadConfig)
        model, stats = train_head(data.texts, data.intents, labels, encoder, config)
        model.save(tmp)
    else:
        assert isinstance(config, FinetuneConfig)
        _, stats = finetune(data.texts, data.intents, labels, _base_model(settings), tmp, config)
    meta = {"method": method, "labels": list(labels), "config": asdict(config), "model_identity": identity,
            "data_sha256": data.sha256, "stats": asdict(stats),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    try:
        tmp.rename(folder)
    except OSError:  # another process finished the same model first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    loaded: IntentModel = (HeadIntentModel.load(folder, encoder) if method == "head"  # type: ignore[arg-type]
                           else FinetunedIntentModel.load(folder))
    return IntentClassifier(loaded, settings.intent_threshold, method, folder)


def read_meta(folder: Path) -> dict:
    return json.loads((folder / META_FILE).read_text(encoding="utf-8"))


# --- CLI -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.intent", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train (or find cached) the intent model")
    train.add_argument("--method", choices=METHODS, default="head")
    train.add_argument("--force", action="store_true", help="retrain even if cached")
    train.add_argument("--epochs", type=int, default=None, help="finetune epochs")
    train.add_argument("--max-minutes", type=float, default=None, help="finetune wall-time budget")
    train.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

    from retrieval.encoder import encoder_from_settings
    from retrieval.models import ensure_offline_env
    from schema.settings import load_settings

    settings = load_settings()
    ensure_offline_env(settings)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    ft = FinetuneConfig()
    if args.epochs is not None or args.max_minutes is not None:
        ft = FinetuneConfig(**{**asdict(ft), **({"epochs": args.epochs} if args.epochs else {}),
                               **({"max_minutes": args.max_minutes} if args.max_minutes else {})})
    encoder = encoder_from_settings(settings) if args.method == "head" else None
    started = time.perf_counter()
    try:
        clf = load_or_train(settings, encoder, method=args.method, finetune_config=ft, force=args.force)
    except RetrievalError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    meta = read_meta(clf.folder) if clf.folder else {}
    print(json.dumps({"folder": str(clf.folder), "seconds": round(time.perf_counter() - started, 1),
                      "stats": meta.get("stats")}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
