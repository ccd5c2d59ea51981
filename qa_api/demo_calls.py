"""Print example ``curl`` calls against the running API, with the answers it gives.

``make demo`` runs this last, so a new user sees real replies from the demo
store (nothing here is canned: each reply is fetched from ``/v1/chat``).
"""

from __future__ import annotations

import http.client
import json
import shlex
import sys
import uuid

from schema.settings import load_settings

EXAMPLES = (
    "云裳碎花裙白底碎花M码还有几件",
    "棉语无痕乳胶文胸能七天无理由退货吗",
    "可以指定发顺丰吗",
)


def _post(host: str, port: int, body: dict) -> dict:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("POST", "/v1/chat", json.dumps(body, ensure_ascii=False).encode(),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return json.loads(resp.read())
    finally:
        conn.close()


def main() -> int:
    settings = load_settings()
    host, port = settings.api_host, settings.api_port
    for message in EXAMPLES:
        body = {"session_id": f"demo-{uuid.uuid4().hex[:8]}", "message": message}
        payload = json.dumps(body, ensure_ascii=False)
        print(f"$ curl -s http://{host}:{port}/v1/chat -H 'Content-Type: application/json' "
              f"-d {shlex.quote(payload)}")
        try:
            answer = _post(host, port, body)
        except OSError as e:
            print(f"error: the API at {host}:{port} did not answer: {e}", file=sys.stderr)
            return 1
        shown = {k: answer.get(k) for k in ("reply", "intent", "confidence", "state", "sources")}
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
