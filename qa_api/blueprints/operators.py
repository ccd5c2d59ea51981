"""Operators' tools: reviewed change sets (create from an uploaded file or JSON
records, inspect, apply, roll back) and a product's facts as the graph holds them."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.utils import secure_filename

from ingest.errors import InputError
from ingest.models import ChangeSet
from qa_api.errors import BadRequest, NotFound, ServiceUnavailable, validation_error
from qa_api.routing import (
    Operation,
    current_identity,
    endpoint,
    json_response,
    parse_body,
    services,
)
from qa_api.schemas import (
    RECORD_KIND_MODELS,
    ChangeSetJsonRequest,
    ChangeSetList,
    ChangeSetUpload,
    ProductOut,
)

logger = logging.getLogger(__name__)
bp = Blueprint("operators", __name__)
_OPERATOR = ("operator",)
_TRUE = {"1", "true", "yes", "on"}


def _changesets() -> Any:
    service = services().changesets
    if service is None:
        raise ServiceUnavailable("the change-set service is not configured", code="changesets_unavailable")
    return service


def _save_upload() -> tuple[Path, str | None, bool]:
    """Keep the uploaded file under ``uploads_dir/<stamp>/<its name>`` (its name tells its kind)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("upload the input file as the multipart field 'file'", code="validation_error",
                         field="file")
    kind = request.form.get("kind") or None
    if kind is not None and kind not in RECORD_KIND_MODELS:
        raise BadRequest(f"kind: must be one of {', '.join(RECORD_KIND_MODELS)}", code="validation_error",
                         field="kind")
    name = secure_filename(upload.filename) or "upload"
    folder = services().config.uploads_dir / (datetime.now(UTC).strftime("%Y%m%d-%H%M%S-")
                                              + secrets.token_hex(3))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    upload.save(path)
    return path, kind, request.form.get("prune", "").lower() in _TRUE


@endpoint(bp, "/v1/changesets", ["POST"], Operation(
    summary="Create a pending change set (a reviewed diff) from an uploaded file or JSON records",
    tag="operators", roles=_OPERATOR, request=ChangeSetJsonRequest, multipart=ChangeSetUpload,
    response=ChangeSet, response_status=201, errors=(400, 401, 403, 503)))
def create_changeset() -> Response:
    author = current_identity().name
    service = _changesets()
    if request.mimetype == "multipart/form-data":
        path, kind, prune = _save_upload()
        try:
            change_set = service.create([path], author, kind=kind, prune=prune)
        except InputError as e:  # unreadable as its kind of data: name the upload field, not our path
            raise BadRequest(str(e).replace(str(path), path.name), code="invalid_input", field="file") from e
    else:
        body = parse_body(ChangeSetJsonRequest)
        try:
            records = body.typed_records()
        except ValidationError as e:
            raise validation_error(e, prefix="records.") from e
        change_set = service.create(records, author, kind=body.kind, prune=body.prune)
    logger.info("change set %s created by %s", change_set.id, author)
    return json_response(change_set, 201)


@endpoint(bp, "/v1/changesets", ["GET"], Operation(
    summary="The latest change sets, newest first (without their changes)", tag="operators",
    roles=_OPERATOR, response=ChangeSetList, errors=(401, 403, 503)))
def list_changesets() -> Response:
    return json_response(ChangeSetList(change_sets=_changesets().list()))


@endpoint(bp, "/v1/changesets/<changeset_id>", ["GET"], Operation(
    summary="A change set: its diff, counts and state", tag="operators", roles=_OPERATOR,
    response=ChangeSet, errors=(401, 403, 404, 503)))
def get_changeset(changeset_id: str) -> Response:
    return json_response(_changesets().get(changeset_id))


@endpoint(bp, "/v1/changesets/<changeset_id>/apply", ["POST"], Operation(
    summary="Apply a pending change set in one transaction (409 if the graph changed since)",
    tag="operators", roles=_OPERATOR, response=ChangeSet, errors=(401, 403, 404, 409, 503)))
def apply_changeset(changeset_id: str) -> Response:
    change_set = _changesets().apply(changeset_id)
    logger.info("change set %s applied by %s", changeset_id, current_identity().name)
    return json_response(change_set)


@endpoint(bp, "/v1/changesets/<changeset_id>/discard", ["POST"], Operation(
    summary="Discard a pending change set (nothing is written to the catalogue)", tag="operators",
    roles=_OPERATOR, response=ChangeSet, errors=(401, 403, 404, 409, 503)))
def discard_changeset(changeset_id: str) -> Response:
    change_set = _changesets().discard(changeset_id)
    logger.info("change set %s discarded by %s", changeset_id, current_identity().name)
    return json_response(change_set)


@endpoint(bp, "/v1/changesets/<changeset_id>/rollback", ["POST"], Operation(
    summary="Restore what an applied change set replaced, in one transaction", tag="operators",
    roles=_OPERATOR, response=ChangeSet, errors=(401, 403, 404, 409, 503)))
def rollback_changeset(changeset_id: str) -> Response:
    change_set = _changesets().rollback(changeset_id)
    logger.info("change set %s rolled back by %s", changeset_id, current_identity().name)
    return json_response(change_set)


@endpoint(bp, "/v1/products/<product_id>", ["GET"], Operation(
    summary="A product and its variants as stored in the graph", tag="operators",
    roles=("operator", "agent"), response=ProductOut, errors=(401, 403, 404, 503)))
def get_product(product_id: str) -> Response:
    knowledge = services().knowledge
    if knowledge is None:
        raise ServiceUnavailable("the graph read API is not configured", code="graph_unavailable")
    product = knowledge.product(product_id)
    if product is None:
        raise NotFound(f"no product {product_id}", code="product_not_found")
    return json_response(ProductOut.of(product, knowledge.variants(product_id)))
