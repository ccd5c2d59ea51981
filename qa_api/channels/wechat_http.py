"""The customer-service send API over HTTPS (``/cgi-bin/message/custom/send``), with the
access token fetched from ``/cgi-bin/token`` and cached until shortly before it expires.

Never called by the tests (they plug in a recording sender); the app secret is only
put into the token request and never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from urllib.error import URLError

from pydantic import SecretStr

from qa_api.channels.wechat import WeChatSendError

logger = logging.getLogger(__name__)
TOKEN_MARGIN_S = 300


class HttpWeChatSender:
    def __init__(self, app_id: str, app_secret: SecretStr, api_base: str = "https://api.weixin.qq.com",
                 timeout_s: float = 5.0) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.timeout_s = timeout_s
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _call(self, url: str, body: dict | None = None) -> dict:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                payload = json.loads(resp.read() or b"{}")
        except (URLError, OSError, ValueError) as e:
            raise WeChatSendError(f"WeChat API unreachable: {type(e).__name__}") from e
        if payload.get("errcode", 0) not in (0, None):
            raise WeChatSendError(f"WeChat API error {payload.get('errcode')}: {payload.get('errmsg')}")
        return payload

    def _access_token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._expires:
                return self._token
            query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": self.app_id,
                                            "secret": self._secret.get_secret_value()})
            payload = self._call(f"{self.api_base}/cgi-bin/token?{query}")
            token = payload.get("access_token")
            if not token:
                raise WeChatSendError("WeChat token response carried no access_token")
            self._token = str(token)
            self._expires = time.monotonic() + max(60, int(payload.get("expires_in", 7200)) - TOKEN_MARGIN_S)
            return self._token

    def send_text(self, openid: str, text: str) -> None:
        query = urllib.parse.urlencode({"access_token": self._access_token()})
        self._call(f"{self.api_base}/cgi-bin/message/custom/send?{query}",
                   {"touser": openid, "msgtype": "text", "text": {"content": text}})


class UndeliverableSender:
    """Used when no app id / secret is configured: passive replies still work, later
    messages (slow answers, agents' replies) are logged as undelivered."""

    def send_text(self, openid: str, text: str) -> None:
        raise WeChatSendError("no WeChat app id/secret configured; cannot use the customer-service API")
