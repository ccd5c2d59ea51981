"""Conversion attribution and the night-shift figures on events written for the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialog.after_hours import PRIORITY_ANGER, PRIORITY_OTHER, PRIORITY_PRESALES, morning_queue, wants_cancel
from dialog.conversion import attribute, night_shift_figures, repeated_question, sessions_from_events
from dialog.outcomes import Conversion, Rating, SqliteOutcomeStore
from graph.conversion import OrderFact
from schema.conversation import ConversationEvent, HandoffTicket

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 23:00 store time


def ev(sid: str, minutes: int, message: str, products=(), verified=(), user=None, handoff=None):
    return ConversationEvent(session_id=sid, at=T0 + timedelta(minutes=minutes), message=message,
                             intent="product_attribute", confidence=0.9, state="answered", resolved=True,
                             fallback=False, handoff_reason=handoff, latency_ms=100.0 + minutes,
                             user_id=user, product_ids=list(products), verified_orders=list(verified))


EVENTS = [
    ev("a", 0, "有什么耳机推荐", ["P1"], user="u1"),
    ev("b", 5, "我的订单到哪了", verified=["O-OLD"]),
    ev("b", 6, "推荐一款连衣裙", ["P2"], verified=["O-OLD"]),
    ev("c", 10, "有没有黑色的鞋", ["P3"]),
    ev("c", 11, "有没有黑色的鞋呢"),
    ev("d", 20, "转人工", handoff="explicit"),
]


def test_orders_go_to_the_latest_matching_session_within_the_window():
    sessions = sessions_from_events(EVENTS)
    orders = [OrderFact("O1", T0 + timedelta(hours=5), 199.0, user_id="u1"),
              OrderFact("O2", T0 + timedelta(hours=10), 300.0, phone_hash="h1"),
              OrderFact("O3", T0 + timedelta(hours=100), 50.0, phone_hash="h1"),   # outside 72 h
              OrderFact("O-OLD", T0 + timedelta(hours=1), 20.0, phone_hash="h1")]  # the verified order itself
    got = attribute(orders, sessions, {"O-OLD": "h1"}, timedelta(hours=72))
    assert [(c.order_id, c.session_id, c.matched_by) for c in got] == [("O1", "a", "user_id"),
                                                                        ("O2", "b", "phone_hash")]


def test_night_figures(tmp_path):
    store = SqliteOutcomeStore(tmp_path / "o.sqlite3")
    conv = Conversion(session_id="a", order_id="O1", order_at=T0 + timedelta(hours=5), revenue=199.0,
                      matched_by="user_id", hours_after=5.0)
    assert store.record_conversion(conv) and not store.record_conversion(conv)
    store.record_rating(Rating(session_id="a", score=4, at=T0))
    store.record_rating(Rating(session_id="a", score=5, at=T0))  # the last rating counts
    figures = night_shift_figures(EVENTS, store.conversions(), store.ratings(),
                                  names=lambda ids: {i: f"name-{i}" for i in ids})
    assert figures.leads == 3 and figures.converted == 1 and figures.night.leads == 3
    assert figures.conversion_rate == round(1 / 3, 4) and figures.revenue_attributed == 199.0
    assert {p.product_id for p in figures.top_night_products_without_order} == {"P2", "P3"}
    assert figures.by_hour[23].leads == 3
    assert figures.repeated_question_sessions == 1            # c repeated its question
    assert figures.auto_resolution_rate == 0.5                # a, b resolved; c repeated; d handed off
    assert figures.rating_average == 5.0 and figures.first_reply_p50_ms is not None
    assert store.delete_for_session("a") == 2 and store.conversions() == []


def test_repetition_and_cancel_words():
    assert repeated_question(["这个多少钱啊", "这个多少钱啊？"])
    assert not repeated_question(["好的", "好的"])  # too short to count
    assert wants_cancel("不用了，谢谢") and wants_cancel("算了") and not wants_cancel("不用了吗 那退货呢")


def test_morning_queue_priority_then_age():
    def t(tid, minutes, prio):
        return HandoffTicket(ticket_id=tid, session_id=tid, reason="explicit", created_at=T0 + timedelta(minutes=minutes),
                             priority=prio, waiting=True)
    queue = morning_queue([t("x", 0, PRIORITY_OTHER), t("y", 5, PRIORITY_PRESALES), t("z", 9, PRIORITY_ANGER),
                           t("w", 1, PRIORITY_PRESALES)])
    assert [q.ticket_id for q in queue] == ["z", "w", "y", "x"]


def test_first_human_reply_is_counted_apart_from_the_bot():
    from dialog.response_times import human_reply_figures
    from schema.conversation import Turn

    def t(tid, sid, minutes_to_agent=None, cancelled=False):
        transcript = [Turn(role="shopper", text="转人工", at=T0), Turn(role="bot", text="好的", at=T0)]
        if minutes_to_agent is not None:
            transcript.append(Turn(role="agent", text="您好", at=T0 + timedelta(minutes=minutes_to_agent)))
            transcript.append(Turn(role="agent", text="还在吗", at=T0 + timedelta(minutes=minutes_to_agent + 30)))
        return HandoffTicket(ticket_id=tid, session_id=sid, reason="explicit", created_at=T0, transcript=transcript,
                             cancelled=cancelled)

    tickets = [t("1", "d", 600), t("2", "d", 20), t("3", "d"), t("4", "d", cancelled=True), t("5", "x", 1)]
    got = human_reply_figures(tickets, {"d"})
    assert (got.handoffs, got.handoffs_answered, got.handoffs_unanswered, got.handoffs_cancelled) == (4, 2, 1, 1)
    assert got.first_human_reply_p50_min == 20.0 and got.first_human_reply_p95_min == 600.0
    figures = night_shift_figures(EVENTS, [], [], tickets=tickets)
    assert figures.human_replies == got                       # only the sessions in the window
    assert figures.first_reply_p50_ms is not None             # the bot's first reply stays its own figure
    assert human_reply_figures([]).first_human_reply_p50_min is None
