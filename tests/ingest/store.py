"""A small store written as input files, and graph snapshots for before/after checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import neo4j

from schema.settings import PROJECT_ROOT, Settings

SEED = {"product_id": "P1001", "attributes": {"size": ["S", "M", "L"], "color": ["红", "蓝"], "stock": 150},
        "faq": [{"q": "如何退货?", "a": "7天内无理由退货..."}]}

PRODUCTS: list[dict[str, Any]] = [
    SEED,
    {"product_id": "P2001", "name": "法式碎花连衣裙", "brand": "棉语", "category": "服装/女装/连衣裙",
     "price": 299, "description": "雪纺面料", "aliases": ["碎花裙", "法式连衣裙"], "policies": ["POL-DRESS"],
     "variants": [
         {"sku": "P2001-RED-M", "attributes": {"color": "红色", "size": "M"}, "stock": 5, "price": 299},
         {"sku": "P2001-RED-L", "attributes": {"color": "红色", "size": "L"}, "stock": 0},
         {"sku": "P2001-BLU-M", "attributes": {"color": "蓝色", "size": "M"}, "stock": 3, "price": 279.5},
     ],
     "faq": [{"q": "会起球吗?", "a": "不会"}]},
    {"product_id": "P3001", "name": "蕾丝文胸", "brand": "棉语", "category": "服装/内衣/文胸", "price": 129,
     "variants": [{"sku": "P3001-BLK-75B", "attributes": {"color": "黑色", "size": "75B"}, "stock": 10}]},
    {"product_id": "P4001", "name": "星耀 X14", "brand": "星耀", "category": "数码/手机", "price": 3999,
     "aliases": ["X14"],
     "variants": [
         {"sku": "P4001-BLK-256", "attributes": {"color": "曜石黑", "storage": "256GB"}, "stock": 8},
         {"sku": "P4001-WHT-512", "attributes": {"color": "云母白", "storage": "512GB"}, "stock": 0,
          "price": 4499},
     ]},
]

POLICIES: list[dict[str, Any]] = [
    {"policy_id": "POL-RETURN", "title": "七天无理由退货", "version": 2,
     "clauses": [{"text": "签收7天内可无理由退货"}, {"text": "商品需保持完好、吊牌齐全"}],
     "applies_to": {"categories": ["服装"]}, "excludes": {"categories": ["服装/内衣"]},
     "effective_from": "2024-01-01"},
    {"policy_id": "POL-DRESS", "title": "连衣裙试穿", "clauses": ["连衣裙支持先试后买"],
     "effective_from": "2024-01-01", "effective_to": "2030-01-01"},
    {"policy_id": "POL-SHIP", "title": "发货时效", "clauses": ["付款后48小时内发货"],
     "effective_from": "2024-01-01T00:00:00+08:00"},
    {"policy_id": "POL-XINGYAO", "title": "星耀保修", "clauses": ["整机保修一年"],
     "applies_to": {"brands": ["星耀"]}, "effective_from": "2024-01-01"},
]

FAQ: list[dict[str, Any]] = [
    {"faq_id": "FAQ-SHIP", "question": "多久发货?", "answer": "付款后48小时内发货",
     "paraphrases": ["什么时候发货", "几天能发货"], "tags": ["物流"], "about": {"policy_id": "POL-SHIP"}},
    {"faq_id": "FAQ-DRESS", "question": "连衣裙偏大吗?", "answer": "标准尺码", "about": {"category": "服装/女装"}},
    {"faq_id": "FAQ-X14", "question": "X14 支持快充吗?", "answer": "支持 66W 快充", "about": {"product_id": "P4001"}},
]

ORDERS: list[dict[str, Any]] = [
    {"order_id": "O202405010001", "phone": "13800138000", "status": "已发货",
     "items": [{"sku": "P2001-RED-M", "qty": 1}, {"sku": "P4001-BLK-256", "qty": 2}],
     "created_at": "2024-05-01T10:00:00", "paid_at": "2024-05-01T10:05:00",
     "shipped_at": "2024-05-02T09:00:00", "carrier": "顺丰", "tracking_no": "SF100", "address": "上海市"},
    {"order_id": "O202405020002", "phone": "+86 139-0000-1234", "status": "待付款",
     "items": [{"sku": "P3001-BLK-75B", "qty": 1}], "created_at": "2024-05-02T08:00:00+08:00"},
]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_store(directory: Path, **overrides: list[Any]) -> Path:
    """products/policies/faq/orders .jsonl in ``directory``; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {"products": PRODUCTS, "policies": POLICIES, "faq": FAQ, "orders": ORDERS, **overrides}
    for name, rows in data.items():
        write_jsonl(directory / f"{name}.jsonl", rows)
    return directory


_KEY = "coalesce(n.sku, n.clause_id, n.policy_id, n.faq_id, n.order_id, n.product_id, n.path, n.name, n.id)"


def snapshot(driver: neo4j.Driver, database: str, skip: tuple[str, ...] = ("Migration",)) -> dict[str, list]:
    """Every node (labels + properties) and relationship (type, ends, properties), sorted."""
    nodes, _, _ = driver.execute_query(
        f"MATCH (n) WHERE none(l IN labels(n) WHERE l IN $skip) RETURN labels(n) AS labels, "
        f"properties(n) AS props, {_KEY} AS key", skip=list(skip), database_=database)
    rels, _, _ = driver.execute_query(
        f"MATCH (n)-[r]->(m) WHERE none(l IN labels(n) + labels(m) WHERE l IN $skip) "
        f"WITH n, r, m, {_KEY} AS a, {_KEY.replace('n.', 'm.')} AS b "
        "RETURN type(r) AS type, a, b, properties(r) AS props", skip=list(skip), database_=database)
    dump = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)  # noqa: E731
    return {
        "nodes": sorted(dump([sorted(r["labels"]), r["key"], r["props"]]) for r in nodes),
        "rels": sorted(dump([r["type"], r["a"], r["b"], r["props"]]) for r in rels),
    }


def counts(driver: neo4j.Driver, database: str) -> dict[str, int]:
    records, _, _ = driver.execute_query(
        "MATCH (n) WHERE NOT n:Migration UNWIND labels(n) AS label RETURN label, count(*) AS n",
        database_=database)
    return {r["label"]: r["n"] for r in records}


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment pointing a ``python -m ingest`` subprocess at the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "YEBAN_"))}
    env.update({
        "NEO4J_URI": settings.bolt_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
        "NEO4J_DATABASE": settings.neo4j_database,
        "YEBAN_PHONE_HASH_SALT": settings.phone_hash_salt.get_secret_value(),
        "YEBAN_VAR_DIR": str(settings.var_dir),
        "PYTHONPATH": str(PROJECT_ROOT),
    })
    return env


def run_cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True,
                          env=cli_env(settings), cwd=PROJECT_ROOT, timeout=timeout)
