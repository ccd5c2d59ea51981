"""Metric definitions of the understanding report: entity matching, ECE, temperature scaling."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.calibration import fit_temperature, nll, softmax
from retrieval.nlu_metrics import (
    EntityExample,
    GoldEntity,
    classification_report,
    expected_calibration_error,
    load_entity_examples,
    score_entities,
)
from schema.settings import PROJECT_ROOT
from schema.types import EntityLink


def _link(type_, value, candidates=()):
    return EntityLink("x", 0, 1, type_, value, 1.0, tuple(candidates))


def test_entity_matching_requires_the_same_alternatives():
    ex = [
        EntityExample("1", "茶歇裙", (GoldEntity("product", "P1003", ("P1010",)),)),
        EntityExample("2", "茶歇裙", (GoldEntity("product", "P1003", ("P1010",)),)),
        EntityExample("3", "红的", (GoldEntity("color", "红色"),)),
        EntityExample("4", "在吗", ()),
    ]
    preds = [
        [_link("product", "P1010", ["P1003"])],  # same set, other order: a match
        [_link("product", "P1003")],  # hides the ambiguity: a miss and a spurious link
        [_link("color", "红色", ["红"])],  # colour candidates are spellings: ignored
        [_link("brand", "星耀")],
    ]
    s = score_entities(ex, preds)
    assert (s.micro.tp, s.micro.fp, s.micro.fn) == (2, 2, 1)
    assert s.micro.precision == pytest.approx(0.5) and s.micro.recall == pytest.approx(2 / 3)
    assert [e["id"] for e in s.errors] == ["2", "4"]


def test_committed_entity_set_is_well_formed():
    examples = load_entity_examples(PROJECT_ROOT / "data" / "nlu" / "entities_eval.jsonl")
    assert len(examples) >= 300
    assert sum(1 for e in examples if not e.entities) >= 50
    types = {g.type for e in examples for g in e.entities}
    assert types == {"product", "brand", "category", "color", "size", "attribute", "order_id", "phone",
                     "phone_last4"}
    noise = {n for e in examples for n in e.noise}
    assert {"pinyin", "homophone", "typo", "fullwidth", "case"} <= noise


def test_classification_report_and_confusions():
    rep = classification_report(["a", "a", "b", "c"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert rep.accuracy == 0.5 and rep.per_class_f1["c"] == 0.0
    assert rep.worst_confusions[0] == ("a", "b", 1) and rep.confusion[2] == [0, 1, 0]


def test_ece_of_perfectly_calibrated_and_overconfident_predictions():
    conf = np.array([0.8] * 10)
    assert expected_calibration_error(conf, np.array([1] * 8 + [0] * 2)) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([0.99] * 4), np.array([1, 0, 1, 0])) == pytest.approx(0.49)


def test_temperature_scaling_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    logits = rng.normal(0, 1, (400, 3))
    logits[np.arange(400), y] += 1.0
    logits *= 5.0  # same ranking, far too confident
    t = fit_temperature(logits, y)
    assert t > 2.0
    assert nll(logits, y, t) < nll(logits, y, 1.0)
    assert (softmax(logits, t).argmax(1) == logits.argmax(1)).all()
