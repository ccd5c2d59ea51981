"""WeChat Official Account / WeCom customer-service messages in plaintext mode.

- URL verification and message authenticity: ``signature`` is the SHA-1 of the
  sorted, concatenated token, timestamp and nonce (``check_signature``).
- Incoming messages are XML, parsed with ``defusedxml`` (no entities, no DTDs).
- Replies leave either passively, as the XML body of the same HTTP response,
  when the bot answers within the 5-second window (``reply_budget_s``), or later
  through the customer-service send API (``WeChatSender``), e.g. for an agent's
  reply during a hand-off.

Secrets (the token and the app secret) are ``SecretStr`` from settings; nothing
here logs them or a shopper's openid (sessions are named by a hash of it).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Protocol
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY_BYTES = 64 * 1024
SESSION_PREFIX = "wx-"
CHANNEL = "wechat"
NON_TEXT_REPLY = "亲，小夜目前只能看懂文字消息哦，请用文字描述一下您的问题～"
WELCOME_REPLY = "您好，欢迎关注！我是智能客服小夜，商品、库存、订单、售后都可以直接问我。"


class WeChatError(Exception):
    """Root of the WeChat channel's errors."""


class WeChatMessageError(WeChatError):
    """The request body is not a WeChat XML message."""


class WeChatSendError(WeChatError):
    """The customer-service send API refused or could not be reached."""


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def check_signature(token: str, sig: str | None, timestamp: str | None, nonce: str | None) -> bool:
    """True when ``sig`` is WeChat's signature of ``timestamp`` and ``nonce`` under ``token``."""
    if not (sig and timestamp and nonce and token):
        return False
    return hmac.compare_digest(signature(token, timestamp, nonce), sig.strip().lower())


@dataclass(frozen=True)
class WeChatMessage:
    to_user: str      # the account's original id (gh_...)
    from_user: str    # the shopper's openid
    create_time: int
    msg_type: str     # text, image, voice, video, location, link, event, ...
    content: str = ""
    msg_id: str | None = None
    event: str | None = None

    @property
    def dedupe_key(self) -> str:
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event or self.msg_type}"


def _text(root: Element, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "").strip() if node is not None else ""


def parse_message(body: bytes) -> WeChatMessage:
    """The XML message; raises ``WeChatMessageError`` naming what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise WeChatMessageError(f"message body larger than {MAX_BODY_BYTES} bytes")
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException) as e:
        raise WeChatMessageError(f"the body is not acceptable XML: {e}") from e
    if root.tag != "xml":
        raise WeChatMessageError(f"expected an <xml> root element, got <{root.tag}>")
    missing = [t for t in ("ToUserName", "FromUserName", "MsgType") if not _text(root, t)]
    if missing:
        raise WeChatMessageError("missing element(s): " + ", ".join(missing))
    created = _text(root, "CreateTime")
    try:
        create_time = int(created) if created else 0
    except ValueError as e:
        raise WeChatMessageError(f"CreateTime is not a number: {created!r}") from e
    return WeChatMessage(
        to_user=_text(root, "ToUserName"), from_user=_text(root, "FromUserName"), create_time=create_time,
        msg_type=_text(root, "MsgType").lower(), content=_text(root, "Content"),
        msg_id=_text(root, "MsgId") or None, event=(_text(root, "Event") or None),
    )


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: WeChatMessage, text: str, now: float | None = None) -> str:
    """The passive reply XML answering ``message`` with ``text``."""
    created = int(now if now is not None else time.time())
    return ("<xml>"
            f"<ToUserName>{_cdata(message.from_user)}</ToUserName>"
            f"<FromUserName>{_cdata(message.to_user)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(text)}</Content>"
            "</xml>")


def session_id_for(app_id: str, openid: str) -> str:
    """A stable session id per shopper that does not reveal the openid."""
    return SESSION_PREFIX + hashlib.sha256(f"{app_id}\x00{openid}".encode()).hexdigest()[:40]


class WeChatSender(Protocol):
    """Sends a text to a shopper outside the passive-reply window. Raises ``WeChatSendError``."""

    def send_text(self, openid: str, text: str) -> None: ...
