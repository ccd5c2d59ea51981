"""``/wechat``: the WeChat Official Account / WeCom customer-service callback (plaintext
mode). GET answers URL verification, POST takes a message; both check the signature and
answer 403 when it is wrong, 404 while no ``YEBAN_WECHAT_TOKEN`` is configured."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from qa_api.channels.wechat import WeChatMessageError, check_signature, parse_message
from qa_api.channels.wechat_channel import RecentMessages, WeChatChannel
from qa_api.channels.wechat_http import HttpWeChatSender, UndeliverableSender
from qa_api.errors import BadRequest, Forbidden, NotFound
from qa_api.routing import Operation, endpoint, services

logger = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)
CHANNEL_KEY = "yeban.wechat"


@bp.record_once
def _build_channel(state) -> None:
    svc = state.app.extensions["yeban"]
    s = svc.settings
    if s.wechat_app_id and s.wechat_app_secret is not None:
        sender = HttpWeChatSender(s.wechat_app_id, s.wechat_app_secret, s.wechat_api_base)
    else:
        sender = UndeliverableSender()
    recent = RecentMessages(svc.redis, svc.config.redis_prefix + "wechat:msg:")
    state.app.extensions[CHANNEL_KEY] = WeChatChannel(lambda: svc.engine, sender, s.wechat_app_id or "",
                                                      recent, s.wechat_reply_budget_s)


def channel() -> WeChatChannel:
    return current_app.extensions[CHANNEL_KEY]


def _verified() -> None:
    secret = services().settings.wechat_token
    if secret is None or not secret.get_secret_value():
        raise NotFound("the WeChat channel is not configured (set YEBAN_WECHAT_TOKEN)", code="channel_disabled")
    args = request.args
    if not check_signature(secret.get_secret_value(), args.get("signature"), args.get("timestamp"),
                           args.get("nonce")):
        logger.warning("WeChat request with a bad signature from %s", request.remote_addr)
        raise Forbidden("bad WeChat signature", code="bad_signature")


@endpoint(bp, "/wechat", ["GET"], Operation(
    summary="WeChat URL verification: echoes echostr when signature = sha1(sorted token, timestamp, nonce)",
    tag="channels", content_type="text/plain", errors=(403, 404)))
def verify() -> Response:
    _verified()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@endpoint(bp, "/wechat", ["POST"], Operation(
    summary="A WeChat message (XML, plaintext mode): a passive XML reply within the 5-second window, "
            "else 'success' and the reply follows through the customer-service API",
    tag="channels", content_type="application/xml", errors=(400, 403, 404)))
def message() -> Response:
    _verified()
    try:
        msg = parse_message(request.get_data(cache=False))
    except WeChatMessageError as e:
        raise BadRequest(str(e), code="bad_message", field="body") from e
    body = channel().handle(msg)
    return Response(body, mimetype="application/xml" if body.startswith("<xml>") else "text/plain")
