"""One WeChat conversation turn: dedupe WeChat's retries, ask the engine, and answer
passively within the window or through the sender afterwards."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis

from dialog.ports import ChatEngine
from qa_api.channels.wechat import (
    CHANNEL,
    NON_TEXT_REPLY,
    WELCOME_REPLY,
    WeChatMessage,
    WeChatSender,
    WeChatSendError,
    session_id_for,
    text_reply,
)
from schema.conversation import ChatReply

logger = logging.getLogger(__name__)
NO_REPLY = "success"  # WeChat's "nothing to say now" body
DEDUPE_TTL_S = 60


class RecentMessages:
    """Which message ids were already taken (WeChat retries a message three times when
    no answer comes within 5 s): in Redis when shared, else in this process."""

    def __init__(self, client: redis.Redis | None, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        if self.client is not None:
            try:
                return bool(self.client.set(self.prefix + key, b"1", nx=True, ex=DEDUPE_TTL_S))
            except redis.RedisError:
                logger.warning("Redis unavailable for WeChat retry detection; using this worker's memory")
        now = time.monotonic()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if now - t < DEDUPE_TTL_S}
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


class WeChatChannel:
    def __init__(self, engine: Callable[[], ChatEngine | None], sender: WeChatSender, app_id: str,
                 recent: RecentMessages, reply_budget_s: float = 4.0, workers: int = 4) -> None:
        self._engine = engine
        self.sender = sender
        self.app_id = app_id
        self.recent = recent
        self.reply_budget_s = reply_budget_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wechat")

    def session_id(self, openid: str) -> str:
        return session_id_for(self.app_id, openid)

    def handle(self, message: WeChatMessage) -> str:
        """The HTTP body to answer WeChat with: reply XML or ``success``."""
        if not self.recent.first_time(message.dedupe_key):
            return NO_REPLY  # a retry: the first delivery answers (passively or via the sender)
        if message.msg_type == "event":
            return text_reply(message, WELCOME_REPLY) if message.event == "subscribe" else NO_REPLY
        if message.msg_type != "text" or not message.content:
            return text_reply(message, NON_TEXT_REPLY)
        engine = self._engine()
        if engine is None:
            return text_reply(message, "系统维护中，请稍后再试。")
        session_id = self.session_id(message.from_user)
        future: Future[ChatReply] = self._pool.submit(
            engine.chat, session_id, message.content[:500], CHANNEL, message.from_user)
        try:
            reply = future.result(timeout=self.reply_budget_s)
        except FutureTimeout:
            logger.warning("WeChat answer for %s exceeded %.1fs; it will go through the send API",
                           session_id, self.reply_budget_s)
            future.add_done_callback(lambda f: self._send_later(message.from_user, session_id, f))
            return NO_REPLY
        return text_reply(message, reply.reply) if reply.reply else NO_REPLY

    def _send_later(self, openid: str, session_id: str, future: Future[ChatReply]) -> None:
        try:
            reply = future.result()
        except Exception:  # the engine failed after the window: nothing to send
            logger.exception("WeChat answer for %s failed", session_id)
            return
        if reply.reply:
            self.send(openid, session_id, reply.reply)

    def send(self, openid: str, session_id: str, text: str) -> bool:
        """Send through the customer-service API; False (logged) when it cannot."""
        try:
            self.sender.send_text(openid, text)
            return True
        except WeChatSendError as e:
            logger.warning("WeChat message to %s not delivered: %s", session_id, e)
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
