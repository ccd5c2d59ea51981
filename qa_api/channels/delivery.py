"""Deliver an agent's reply to a shopper whose channel cannot fetch it (WeChat): the
widget reads agent messages from its stream, a WeChat user only gets what is sent."""

from __future__ import annotations

import logging

from flask import current_app

from qa_api.channels.wechat import CHANNEL
from qa_api.routing import services

logger = logging.getLogger(__name__)


def deliver_agent_reply(session_id: str, text: str) -> bool:
    """Send ``text`` through the session's channel if it needs pushing; True when sent."""
    ctx = services().sessions.load(session_id)
    if ctx is None or ctx.channel != CHANNEL or not ctx.user_id:
        return False
    wechat = current_app.extensions.get("yeban.wechat")
    if wechat is None:
        logger.warning("session %s is on WeChat but the channel is not set up", session_id)
        return False
    return wechat.send(ctx.user_id, session_id, text)
