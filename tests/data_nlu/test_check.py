"""The NLU data gate (data/nlu/check.py): today's data passes, and a store's measurement
messages copied into the training data are refused by ``--store``."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[2] / "data" / "nlu" / "check.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("nlu_check", CHECK)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["nlu_check"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    yield module
    sys.modules.pop("nlu_check", None)


def _store(folder: Path, messages: list[str], questions: list[str]) -> Path:
    folder.mkdir()
    (folder / "shopper_messages.tsv").write_text(
        "id\tintent\ttext\n" + "".join(f"M{i}\tgreeting\t{t}\n" for i, t in enumerate(messages)), encoding="utf-8")
    (folder / "cases.jsonl").write_text(
        "".join(json.dumps({"id": f"C{i}", "question": q}, ensure_ascii=False) + "\n"
                for i, q in enumerate(questions)), encoding="utf-8")
    return folder


def test_a_training_line_copied_from_a_store_is_refused(check, tmp_path, capsys):
    train = [json.loads(line)["text"] for line in check.TRAIN.read_text(encoding="utf-8").splitlines()]
    long_line = next(t for t in train if len(check.normalise(t)) >= check.MIN_COPY_CHARS + 2)
    short_line = next(t for t in train if len(check.normalise(t)) < check.MIN_COPY_CHARS)
    # Punctuation and case do not hide a copy; a short universal line (在吗) is no copy.
    copied = _store(tmp_path / "copied", [f"{long_line.upper()}！！", short_line], ["完全无关的一句测试问题"])
    assert check.main(["--store", str(copied)]) == 1
    out = capsys.readouterr().out
    assert "ERROR:" in out and "1 lines copy a message of the store" in out and long_line in out

    clean = _store(tmp_path / "clean", [short_line, "这是一句训练里没有的测试消息"], ["这句也从没写进训练数据"])
    assert check.main(["--store", str(clean)]) == 0


def test_a_store_folder_without_messages_is_named(check, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check.main(["--store", str(empty)]) == 1
    assert f"--store {empty}: neither shopper_messages.tsv nor cases.jsonl found" in capsys.readouterr().out
