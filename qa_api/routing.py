"""Declaring endpoints: one decorator registers a view on its blueprint, enforces
its roles and records what the OpenAPI document says about it, so the docs
and the behaviour cannot drift apart. Also the small request helpers views share.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from qa_api.auth import Identity, bearer_token
from qa_api.errors import BadRequest, Forbidden, Unauthorized, validation_error
from qa_api.services import YebanServices

M = TypeVar("M", bound=BaseModel)
OPERATION_ATTR = "__yeban_operation__"


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one view."""

    summary: str
    tag: str
    roles: tuple[str, ...] = ()  # empty: public
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_status: int = 200
    multipart: type[BaseModel] | None = None
    content_type: str = "application/json"
    errors: tuple[int, ...] = ()
    headers: tuple[tuple[str, dict[str, Any]], ...] = ()  # required request headers: (name, JSON schema)


def endpoint(bp: Blueprint, rule: str, methods: list[str], op: Operation) -> Callable[[Callable], Callable]:
    """Register ``view`` on ``bp`` at ``rule``; requests without a permitted role get 401/403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if op.roles:
                g.identity = authenticate(op.roles)
            return view(*args, **kwargs)

        setattr(guarded, OPERATION_ATTR, op)
        bp.add_url_rule(rule, view_func=guarded, methods=methods)
        return guarded

    return decorate


def authenticate(roles: tuple[str, ...]) -> Identity:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Unauthorized()
    identity = services().tokens.authenticate(token)
    if identity is None:
        raise Unauthorized("the bearer token is not valid")
    if not identity.may(roles):
        raise Forbidden(f"this endpoint needs the {' or '.join(roles)} role; the token has {identity.role}")
    return identity


def current_identity() -> Identity:
    return g.identity


def services() -> YebanServices:
    return current_app.extensions["yeban"]


def parse_body(model: type[M]) -> M:
    """The JSON body validated by ``model``; 400 naming the field otherwise."""
    if not request.is_json:
        raise BadRequest("the body must be JSON (Content-Type: application/json)", code="validation_error",
                         field="body")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("the body is not valid JSON", code="validation_error", field="body")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="validation_error", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise validation_error(e) from e


def parse_query(model: type[M]) -> M:
    data = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise validation_error(e) from e


def json_response(payload: BaseModel | dict[str, Any], status: int = 200) -> Response:
    body = payload.model_dump(mode="json", by_alias=True) if isinstance(payload, BaseModel) else payload
    response = current_app.json.response(body)
    response.status_code = status
    return response
