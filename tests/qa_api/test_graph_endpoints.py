"""Endpoints that touch the graph, against the real Neo4j of ``tests/conftest.py``:
readiness, change sets (create from JSON and from an upload, apply, rollback) and products."""

from __future__ import annotations

import io
import json
import socket
import threading

import pytest

from tests.qa_api.conftest import AGENT, OPERATOR

PRODUCT = {
    "product_id": "P9001", "name": "云裳 法式碎花雪纺连衣裙", "brand": "云裳", "category": "服装/女装/连衣裙",
    "price": 299.0, "description": "雪纺面料，方领泡泡袖", "aliases": ["碎花裙"],
    "variants": [
        {"sku": "P9001-S", "attributes": {"color": "蓝底碎花", "size": "S"}, "stock": 35, "price": 299.0},
        {"sku": "P9001-M", "attributes": {"color": "蓝底碎花", "size": "M"}, "stock": 30, "price": 299.0},
    ],
    "faq": [{"q": "浅色的会透吗?", "a": "亲，这款裙身带棉质内衬，不会透哦。"}],
}


class ReadyEngine:
    """Only what /readyz looks at: the engine's own component checks."""

    def __init__(self, failing: dict[str, str] | None = None) -> None:
        self.failing = failing or {}

    def readiness(self) -> dict[str, str | None]:
        return {"faiss_index": None, "intent_model": None, **self.failing}


# --- readiness -------------------------------------------------------------------------------
def test_readyz_is_200_when_neo4j_answers_and_the_engine_is_loaded(driver, make_app):
    r = make_app(engine=ReadyEngine()).test_client().get("/readyz")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["neo4j"] == {"ok": True, "detail": None}
    assert body["checks"]["engine_components"]["ok"] is True


def test_readyz_names_the_engine_component_that_is_not_loaded(driver, make_app):
    r = make_app(engine=ReadyEngine({"intent_model": "checkpoint missing"})).test_client().get("/readyz")
    assert r.status_code == 503
    checks = r.get_json()["checks"]
    assert checks["engine_components"] == {"ok": False, "detail": "intent_model: checkpoint missing"}
    assert checks["neo4j"]["ok"] is True


def test_readyz_is_503_when_neo4j_is_down(make_app, settings):
    dead = settings.model_copy(update={"neo4j_port": _free_port()})
    r = make_app(engine=ReadyEngine(), settings_=dead).test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "not_ready"
    assert body["checks"]["neo4j"]["ok"] is False
    assert "not reachable" in body["checks"]["neo4j"]["detail"]
    assert body["checks"]["engine"]["ok"] is True
    assert make_app(settings_=dead).test_client().get("/healthz").status_code == 200  # liveness unaffected


def test_readyz_gives_up_on_a_hung_server_within_its_timeout(make_app, settings):
    """A port that accepts connections but never speaks Bolt must not hang /readyz."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        hung = settings.model_copy(update={"neo4j_port": listener.getsockname()[1]})
        import time

        started = time.monotonic()
        r = make_app(engine=ReadyEngine(), settings_=hung, readiness_timeout_s=0.5).test_client().get("/readyz")
        assert time.monotonic() - started < 3
        assert r.status_code == 503
        assert r.get_json()["checks"]["neo4j"]["detail"] == "no answer within 0.5s"
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- change sets ---------------------------------------------------------------------------------
@pytest.fixture()
def graph_client(graph_db, make_app, tmp_path):
    return make_app(uploads_dir=tmp_path / "uploads").test_client()


def test_changeset_from_json_records_create_apply_rollback(graph_client, graph_db, settings):
    c = graph_client
    assert c.post("/v1/changesets", json={"kind": "products", "records": [PRODUCT]}, headers=AGENT).status_code \
        == 403
    created = c.post("/v1/changesets", json={"kind": "products", "records": [PRODUCT]}, headers=OPERATOR)
    assert created.status_code == 201, created.get_json()
    cs = created.get_json()
    assert cs["status"] == "pending" and cs["author"] == "olga"
    assert cs["counts"]["product"]["created"] == 1 and cs["counts"]["variant"]["created"] == 2
    assert _count(graph_db, settings, "P9001") == 0  # nothing written before apply

    fetched = c.get(f"/v1/changesets/{cs['id']}", headers=OPERATOR).get_json()
    assert fetched["id"] == cs["id"] and fetched["status"] == "pending"

    applied = c.post(f"/v1/changesets/{cs['id']}/apply", headers=OPERATOR)
    assert applied.status_code == 200 and applied.get_json()["status"] == "applied"
    assert _count(graph_db, settings, "P9001") == 1
    twice = c.post(f"/v1/changesets/{cs['id']}/apply", headers=OPERATOR)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "changeset_state"

    rolled = c.post(f"/v1/changesets/{cs['id']}/rollback", headers=OPERATOR)
    assert rolled.status_code == 200 and rolled.get_json()["status"] == "rolled_back"
    assert _count(graph_db, settings, "P9001") == 0


def _count(driver, settings, product_id: str) -> int:
    records, _, _ = driver.execute_query("MATCH (p:Product {product_id: $id}) RETURN count(p) AS n",
                                         id=product_id, database_=settings.neo4j_database)
    return records[0]["n"]


def test_changeset_validation_errors_name_the_record_field(graph_client):
    bad = {**PRODUCT, "price": "very cheap"}
    r = graph_client.post("/v1/changesets", json={"kind": "products", "records": [PRODUCT, bad]},
                          headers=OPERATOR)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "records.1.price"
    wrong_kind = graph_client.post("/v1/changesets", json={"kind": "widgets", "records": [PRODUCT]},
                                   headers=OPERATOR)
    assert wrong_kind.status_code == 400 and wrong_kind.get_json()["error"]["field"] == "kind"
    empty = graph_client.post("/v1/changesets", json={"kind": "products", "records": []}, headers=OPERATOR)
    assert empty.status_code == 400 and empty.get_json()["error"]["field"] == "records"


def test_unknown_changeset_is_404(graph_client):
    r = graph_client.post("/v1/changesets/CS-none/apply", headers=OPERATOR)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "changeset_not_found"


def test_changeset_from_uploaded_files(graph_client, tmp_path):
    lines = json.dumps(PRODUCT, ensure_ascii=False) + "\n"
    r = graph_client.post("/v1/changesets", headers=OPERATOR, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(lines.encode()), "products_new.jsonl")})
    assert r.status_code == 201, r.get_json()
    cs = r.get_json()
    assert cs["counts"]["product"]["created"] == 1
    kept = list((tmp_path / "uploads").rglob("products_new.jsonl"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == lines
    assert graph_client.post(f"/v1/changesets/{cs['id']}/apply", headers=OPERATOR).status_code == 200

    stock = graph_client.post("/v1/changesets", headers=OPERATOR, content_type="multipart/form-data",
                              data={"file": (io.BytesIO(b"sku,stock\nP9001-S,3\n"), "restock.csv"),
                                    "kind": "stock"})
    assert stock.status_code == 201, stock.get_json()
    change = stock.get_json()["changes"][0]
    assert change["id"] == "P9001-S" and change["op"] == "updated"


def test_upload_errors(graph_client):
    no_file = graph_client.post("/v1/changesets", headers=OPERATOR, content_type="multipart/form-data",
                                data={"kind": "products"})
    assert no_file.status_code == 400 and no_file.get_json()["error"]["field"] == "file"
    unknown = graph_client.post("/v1/changesets", headers=OPERATOR, content_type="multipart/form-data",
                                data={"file": (io.BytesIO(b"{}\n"), "notes.txt")})
    assert unknown.status_code == 400 and unknown.get_json()["error"]["code"] == "invalid_input"
    assert unknown.get_json()["error"]["field"] == "file"
    binary = graph_client.post("/v1/changesets", headers=OPERATOR, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(b"\xff\xfe{\x00}"), "orders.jsonl")})
    error = binary.get_json()["error"]
    assert binary.status_code == 400 and error.get("field") == "file" and "UTF-8" in error["message"], error
    assert error["message"].startswith("orders.jsonl") and "uploads" not in error["message"]  # not our path
    invalid = graph_client.post("/v1/changesets", headers=OPERATOR, content_type="multipart/form-data",
                                data={"file": (io.BytesIO(b'{"product_id": ""}\n'), "products.jsonl")})
    assert invalid.status_code == 400
    assert invalid.get_json()["error"]["code"] == "invalid_records"
    assert invalid.get_json()["error"]["details"]


# --- products ---------------------------------------------------------------------------------------
def test_product_with_variants_from_the_graph(graph_client):
    cs = graph_client.post("/v1/changesets", json={"kind": "products", "records": [PRODUCT]},
                           headers=OPERATOR).get_json()
    graph_client.post(f"/v1/changesets/{cs['id']}/apply", headers=OPERATOR)
    assert graph_client.get("/v1/products/P9001").status_code == 401
    r = graph_client.get("/v1/products/P9001", headers=AGENT)
    assert r.status_code == 200
    product = r.get_json()
    assert (product["name"], product["brand"], product["category"]) == (
        "云裳 法式碎花雪纺连衣裙", "云裳", "服装/女装/连衣裙")
    assert product["aliases"] == ["碎花裙"]
    variants = {v["sku"]: v for v in product["variants"]}
    assert set(variants) == {"P9001-S", "P9001-M"}
    assert variants["P9001-S"]["attributes"] == {"color": "蓝底碎花", "size": "S"}
    assert variants["P9001-S"]["stock"] == 35
    missing = graph_client.get("/v1/products/P0000", headers=OPERATOR)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "product_not_found"

