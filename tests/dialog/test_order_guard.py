"""Failed order verifications limited per order (all sessions) and per client, in a sliding window."""

from __future__ import annotations

import pytest

from dialog.order_guard import GuardLimits, InMemoryOrderGuard, RedisOrderGuard, client_scope, current_client


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis"])
def guard_and_clock(request, redis_client, redis_prefix):
    clock = Clock()
    limits = GuardLimits(max_per_order=5, max_per_client=8, window_s=3600)
    if request.param == "memory":
        return InMemoryOrderGuard(limits, clock=clock), clock
    return RedisOrderGuard(redis_client, limits, prefix=redis_prefix, clock=clock), clock


def test_five_failures_from_any_clients_lock_the_order_for_an_hour(guard_and_clock):
    guard, clock = guard_and_clock
    results = [guard.failed("2026100100000001", f"10.0.0.{i}") for i in range(5)]
    assert results == [False, False, False, False, True]
    assert guard.locked("2026100100000001", "10.9.9.9")  # locked for everyone
    assert not guard.locked("2026100100000002", "10.9.9.9")  # other orders are not
    clock.t += 3599
    assert guard.locked("2026100100000001", None)
    clock.t += 2  # the oldest failures leave the window
    assert not guard.locked("2026100100000001", None)


def test_one_client_spreading_guesses_over_orders_is_stopped(guard_and_clock):
    guard, clock = guard_and_clock
    for i in range(8):
        over = guard.failed(f"20261001000000{i:02d}", "10.0.0.7")
    assert over
    assert guard.locked("2026100100000099", "10.0.0.7")  # no order opens for this client
    assert not guard.locked("2026100100000099", "10.0.0.8")
    clock.t += 3601
    assert not guard.locked("2026100100000099", "10.0.0.7")


def test_redis_keys_hold_no_order_number_or_address(redis_client, redis_prefix):
    guard = RedisOrderGuard(redis_client, prefix=redis_prefix)
    guard.failed("2026100100000001", "10.0.0.1")
    keys = [k.decode() for k in redis_client.keys(redis_prefix + "*")]
    assert len(keys) == 2 and not any("2026100100000001" in k or "10.0.0.1" in k for k in keys)


def test_client_scope_is_per_block():
    assert current_client() is None
    with client_scope("10.0.0.1"):
        assert current_client() == "10.0.0.1"
    assert current_client() is None


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="must be positive"):
        GuardLimits(max_per_order=0)
