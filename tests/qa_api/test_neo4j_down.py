"""Neo4j goes down under a running API: FAQ and policy text keep being answered,
product facts are said to be unavailable, /readyz turns 503, and everything
recovers when Neo4j is back. Uses a throwaway Neo4j of its own (stopped here).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest

from dialog.factory import build_engine
from graph.driver import connect
from graph.migrate import apply_migrations
from ops.neo4j import LocalNeo4j
from qa_api.app import create_app
from qa_api.config import api_config
from qa_api.services import build_services
from schema.settings import PROJECT_ROOT, load_settings
from tests import ports

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outage(tmp_path_factory, settings, encoder, intent_classifier, emotion_scorer) -> Iterator[tuple]:
    from ingest.pipeline import load_and_index

    var = tmp_path_factory.mktemp("neo4j-outage")
    scratch = load_settings(var_dir=var, neo4j_uri=None, neo4j_port=ports.NEO4J_SCRATCH_OUTAGE,
                            neo4j_heap="512m", neo4j_pagecache="256m", neo4j_tx_memory="512m")
    if settings.index_dir.exists():  # reuse the suite's vectors: the rebuild then embeds nothing
        shutil.copytree(settings.index_dir, scratch.index_dir)
    server = LocalNeo4j(scratch)
    server.start()
    driver = connect(scratch)
    apply_migrations(driver, scratch.neo4j_database)
    load_and_index(scratch, driver, encoder, [PROJECT_ROOT / "data" / "demo"], show_progress=False)
    services = build_services(scratch, api_config(scratch, {"redis_mode": "memory", "json_logs": False,
                                                            "rate_session_burst": 1000}), driver=driver)
    services.engine = build_engine(scratch, driver, sessions=services.sessions, handoffs=services.handoffs,
                                   events=services.events, agent_hours=services.agent_hours, encoder=encoder,
                                   classifier=intent_classifier, emotion=emotion_scorer)
    app = create_app(settings=scratch, services=services)
    app.testing = True
    yield app.test_client(), server
    server.stop()
    driver.close()


def _chat(client, sid: str, message: str) -> dict:
    resp = client.post("/v1/chat", json={"session_id": sid, "message": message})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_chat_degrades_while_neo4j_is_down_and_recovers(outage):
    client, server = outage
    r = _chat(client, "up-1", "云裳碎花裙白底碎花M码还有几件")
    assert "件" in r["reply"] and any(s["kind"] == "variant" for s in r["sources"])
    assert client.get("/readyz").status_code == 200

    server.stop()
    r = _chat(client, "down-1", "可以指定发顺丰吗")
    assert r["state"] == "answered" and any(s == {"kind": "faq", "id": "FAQ-0003"} for s in r["sources"])
    r = _chat(client, "down-2", "云裳碎花裙白底碎花M码还有几件")
    assert "暂时不可用" in r["reply"] and not any(s["kind"] == "variant" for s in r["sources"])
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["code"]

    server.start()
    # The engine stops trying the graph for a few seconds after a failure, then recovers by itself.
    for attempt in range(30):
        r = _chat(client, f"back-{attempt}", "云裳碎花裙白底碎花M码还有几件")
        if "暂时不可用" not in r["reply"]:
            break
        time.sleep(1.0)
    assert "暂时不可用" not in r["reply"] and any(s["kind"] == "variant" for s in r["sources"])
    assert client.get("/readyz").status_code == 200
