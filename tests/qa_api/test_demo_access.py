"""``make demo``'s way in: fresh agent and operator tokens in a 0600 file the API reads,
and the printed widget and console URLs with those tokens."""

from __future__ import annotations

import stat

from qa_api.auth import TokenTable
from qa_api.demo_access import main, read_tokens, write_tokens
from tests import ports


def test_tokens_are_fresh_private_and_accepted_by_the_api(tmp_path):
    path = tmp_path / "demo" / "api-tokens.txt"
    first = write_tokens(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    table = TokenTable.from_sources("", path)
    assert table.authenticate(first["agent"]).role == "agent"
    assert table.authenticate(first["operator"]).role == "operator"
    second = write_tokens(path)
    assert second["agent"] != first["agent"] and second["operator"] != first["operator"]
    assert read_tokens(path) == second


def test_make_demo_prints_where_to_go(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("YEBAN_API_PORT", str(ports.API_BROWSER + 1))  # nothing listens there
    path = tmp_path / "api-tokens.txt"
    assert main(["tokens", str(path)]) == 0
    tokens = read_tokens(path)
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    base = f"http://127.0.0.1:{ports.API_BROWSER + 1}"
    assert f"{base}/demo" in out and f"{base}/console" in out
    assert tokens["agent"] in out and tokens["operator"] in out
    assert f"{base}/console#token={tokens['agent']}" in out
    assert main(["show", str(tmp_path / "missing.txt")]) == 1
