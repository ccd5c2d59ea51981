"""Fine-tuned intent classifier: the whole encoder trained on the intent labels.

Owns: the training loop (fixed seed, AdamW, linear warm-up and decay, frozen
word-embedding matrix: it holds 96M of e5-small's 118M parameters and
training it on 2.6k short lines only overfits and slows every step),
temperature calibration on a held-out slice of the training data, timing,
and (de)serialisation. The base checkpoint is any local
``AutoModelForSequenceClassification``-compatible directory (the
bootstrapped multilingual-e5-small by default, or e.g. a local
bert-base-chinese). Messages get e5's ``"query: "`` prefix. The pooler and
the classifier are new (randomly initialised), so they learn at
``head_lr_multiplier`` times the encoder's rate; otherwise the loss barely
moves during a first epoch.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.calibration import fit_temperature, softmax
from retrieval.encoder import QUERY_PREFIX
from retrieval.nlu_metrics import expected_calibration_error

logger = logging.getLogger(__name__)

HF_DIR = "hf"
META_FILE = "finetune.json"


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 3
    learning_rate: float = 5e-5
    head_lr_multiplier: float = 20.0  # the pooler and classifier start from random weights
    batch_size: int = 32
    max_length: int = 64
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    freeze_word_embeddings: bool = True
    calibration_fraction: float = 0.1
    seed: int = 13
    max_minutes: float | None = None  # stop early (and say so) after this much wall time
    prefix: str = QUERY_PREFIX
    text_prep: str = "chat"  # as the head: retrieval.chat_text cleaning, or "raw"


@dataclass(frozen=True)
class FinetuneStats:
    n_train: int
    n_calibration: int
    steps_done: int
    steps_planned: int
    epochs_done: float
    stopped_early: bool
    seconds: float
    seconds_per_epoch: float  # measured, or extrapolated from the steps done
    cpu_seconds_per_epoch: float
    torch_threads: int
    calibration_accuracy: float
    temperature: float
    ece_before: float
    ece_after: float


class FinetunedIntentModel:
    """A fine-tuned sequence classifier loaded from ``folder/hf`` (lazily)."""

    def __init__(self, folder: Path, labels: Sequence[str], temperature: float, prefix: str,
                 max_length: int, batch_size: int = 64, text_prep: str = "raw") -> None:
        self.folder = Path(folder)
        self.text_prep = text_prep
        self.labels = tuple(labels)
        self.temperature = temperature
        self.prefix = prefix
        self.max_length = max_length
        self.batch_size = batch_size
        self._model = None
        self._tokenizer = None

    def warm_up(self) -> None:
        if self._model is None:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.folder / HF_DIR)
            model = AutoModelForSequenceClassification.from_pretrained(self.folder / HF_DIR)
            model.eval()
            self._model = model

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        texts = _prepare(texts, self.text_prep)
        return _logits(self._model, self._tokenizer, [self.prefix + t for t in texts],
                       self.max_length, self.batch_size)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.logits(texts), self.temperature)

    @classmethod
    def load(cls, folder: Path) -> FinetunedIntentModel:
        meta = json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
        return cls(folder, meta["labels"], meta["temperature"], meta["prefix"], meta["max_length"],
                   text_prep=meta.get("text_prep", "raw"))


def _prepare(texts: Sequence[str], text_prep: str) -> list[str]:
    if text_prep == "raw":
        return list(texts)
    from retrieval.chat_text import default_cleaner

    return default_cleaner().texts(list(texts))


def _logits(model, tokenizer, texts: list[str], max_length: int, batch_size: int) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i:i + batch_size], padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            out.append(model(**enc).logits.float().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_labels))


def finetune(texts: Sequence[str], intents: Sequence[str], labels: Sequence[str], base_model: str,
             folder: Path, config: FinetuneConfig | None = None) -> tuple[FinetunedIntentModel, FinetuneStats]:
    """Fine-tune ``base_model`` on the messages and save the result under ``folder``.

    A stratified ``calibration_fraction`` of the data is held out for the
    temperature and the reported accuracy; the rest is trained on.
    """
    import torch
    from sklearn.model_selection import train_test_split
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    config = config or FinetuneConfig()
    labels = tuple(labels)
    index = {name: i for i, name in enumerate(labels)}
    y = np.array([index[i] for i in intents])
    texts = [config.prefix + t for t in _prepare(texts, config.text_prep)]
    train_idx, cal_idx = train_test_split(np.arange(len(texts)), test_size=config.calibration_fraction,
                                          random_state=config.seed, stratify=y)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=index)
    if config.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad = False
    head_names = ("classifier", "pooler")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    groups = [
        {"params": [p for n, p in named if not n.startswith(head_names) and ".pooler." not in n]},
        {"params": [p for n, p in named if n.startswith(head_names) or ".pooler." in n],
         "lr": config.learning_rate * config.head_lr_multiplier},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)
    per_epoch = -(-len(train_idx) // config.batch_size)
    planned = per_epoch * config.epochs
    warmup = max(1, int(config.warmup_fraction * planned))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (planned - s) / max(1, planned - warmup))))
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + 60 * config.max_minutes if config.max_minutes else None
    steps, stopped = 0, False
    model.train()
    for epoch in range(config.epochs):
        order = rng.permutation(train_idx)
        for i in range(0, len(order), config.batch_size):
            batch = order[i:i + config.batch_size]
            enc = tokenizer([texts[j] for j in batch], padding=True, truncation=True,
                            max_length=config.max_length, return_tensors="pt")
            loss = model(**enc, labels=torch.tensor(y[batch])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            steps += 1
            if steps % 10 == 0:
                logger.info("finetune epoch %d step %d/%d loss %.4f (%.1f s)", epoch + 1, steps, planned,
                            loss.item(), time.perf_counter() - started)
            if deadline and time.perf_counter() > deadline:
                stopped = True
                break
        if stopped:
            break
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    model.eval()
    cal_logits = _logits(model, tokenizer, [texts[j] for j in cal_idx], config.max_length, 64)
    temperature = fit_temperature(cal_logits, y[cal_idx])
    correct = cal_logits.argmax(1) == y[cal_idx]
    (folder / HF_DIR).mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder / HF_DIR)
    tokenizer.save_pretrained(folder / HF_DIR)
    (folder / META_FILE).write_text(json.dumps({
        "labels": labels, "temperature": temperature, "prefix": config.prefix, "text_prep": config.text_prep,
        "max_length": config.max_length, "config": asdict(config)}, ensure_ascii=False, indent=2),
        encoding="utf-8")
    stats = FinetuneStats(
        n_train=len(train_idx), n_calibration=len(cal_idx), steps_done=steps, steps_planned=planned,
        epochs_done=round(steps / per_epoch, 3), stopped_early=stopped, seconds=round(seconds, 1),
        seconds_per_epoch=round(seconds / steps * per_epoch, 1) if steps else 0.0,
        cpu_seconds_per_epoch=round(cpu / steps * per_epoch, 1) if steps else 0.0,
        torch_threads=torch.get_num_threads(), calibration_accuracy=float(correct.mean()),
        temperature=temperature,
        ece_before=expected_calibration_error(softmax(cal_logits).max(1), correct),
        ece_after=expected_calibration_error(softmax(cal_logits, temperature).max(1), correct),
    )
    logger.info("finetune done: %s", stats)
    model_out = FinetunedIntentModel(folder, labels, temperature, config.prefix, config.max_length)
    model_out._model, model_out._tokenizer = model, tokenizer
    return model_out, stats
