"""A scripted night against the demo store, then the night-shift figures as JSON.

Owns: showing leads, conversion, response speed, resolution and satisfaction
working end to end. It builds the real engine (models, graph, FAQ and product
indexes) with in-memory sessions and tickets, a scratch event log and a clock
that walks through one night (22:00-08:00 store time, plus a few daytime
sessions for contrast). The traffic mixes pre-sales (search, follow-ups,
promotions, how to buy), logistics (order status after verification, shipping
rules), after-sales, complaints and after-hours hand-offs (which keep being
answered, take a callback number or are cancelled); in the morning, agents
answer the queue in its order (the first human reply). A deterministic share of
the pre-sales sessions (returning shoppers who verified an earlier order) is
followed by an order, loaded through a reviewed change set so that the real
attribution hook runs; the change set is rolled back at the end, leaving the
store as it was.

Run from the repository root after ``make demo`` (Neo4j up, data/demo loaded)::

    python -m bench.night_shift [--sessions 60] [--seed 11] [--order-share 0.34]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SH = timezone(timedelta(hours=8), "Asia/Shanghai")
NIGHT_START = datetime(2026, 11, 25, 22, 0, tzinfo=SH)

PRESALES = [
    ["有什么连衣裙推荐", "第一个多少钱", "有优惠吗", "怎么下单"],
    ["推荐一款300以内的耳机", "第二个有货吗", "包邮吗"],
    ["有没有黑色的运动鞋", "第一个和第二个有什么区别"],
    ["1000元以下的手机推荐一下", "有没有便宜点的"],
    ["有没有适合夏天穿的裙子", "第一个有M码吗"],
    ["适合送长辈的茶叶有哪些", "第一个怎么买"],
    ["电饭煲有什么推荐的", "第一个多少钱"],
]
LOGISTICS = [["包邮吗 满多少包邮"], ["几点前付款当天能发货"], ["发什么快递"]]
AFTER_SALES = [["七天无理由退货怎么退"], ["换货的运费谁出"], ["发票怎么开"]]
COMPLAINTS = [["你们这什么破质量！！！我要投诉！！！"], ["等了五天还没发货 太差劲了 我要差评"]]
HANDOFFS = [["转人工", "有什么耳机推荐", "我的电话13900001111"], ["人工客服", "不用了"],
            ["我要找人工", "七天无理由退货怎么退"]]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _orders(data_dir: Path) -> list[dict]:
    with open(data_dir / "orders.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _script(n: int, rng: random.Random, order_share: float) -> list[dict]:
    """Sessions: kind, start time, messages, whether an order follows."""
    kinds = (["presales"] * 40 + ["logistics"] * 15 + ["after_sales"] * 15 + ["complaint"] * 10
             + ["handoff"] * 20)
    sessions = []
    share = 0.0
    for i in range(n):
        kind = kinds[(i * 37) % len(kinds)]
        day = i % 10 == 9  # one session in ten is daytime, for the night/day contrast
        start = (NIGHT_START + timedelta(hours=16) if day else NIGHT_START) + timedelta(
            minutes=rng.randrange(0, 600 if not day else 300))
        pool = {"presales": PRESALES, "logistics": LOGISTICS, "after_sales": AFTER_SALES,
                "complaint": COMPLAINTS, "handoff": HANDOFFS}[kind]
        converts = False
        if kind == "presales":
            share += order_share  # deterministic: every 1/order_share-th pre-sales session orders
            converts = share >= 1
            share -= int(share)
        sessions.append({"id": f"night-{i:03d}", "kind": kind, "start": start, "converts": converts,
                         "messages": list(pool[rng.randrange(len(pool))]), "rating": None if i % 4 else
                         (5 if kind == "presales" else 4 if kind != "complaint" else 2)})
    return sessions


def _morning(agent_hours: str) -> datetime:
    """The start of agent hours (``09:00-24:00``) on the morning after the scripted night."""
    hour, minute = (int(x) for x in agent_hours.split("-")[0].split(":"))
    return (NIGHT_START + timedelta(days=1)).replace(hour=hour, minute=minute)


def run(args: argparse.Namespace) -> dict:
    from dialog.after_hours import PRIORITY_NAMES, morning_queue
    from dialog.agent_hours import AgentHours
    from dialog.conversion import ConversionTracker, night_shift_figures
    from dialog.events import SqliteEventLog
    from dialog.factory import build_engine
    from dialog.handoff_queue import InMemoryHandoffQueue
    from dialog.outcomes import Rating, SqliteOutcomeStore
    from dialog.session_store import InMemorySessionStore
    from graph.conversion import OrderFacts
    from graph.driver import connect
    from graph.knowledge import GraphKnowledge
    from ingest.changesets import ChangeSetService
    from schema.records import OrderRecord
    from schema.settings import load_settings

    settings = load_settings()
    rng = random.Random(args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="yeban-night-"))
    events = SqliteEventLog(scratch / "events.sqlite3")
    outcomes = SqliteOutcomeStore(scratch / "events.sqlite3")
    handoffs = InMemoryHandoffQueue()
    clock = Clock(NIGHT_START)
    driver = connect(settings)
    try:
        engine = build_engine(settings, driver, sessions=InMemorySessionStore(), handoffs=handoffs, events=events,
                              agent_hours=AgentHours.parse(settings.agent_hours, settings.agent_timezone),
                              clock=clock)
        knowledge = GraphKnowledge(driver, settings.neo4j_database)
        tracker = ConversionTracker(events, outcomes, OrderFacts(driver, settings.neo4j_database),
                                    settings.conversion_window_h)
        existing = _orders(settings.data_dir / "demo")
        script = sorted(_script(args.sessions, rng, args.order_share), key=lambda s: s["start"])
        new_orders = []
        for n, session in enumerate(script):
            clock.now = session["start"]
            messages = list(session["messages"])
            if session["converts"]:
                old = existing[n % len(existing)]
                engine.chat(session["id"], f"我的订单 {old['order_id']} 到哪了")
                clock.now += timedelta(seconds=40)
                engine.chat(session["id"], old["phone"][-4:])
            last = None
            for message in messages:
                clock.now += timedelta(seconds=rng.randrange(20, 90))
                last = engine.chat(session["id"], message)
            if session["rating"]:
                outcomes.record_rating(Rating(session_id=session["id"], score=session["rating"], at=clock.now))
            if session["converts"] and last is not None:
                ctx = engine.transcript(session["id"])
                pid = (ctx.discussed_products or [None])[0]
                variants = [v for v in knowledge.variants(pid) if v.stock > 0] if pid else []
                if variants:
                    at = (clock.now + timedelta(hours=1 + n % 5)).isoformat()
                    new_orders.append(OrderRecord.model_validate({
                        "order_id": f"99{n:02d}" + old["order_id"][4:], "phone": old["phone"], "status": "已付款",
                        "items": [{"sku": variants[0].sku, "qty": 1 + n % 2}], "created_at": at, "paid_at": at}))
        queue = [{"ticket_id": t.ticket_id, "priority": PRIORITY_NAMES.get(t.priority, "other"),
                  "created_at": t.created_at.isoformat(), "callback_left": t.callback_phone is not None}
                 for t in morning_queue(handoffs.list("queued"))]
        cancelled = sum(t.cancelled for t in handoffs.list())
        # Morning: agents come on at the start of agent hours and answer the queue in its order,
        # one ticket every few minutes, so the first human reply after a night hand-off is measured.
        clock.now = _morning(settings.agent_hours)
        for n, item in enumerate(queue):
            clock.now += timedelta(minutes=3 + n % 3)
            handoffs.claim(item["ticket_id"], "agent-morning")
            engine.agent_reply(item["ticket_id"], "agent-morning", "您好，我是早班客服，来接着处理您的问题")
        changes = ChangeSetService(driver, settings.neo4j_database,
                                   phone_salt=settings.phone_hash_salt.get_secret_value(), on_change=tracker.on_change)
        applied = None
        if new_orders:
            change_set = changes.create(new_orders, "night-shift-bench")
            applied = changes.apply(change_set.id)
        try:
            figures = night_shift_figures(
                events.events(), outcomes.conversions(), outcomes.ratings(),
                names=lambda ids: {p.product_id: p.display_name for p in knowledge.products(ids)},
                tickets=handoffs.list())
        finally:
            if applied is not None:
                changes.rollback(applied.id)
    finally:
        driver.close()
    return {"script": {"sessions": len(script), "seed": args.seed, "order_share": args.order_share,
                       "orders_loaded": len(new_orders),
                       "kinds": {k: sum(s["kind"] == k for s in script) for k in
                                 ("presales", "logistics", "after_sales", "complaint", "handoff")}},
            "morning_queue": queue, "handoffs_cancelled": cancelled,
            "figures": json.loads(figures.model_dump_json())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.night_shift", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--order-share", type=float, default=0.34,
                        help="share of pre-sales sessions followed by an order (deterministic)")
    args = parser.parse_args(argv)
    if not 0 <= args.order_share <= 1:
        parser.error("--order-share must be between 0 and 1")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(run(args), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
