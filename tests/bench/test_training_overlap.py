"""The store benchmark's honesty figure: messages the intent model was trained on verbatim are
counted apart, so a store's intent figure is read on what the model has not seen."""

from __future__ import annotations

import json

from bench.bench_store import training_overlap


def test_messages_seen_in_training_are_counted_apart(tmp_path):
    train = tmp_path / "intents_train.jsonl"
    train.write_text("".join(json.dumps({"text": t, "intent": i}, ensure_ascii=False) + "\n" for t, i in
                             [("在吗", "greeting"), ("发票 怎么开?", "invoice")]), encoding="utf-8")
    report = {"messages": [{"message": "在吗！", "intent_ok": True},
                           {"message": "发票怎么开", "intent_ok": True},
                           {"message": "退款几天到账", "intent_ok": True},
                           {"message": "换个颜色", "intent_ok": False}],
              "cases": [{"message": "积分能抵现吗", "intent_ok": True},
                        {"message": "在吗", "intent_ok": None}]}  # no expected intent: not counted
    out = training_overlap(report, train)
    # Punctuation, spaces and width do not hide a copy.
    assert out["messages"] == {"seen_in_training": 2, "unseen": 2, "unseen_intent_passed": 1,
                               "unseen_intent_rate": 0.5}
    assert out["cases"] == {"seen_in_training": 0, "unseen": 1, "unseen_intent_passed": 1,
                            "unseen_intent_rate": 1.0}
    assert training_overlap({}, train)["messages"]["unseen_intent_rate"] is None
