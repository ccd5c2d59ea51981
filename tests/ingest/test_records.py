"""Input record models: the seed record, strictness, and the committed JSON Schema files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from schema.records import JSON_SCHEMA_DIR, RECORD_MODELS, OrderRecord, ProductRecord, write_json_schemas
from schema.settings import PROJECT_ROOT
from tests.ingest.store import SEED


def test_seed_record_validates_with_options_and_total_stock():
    record = ProductRecord.model_validate(SEED)
    assert record.attributes.stock == 150
    assert record.attributes.options() == {"size": ["S", "M", "L"], "color": ["红", "蓝"]}
    assert record.variants == [] and record.faq[0].q == "如何退货?"


@pytest.mark.parametrize("data,field", [
    ({"product_id": "P1", "size": ["S"]}, "size"),  # extra fields only under attributes
    ({"product_id": "P1", "attributes": {"库存": ["红"]}}, "attributes"),  # reserved: shadows stock
    ({"product_id": "P1", "attributes": {"颜 色!": ["红"]}}, "attributes"),  # not letters/digits/_
    ({"product_id": "P1", "attributes": {"stock": 1.5}}, "attributes.stock"),
    ({"product_id": "P1", "category": "服装//裙"}, "category"),
    ({"product_id": " ", "price": 1}, "product_id"),
])
def test_product_strictness(data, field):
    with pytest.raises(ValidationError) as info:
        ProductRecord.model_validate(data)
    assert field in {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}


def test_seed_option_names_may_be_chinese():
    record = ProductRecord.model_validate({"product_id": "P1", "attributes": {"颜色": ["红", "黑"], "stock": 3}})
    assert record.attributes.options() == {"颜色": ["红", "黑"]}


def test_order_phone_is_normalised_and_times_get_china_zone():
    order = OrderRecord.model_validate({
        "order_id": "O1", "phone": "+86 138-0013-8000", "status": "已付款", "items": [{"sku": "A", "qty": 2}],
        "created_at": "2024-05-01T10:00:00", "paid_at": "2024-05-01T02:05:00Z"})
    assert order.phone == "13800138000"
    assert order.created_at.isoformat() == "2024-05-01T10:00:00+08:00"
    assert order.paid_at.isoformat() == "2024-05-01T10:05:00+08:00"


def test_committed_json_schemas_are_current(tmp_path):
    written = write_json_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{k}.schema.json" for k in RECORD_MODELS)
    for path in written:
        committed = JSON_SCHEMA_DIR / path.name
        assert committed.exists(), f"run python -m schema.records --json-schema ({committed} missing)"
        assert json.loads(committed.read_text(encoding="utf-8")) == json.loads(path.read_text(encoding="utf-8"))
    product = json.loads((tmp_path / "product.schema.json").read_text(encoding="utf-8"))
    assert product["additionalProperties"] is False and "product_id" in product["required"]
    assert product["$defs"]["ProductAttributes"]["additionalProperties"]


def test_json_schema_cli(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "schema.records", "--json-schema", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(list(tmp_path.glob("*.schema.json"))) == len(RECORD_MODELS)
