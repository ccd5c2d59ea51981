"""Hand-off queues: lifecycle, listing, state errors, erasure and the atomic claim (real Redis)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from dialog.errors import TicketNotFound, TicketStateError
from dialog.handoff_queue import InMemoryHandoffQueue, RedisHandoffQueue
from schema.conversation import HandoffTicket, Turn

T0 = datetime(2025, 6, 1, 23, 0, tzinfo=UTC)


def _ticket(ticket_id: str, session_id: str = "s1", minutes: int = 0) -> HandoffTicket:
    return HandoffTicket(ticket_id=ticket_id, session_id=session_id, reason="anger", intent="complaint",
                         transcript=[Turn(role="shopper", text="快递三天不动了！", at=T0)],
                         suggested_replies=["亲，非常抱歉"], created_at=T0 + timedelta(minutes=minutes))


@pytest.fixture(params=["memory", "redis"])
def queue(request, redis_client, redis_prefix):
    if request.param == "memory":
        return InMemoryHandoffQueue()
    return RedisHandoffQueue(redis_client, prefix=redis_prefix)


def test_enqueue_get_and_list_in_creation_order(queue):
    queue.enqueue(_ticket("t2", minutes=5))
    queue.enqueue(_ticket("t1", minutes=1))
    assert queue.get("t1").transcript[0].text == "快递三天不动了！"
    assert [t.ticket_id for t in queue.list()] == ["t1", "t2"]
    assert [t.ticket_id for t in queue.list("queued")] == ["t1", "t2"]
    assert queue.list("closed") == []
    with pytest.raises(ValueError, match="unknown ticket status"):
        queue.list("waiting")


def test_duplicate_ticket_id_is_refused(queue):
    queue.enqueue(_ticket("t1"))
    with pytest.raises(TicketStateError):
        queue.enqueue(_ticket("t1"))


def test_claim_reply_close_lifecycle(queue):
    queue.enqueue(_ticket("t1"))
    claimed = queue.claim("t1", "alice")
    assert (claimed.status, claimed.claimed_by) == ("claimed", "alice")
    assert claimed.claimed_at is not None
    after = queue.add_turn("t1", Turn(role="agent", text="您好，我来帮您查", at=T0))
    assert [t.role for t in after.transcript] == ["shopper", "agent"]
    closed = queue.close("t1", "alice")
    assert closed.status == "closed" and closed.closed_at is not None
    assert [t.ticket_id for t in queue.list("closed")] == ["t1"]
    assert queue.get("t1").status == "closed"


def test_invalid_moves_raise_state_errors(queue):
    queue.enqueue(_ticket("t1"))
    queue.claim("t1", "alice")
    with pytest.raises(TicketStateError, match="alice"):
        queue.claim("t1", "bob")
    with pytest.raises(TicketStateError, match="claimed by alice"):
        queue.close("t1", "bob")
    queue.close("t1", "alice")
    with pytest.raises(TicketStateError, match="already closed"):
        queue.close("t1", "alice")
    with pytest.raises(TicketStateError):
        queue.add_turn("t1", Turn(role="agent", text="还在吗", at=T0))


def test_a_queued_ticket_can_be_closed_directly(queue):
    queue.enqueue(_ticket("t1"))
    closed = queue.close("t1", "bob")
    assert (closed.status, closed.claimed_by) == ("closed", "bob")


def test_unknown_ticket_raises_not_found(queue):
    for call in (lambda: queue.get("nope"), lambda: queue.claim("nope", "a"),
                 lambda: queue.close("nope", "a"),
                 lambda: queue.add_turn("nope", Turn(role="agent", text="x", at=T0))):
        with pytest.raises(TicketNotFound):
            call()


def test_delete_for_session_removes_only_that_sessions_tickets(queue):
    queue.enqueue(_ticket("a1", "sa"))
    queue.enqueue(_ticket("a2", "sa", minutes=1))
    queue.enqueue(_ticket("b1", "sb"))
    assert queue.delete_for_session("sa") == 2
    assert [t.ticket_id for t in queue.list()] == ["b1"]
    with pytest.raises(TicketNotFound):
        queue.get("a1")
    assert queue.delete_for_session("sa") == 0


def _race(queue, ticket_id: str, agents: int) -> tuple[list[str], list[str]]:
    barrier = threading.Barrier(agents)
    won: list[str] = []
    lost: list[str] = []

    def agent(name: str) -> None:
        barrier.wait()
        try:
            queue.claim(ticket_id, name)
            won.append(name)
        except TicketStateError:
            lost.append(name)

    threads = [threading.Thread(target=agent, args=(f"agent{i}",)) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won, lost


def test_claim_is_atomic_under_a_race(queue):
    for n in range(10):
        queue.enqueue(_ticket(f"race{n}"))
        won, lost = _race(queue, f"race{n}", agents=8)
        assert len(won) == 1 and len(lost) == 7
        assert queue.get(f"race{n}").claimed_by == won[0]


def test_redis_claim_is_atomic_across_separate_connections(redis_server, redis_prefix):
    """Two 'workers' with their own clients race for the same tickets."""
    import redis

    clients = [redis.Redis.from_url(redis_server.url) for _ in range(2)]
    try:
        queues = [RedisHandoffQueue(c, prefix=redis_prefix) for c in clients]
        for n in range(20):
            queues[0].enqueue(_ticket(f"x{n}"))
        results: dict[str, list[str]] = {}
        barrier = threading.Barrier(2)

        def worker(idx: int) -> None:
            barrier.wait()
            for n in range(20):
                try:
                    queues[idx].claim(f"x{n}", f"w{idx}")
                    results.setdefault(f"x{n}", []).append(f"w{idx}")
                except TicketStateError:
                    pass

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == sorted(f"x{n}" for n in range(20))
        assert all(len(winners) == 1 for winners in results.values())
        assert all(queues[1].get(tid).claimed_by == w[0] for tid, w in results.items())
    finally:
        for c in clients:
            c.close()
