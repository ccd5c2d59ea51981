"""The real gunicorn server (2 workers) stays healthy through every kind of update, without
a restart: a stock load by CLI, an FAQ load by CLI and a change set through the API.

Every worker compares its FAQ index with the FAQ/policy texts it serves (not with the graph's
knowledge version), picks up a rebuilt index by itself, and a worker rebuilds it under the
build lock when the texts changed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from graph.knowledge import GraphKnowledge
from schema.settings import PROJECT_ROOT, load_settings
from tests.ingest.store import run_cli, write_jsonl
from tests.qa_api.test_gunicorn_chat import GUNICORN, _free_port, _request

pytestmark = pytest.mark.slow
OPERATOR = "gunicorn-updates-operator"
REFRESH_S = 3


@pytest.fixture(scope="module")
def served(demo_graph, settings, encoder, redis_server,
           tmp_path_factory) -> Iterator[tuple[int, GraphKnowledge]]:
    from retrieval.intent import load_or_train

    # Train (or find cached) the intent head where the workers look, once, instead of in both workers.
    load_or_train(load_settings(var_dir=settings.var_dir, encoder_model=str(load_settings().default_encoder_dir)),
                  encoder)
    port = _free_port()
    logs = tmp_path_factory.mktemp("gunicorn-updates")
    env = {**os.environ, "NEO4J_URI": settings.bolt_uri, "YEBAN_VAR_DIR": str(settings.var_dir),
           "YEBAN_ENCODER_MODEL": str(load_settings().default_encoder_dir),
           "YEBAN_REDIS_URL": redis_server.url, "YEBAN_API_HOST": "127.0.0.1", "YEBAN_API_PORT": str(port),
           "YEBAN_API_TOKENS": f"{OPERATOR}:operator:olga", "YEBAN_ENV_FILE": str(logs / "none.env"),
           "YEBAN_INDEX_REFRESH_S": str(REFRESH_S)}
    with open(logs / "out.log", "wb") as out, open(logs / "err.log", "wb") as err:
        proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "qa_api.wsgi:create_wsgi_app()"],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        ready = False
        while time.monotonic() < deadline and proc.poll() is None and not ready:
            try:
                ready = _request(port, "GET", "/readyz")[0] == 200
            except OSError:
                pass
            time.sleep(1.0)
        assert ready, (logs / "err.log").read_text()[-3000:]
        # Both workers: a few more readiness answers, all 200.
        assert all(_request(port, "GET", "/readyz")[0] == 200 for _ in range(6))
        yield port, GraphKnowledge(demo_graph, settings.neo4j_database)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _readyz_during(port: int, seconds: float) -> list[tuple[int, dict]]:
    answers = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        answers.append(_request(port, "GET", "/readyz"))
        time.sleep(0.3)
    return answers


def _eventually_replies(port: int, message: str, wanted: str, timeout_s: float = 90) -> dict:
    """Ask in fresh sessions until ``wanted`` is in the reply several times in a row (both workers)."""
    deadline = time.monotonic() + timeout_s
    streak, n, last = 0, 0, {}
    while time.monotonic() < deadline:
        n += 1
        status, last = _request(port, "POST", "/v1/chat", {"session_id": f"upd-{time.time_ns()}-{n}",
                                                           "message": message})
        assert status == 200, last
        streak = streak + 1 if wanted in last["reply"] else 0
        if streak >= 6:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{wanted!r} not served steadily within {timeout_s}s; last reply: {last}")


def test_stock_faq_and_change_set_updates_keep_the_service_ready(served, settings, tmp_path):
    port, kg = served
    (white_m,) = kg.variants("P1002", color="白底碎花", size="M")
    new_stock = white_m.stock + 17

    # 1. A stock-only load by CLI: /readyz never leaves 200 and the new count is served.
    stock = tmp_path / "stock_now.csv"
    stock.write_text(f"sku,stock\n{white_m.sku},{new_stock}\n", encoding="utf-8")
    proc = run_cli(settings, "load", str(stock))
    assert proc.returncode == 0, proc.stderr
    answers = _readyz_during(port, 2 * REFRESH_S + 2)
    assert all(status == 200 and body["status"] == "ready" for status, body in answers), answers
    _eventually_replies(port, "云裳碎花裙白底碎花M码还有几件", f"{new_stock} 件")

    # 2. An FAQ load by CLI (graph only): a worker rebuilds the index, every worker serves it.
    question, answer = "你们支持数字人民币付款吗", "支持数字人民币，在结算页选择数字人民币即可（测试条目一）"
    faq = write_jsonl(tmp_path / "faq_new.jsonl", [{"faq_id": "FAQ-T-DCEP", "question": question,
                                                    "answer": answer}])
    proc = run_cli(settings, "load", str(faq))
    assert proc.returncode == 0, proc.stderr
    answers = _readyz_during(port, REFRESH_S + 1)
    assert all(status == 200 for status, _ in answers), answers  # degraded at worst, never 503
    _eventually_replies(port, question, "测试条目一")
    assert all(status == 200 and body["status"] == "ready" for status, body in _readyz_during(port, 2))

    # 3. A change set through the API changes that answer: applied, rebuilt, served everywhere.
    changed = answer.replace("测试条目一", "测试条目二")
    status, cs = _request(port, "POST", "/v1/changesets", {"kind": "faq", "records": [
        {"faq_id": "FAQ-T-DCEP", "question": question, "answer": changed}]}, token=OPERATOR)
    assert status == 201, cs
    status, applied = _request(port, "POST", f"/v1/changesets/{cs['id']}/apply", token=OPERATOR)
    assert status == 200 and applied["status"] == "applied", applied
    answers = _readyz_during(port, REFRESH_S + 1)
    assert all(status == 200 for status, _ in answers), answers
    _eventually_replies(port, question, "测试条目二")
    final = _readyz_during(port, 2)
    assert all(status == 200 and body["status"] == "ready" for status, body in final), final
    # Nothing left to wait for: no check carries a detail (a degraded check names what it awaits).
    assert all(check["detail"] is None for check in final[-1][1]["checks"].values()), final[-1][1]
