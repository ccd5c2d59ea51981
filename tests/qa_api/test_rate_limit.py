"""Token buckets: burst, refill and retry hints; in memory and on the real Redis."""

from __future__ import annotations

import threading
import time

import pytest

from qa_api.rate_limit import InMemoryTokenBucket, RedisTokenBucket


def test_in_memory_bucket_bursts_then_refills():
    now = [100.0]
    bucket = InMemoryTokenBucket(capacity=3, rate_per_s=0.5, clock=lambda: now[0])
    assert [bucket.hit("k").allowed for _ in range(4)] == [True, True, True, False]
    refused = bucket.hit("k")
    assert not refused.allowed and refused.retry_after_s == pytest.approx(2.0)
    now[0] += 2.0
    assert bucket.hit("k").allowed
    assert not bucket.hit("k").allowed
    assert bucket.hit("other").allowed  # buckets are per key
    now[0] += 1000
    assert [bucket.hit("k").allowed for _ in range(4)] == [True, True, True, False]  # capped at capacity


def test_in_memory_bucket_forgets_full_buckets_beyond_max_keys():
    now = [0.0]
    bucket = InMemoryTokenBucket(capacity=1, rate_per_s=1.0, clock=lambda: now[0], max_keys=10)
    for i in range(10):
        bucket.hit(f"k{i}")
    now[0] += 5
    bucket.hit("new")
    assert len(bucket._buckets) == 1


def test_redis_bucket_bursts_refills_and_expires(redis_client, redis_prefix):
    bucket = RedisTokenBucket(redis_client, capacity=3, rate_per_s=10.0, prefix=redis_prefix)
    assert [bucket.hit("k").allowed for _ in range(4)] == [True, True, True, False]
    assert 0 < bucket.hit("k").retry_after_s <= 0.1
    time.sleep(0.15)
    assert bucket.hit("k").allowed
    ttl = redis_client.pttl(redis_prefix + "k")
    assert 0 < ttl <= 3 / 10 * 1000 + 1000


def test_redis_bucket_is_exact_under_concurrency(redis_server, redis_client, redis_prefix):
    import redis

    clients = [redis.Redis.from_url(redis_server.url) for _ in range(4)]
    buckets = [RedisTokenBucket(c, capacity=50, rate_per_s=0.001, prefix=redis_prefix) for c in clients]
    allowed = []
    lock = threading.Lock()

    def worker(bucket):
        for _ in range(40):
            ok = bucket.hit("shared").allowed
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker, args=(b,)) for b in buckets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert allowed.count(True) == 50 and len(allowed) == 160


def test_invalid_bucket_parameters_are_rejected(redis_client):
    with pytest.raises(ValueError):
        InMemoryTokenBucket(capacity=0, rate_per_s=1)
    with pytest.raises(ValueError):
        RedisTokenBucket(redis_client, capacity=1, rate_per_s=0)
