"""The Neo4j circuit breaker: after an unreachable server, reads fail at once for a while, then try
again; query errors never open it. Real drivers only: one aimed at a port nobody listens on, and the
test Neo4j."""

from __future__ import annotations

import socket
import time

import neo4j
import pytest
from neo4j import exceptions as neo4j_exc

from graph.breaker import GraphBreaker, breaker_for
from graph.driver import GraphReader
from graph.errors import GraphUnavailableError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unreachable_server_opens_the_breaker_and_reads_fail_fast():
    driver = neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{_free_port()}", auth=("neo4j", "x"),
                                        max_transaction_retry_time=0.0, connection_timeout=1.0)
    try:
        reader = GraphReader(driver, "neo4j")
        with pytest.raises(neo4j_exc.ServiceUnavailable):
            reader._read("RETURN 1 AS one")
        assert breaker_for(driver).is_open
        started = time.perf_counter()
        with pytest.raises(GraphUnavailableError, match="failing fast"):
            reader._read("RETURN 1 AS one")
        assert time.perf_counter() - started < 0.05  # no connection attempt while open
        other = GraphReader(driver, "neo4j")  # every reader of the driver shares its breaker
        with pytest.raises(GraphUnavailableError):
            other._read("RETURN 1 AS one")
    finally:
        driver.close()


def test_after_the_open_period_one_read_tries_again_and_success_closes_it(driver):
    clock = _Clock()
    breaker = GraphBreaker(open_s=2.0, clock=clock)
    calls = []

    def down():
        calls.append("down")
        raise neo4j_exc.ServiceUnavailable("connection refused")

    with pytest.raises(neo4j_exc.ServiceUnavailable):
        breaker.call(down)
    clock.now += 1.0
    with pytest.raises(GraphUnavailableError):
        breaker.call(down)
    assert calls == ["down"]  # not tried while open
    clock.now += 1.5  # past the open period: the real server answers, the breaker closes
    records, _, _ = breaker.call(lambda: driver.execute_query("RETURN 1 AS one"))
    assert records[0]["one"] == 1 and not breaker.is_open


def test_a_query_error_says_nothing_about_the_server(driver):
    breaker = GraphBreaker()
    with pytest.raises(neo4j_exc.CypherSyntaxError):
        breaker.call(lambda: driver.execute_query("RETURN nonsense("))
    assert not breaker.is_open
    records, _, _ = breaker.call(lambda: driver.execute_query("RETURN $x AS x", x=7))
    assert records[0]["x"] == 7
