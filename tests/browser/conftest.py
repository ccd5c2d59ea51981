"""Browser-test fixtures: the real gunicorn server (2 workers, Redis sessions, the demo
store in the test Neo4j, real models) and headless Chromium from Debian's package driven
by Playwright (never ``playwright install``: the browser is ``/usr/bin/chromium``).

Tokens are generated per run and handed to the server through ``YEBAN_API_TOKENS_FILE``,
as ``make demo`` does. Screenshots go to ``var/test/screenshots/``.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schema.settings import PROJECT_ROOT, load_settings
from tests import ports

CHROMIUM = Path(os.environ.get("YEBAN_CHROMIUM", "/usr/bin/chromium"))
# Chromium on a closed network: no background connections, no component updates, no QUIC.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = PROJECT_ROOT / "var" / "test" / "screenshots"
GUNICORN = Path(sys.executable).with_name("gunicorn")


@dataclass(frozen=True)
class Server:
    base: str
    port: int
    agent_token: str
    operator_token: str
    log: Path


def _ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(demo_graph, settings, redis_server, intent_classifier, emotion_scorer,
           tmp_path_factory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("browser-server")
    # The server's var/: the demo graph's FAQ index (built by demo_graph under var/test) and the
    # shared model cache (trained by the fixtures above), everything else of its own.
    var = home / "var"
    var.mkdir()
    (var / "index").symlink_to(settings.index_dir.resolve(), target_is_directory=True)
    (var / "models").symlink_to(load_settings().models_dir.resolve(), target_is_directory=True)
    agent, operator = "agent-" + secrets.token_urlsafe(18), "operator-" + secrets.token_urlsafe(18)
    tokens = home / "api-tokens.txt"
    tokens.write_text(f"{agent}:agent:小王\n{operator}:operator:olga\n", encoding="utf-8")
    port = ports.API_BROWSER
    env = {**os.environ, "NEO4J_URI": settings.bolt_uri, "YEBAN_VAR_DIR": str(var),
           "YEBAN_ENCODER_MODEL": str(load_settings().default_encoder_dir),
           "YEBAN_REDIS_URL": redis_server.url, "YEBAN_REDIS_PREFIX": "browser-" + secrets.token_hex(3) + ":",
           "YEBAN_API_HOST": "127.0.0.1", "YEBAN_API_PORT": str(port), "YEBAN_API_WORKERS": "2",
           "YEBAN_API_TOKENS_FILE": str(tokens), "YEBAN_AGENT_HOURS": "00:00-24:00",
           "YEBAN_API_RATE_SESSION_BURST": "1000", "YEBAN_API_RATE_CLIENT_BURST": "10000",
           "YEBAN_ENV_FILE": str(home / "none.env")}
    env.pop("YEBAN_API_TOKENS", None)
    log = home / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "qa_api.wsgi:create_wsgi_app()"],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 900  # both workers load the models (slow on a loaded machine)
        while time.monotonic() < deadline and proc.poll() is None and not _ready(port):
            time.sleep(1.0)
        assert _ready(port), log.read_text(errors="replace")[-3000:]
        yield Server(f"http://127.0.0.1:{port}", port, agent, operator, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does: "
                    "apt-get install -y --no-install-recommends chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture()
def browser(playwright_driver) -> Iterator[object]:
    """A fresh Chromium profile per test (its own localStorage)."""
    profile = tempfile.mkdtemp(prefix="yeban-chromium-")
    context = playwright_driver.chromium.launch_persistent_context(
        profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, locale="zh-CN",
        viewport={"width": 1280, "height": 860})
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
