"""Grading rules of the store conversation tests and the report the runner writes.

The runner tests answer from a scripted function: they check sessions, grading and
the report files, not the bot (the bot is measured by ``bench/bench_store.py``)."""

from __future__ import annotations

import json

from dialog.store_grading import check_facts, grade, normalise, read_dialogues, summarise, summary_line
from dialog.store_test import run_all, write_report


def test_normalise_is_nfkc_lower_and_without_whitespace():
    assert normalise("17：00 前 Model 3 ７２℃") == "17:00前model372°c"
    assert check_facts("今天 17：00 前付款当天发", [["17:00"]]).ok
    assert check_facts("适配 Model 3", [["model3", "m3"]]).ok


def test_facts_need_every_group_and_no_forbidden_string():
    groups = [["2件", "两件"], ["象牙白"]]
    assert check_facts("象牙白 还有 2 件", groups, ["5件"]).ok
    missing = check_facts("还有 2 件", groups)
    assert not missing.ok and missing.missing == (("象牙白",),)
    leaked = check_facts("象牙白还有2件（原来5件）", groups, ["5件", "22件"])
    assert not leaked.ok and leaked.forbidden == ("5件",)
    assert check_facts("随便说点什么").ok  # no fact groups: facts pass trivially


def test_case_intent_both_and_handoff_are_scored_separately():
    case = {"id": "C1", "question": "q", "expected_intent": "stock_check", "must_contain_any": [["3件"]]}
    right_facts = grade("C1", "q", {"reply": "还有3件", "intent": "product_attribute"}, case)
    assert right_facts.facts and right_facts.intent_ok is False and not right_facts.passed
    assert "intent product_attribute (expected stock_check)" in right_facts.problems()
    turn = {"user": "转人工", "expect_handoff": True, "expect_intent": "human_agent"}
    assert grade("D1#1", "转人工", {"reply": "", "intent": "human_agent", "state": "handoff"}, turn).passed
    assert grade("D1#1", "转人工", {"reply": "", "intent": "human_agent", "handoff": {"ticket_id": "T"},
                                   "state": "answered"}, turn).passed
    missed = grade("D1#1", "转人工", {"reply": "好的", "intent": "human_agent", "state": "answered"}, turn)
    assert missed.handoff_ok is False and "hand-off expected" in missed.problems()


def test_runner_keeps_one_session_per_dialogue_and_writes_the_report(tmp_path):
    (tmp_path / "cases.jsonl").write_text(
        json.dumps({"id": "C1", "question": "几点发货", "expected_intent": "shipping",
                    "must_contain_any": [["17:00"]], "must_not_contain": ["18:00"]}, ensure_ascii=False) + "\n"
        + json.dumps({"id": "C2", "question": "你好", "expected_intent": "greeting"}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    (tmp_path / "dialogs.jsonl").write_text(json.dumps(
        {"id": "D1", "description": "two turns", "turns": [
            {"user": "这个杯子", "expect_intent": "product_attribute"},
            {"user": "还有几个", "expect_intent": "stock_check", "must_contain_any": [["4个"]]}]},
        ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "messages.tsv").write_text("id\tintent\ttext\nM1\tgreeting\t在吗\nM2\tinvoice\t开票\n",
                                           encoding="utf-8")
    sessions: dict[str, list[str]] = {}
    scripted = {"几点发货": ("shipping", "17：00前付款当天发"), "你好": ("greeting", "您好"),
                "这个杯子": ("product_attribute", "是保温杯"), "还有几个": ("stock_check", "还有 4 个"),
                "在吗": ("greeting", "在的"), "开票": ("shipping", "...")}

    def ask(session_id, message):
        sessions.setdefault(session_id, []).append(message)
        intent, reply = scripted[message]
        return {"reply": reply, "intent": intent, "state": "answered"}

    report = run_all(ask, tmp_path / "cases.jsonl", tmp_path / "dialogs.jsonl", tmp_path / "messages.tsv")
    assert [len(v) for v in sessions.values()].count(2) == 1 and len(sessions) == 5
    s = report["summary"]
    assert (s["facts"]["passed"], s["intent"]["passed"], s["both"]["passed"]) == (2, 2, 2)
    assert s["dialogs"] == {"passed": 1, "total": 1, "rate": 1.0}
    assert s["messages_intent"] == {"passed": 1, "total": 2, "rate": 0.5}
    assert summary_line(s).startswith("SUMMARY facts 2/2 100.0% | intent 2/2 100.0% | both 2/2 100.0% | "
                                      "dialogs 1/1 100.0% | messages intent 1/2 50.0% | p50 latency")
    json_path, md_path = write_report(report, {"target": "t", "clock": "c", "files": []}, tmp_path / "out")
    assert json.loads(json_path.read_text(encoding="utf-8"))["messages"][1]["problems"] == [
        "intent shipping (expected invoice)"]
    md = md_path.read_text(encoding="utf-8")
    assert "| message | M2 | 开票 | shipping | intent shipping (expected invoice) | ... |" in md
    assert read_dialogues(tmp_path / "dialogs.jsonl")[0].turns[1]["user"] == "还有几个"
    assert summarise([], [], [])["p50_latency_ms"] is None
