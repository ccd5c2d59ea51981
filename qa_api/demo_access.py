"""How a new user gets into the browser surfaces after ``make demo``.

``python -m qa_api.demo_access tokens FILE`` writes one fresh agent token and one fresh
operator token (random, 192 bits) to FILE, which the API reads through
``YEBAN_API_TOKENS_FILE``. While the API is running the file is kept (the server holds
the tokens it started with); a restart of the API by ``make demo`` gets new ones.

``python -m qa_api.demo_access show FILE`` prints the widget demo URL and the console
URL with those tokens.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import sys
from pathlib import Path

from qa_api.auth import TokenConfigError, parse_tokens
from schema.settings import load_settings

DEMO_NAMES = {"agent": "agent-demo", "operator": "operator-demo"}


def _api_running(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def write_tokens(path: Path) -> dict[str, str]:
    """Fresh tokens for each demo role, written to ``path`` (mode 0600); returns role -> token."""
    tokens = {role: f"{role}-{secrets.token_urlsafe(24)}" for role in DEMO_NAMES}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# written by `make demo` (python -m qa_api.demo_access); one token:role:name per line\n"
    text += "".join(f"{token}:{role}:{DEMO_NAMES[role]}\n" for role, token in tokens.items())
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    tmp.replace(path)
    return tokens


def read_tokens(path: Path) -> dict[str, str]:
    """role -> the first token of that role in the file."""
    found: dict[str, str] = {}
    for token, identity in parse_tokens(path.read_text(encoding="utf-8")):
        found.setdefault(identity.role, token)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa_api.demo_access", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["tokens", "show"])
    parser.add_argument("file", type=Path, help="the tokens file (YEBAN_API_TOKENS_FILE)")
    args = parser.parse_args(argv)
    settings = load_settings()
    host, port = settings.api_host, settings.api_port
    if args.command == "tokens":
        if args.file.exists() and _api_running(host, port):
            print(f"the API is running; keeping its tokens in {args.file}", file=sys.stderr)
        else:
            write_tokens(args.file)
            print(f"new agent and operator tokens written to {args.file}", file=sys.stderr)
        return 0
    try:
        tokens = read_tokens(args.file)
    except (OSError, TokenConfigError) as e:
        print(f"error: cannot read the tokens file {args.file}: {e}", file=sys.stderr)
        return 1
    base = f"http://{host}:{port}"
    print("Open in a browser:")
    print(f"  shopper chat widget on a mock product page   {base}/demo")
    print(f"  agent and operator console                   {base}/console")
    for role, label in (("agent", "agent token (hand-offs)     "), ("operator", "operator token (data, board)")):
        if role in tokens:
            print(f"    {label} {tokens[role]}")
            print(f"      one-click login: {base}/console#token={tokens[role]}")
    print(f"  (tokens: {args.file}; new ones whenever make demo starts the API)")
    print(f"  put the widget on any page: <script src=\"{base}/widget.js\" data-yeban=\"{base}\"></script>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
