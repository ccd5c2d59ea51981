"""Bearer tokens and roles: parsing, 401/403 as JSON, admin everywhere, constant-time comparison."""

from __future__ import annotations

import hmac

import pytest

from qa_api.auth import Identity, TokenConfigError, TokenTable, bearer_token, parse_tokens
from tests.qa_api.conftest import ADMIN, AGENT, OPERATOR, bearer


def test_parse_tokens_with_roles_and_names():
    entries = parse_tokens("tok-aaaa1:agent:alice,\n tok-bbbb2:Operator , # comment\n tok-cccc3:admin")
    assert [(t, i.role) for t, i in entries] == [("tok-aaaa1", "agent"), ("tok-bbbb2", "operator"),
                                                 ("tok-cccc3", "admin")]
    assert entries[0][1].name == "alice"
    assert entries[1][1].name.startswith("operator-") and "tok-bbbb2" not in entries[1][1].name


@pytest.mark.parametrize("bad", ["justtoken", "tok-aaaa1:root", "short:agent", ":agent", "a:b:c:d"])
def test_malformed_token_lists_are_rejected(bad):
    with pytest.raises(TokenConfigError):
        parse_tokens(bad)


def test_tokens_file_is_read(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("# agents\nfile-token-1:agent:zoe\n", encoding="utf-8")
    table = TokenTable.from_sources("env-token-1:operator", path)
    assert len(table) == 2
    assert table.authenticate("file-token-1") == Identity("zoe", "agent")
    with pytest.raises(TokenConfigError, match="cannot read"):
        TokenTable.from_sources("", tmp_path / "missing")


def test_authenticate_rejects_near_misses():
    table = TokenTable(parse_tokens("secret-token-12:agent:a"))
    assert table.authenticate("secret-token-12") == Identity("a", "agent")
    for near in ("secret-token-1", "secret-token-123", "Secret-token-12", "", "secret-token-13"):
        assert table.authenticate(near) is None


def test_every_configured_token_is_compared_in_constant_time(monkeypatch):
    """The match is found with hmac.compare_digest on equal-length digests, and the loop
    never stops early, so timing does not reveal which token matched."""
    table = TokenTable(parse_tokens("first-token-1:agent,second-token:operator,third-token-:admin"))
    calls: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert table.authenticate("first-token-1").role == "agent"
    assert table.authenticate("nobody-at-all") is None
    assert len(calls) == 6
    assert set(calls) == {(32, 32)}


def test_bearer_header_parsing():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc  ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


@pytest.fixture()
def client(make_app):
    return make_app().test_client()


def test_missing_or_invalid_token_is_401_json(client):
    r = client.get("/v1/handoffs")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/v1/handoffs", headers=bearer("not-a-real-token"))
    assert wrong.status_code == 401 and "not valid" in wrong.get_json()["error"]["message"]
    basic = client.get("/v1/handoffs", headers={"Authorization": "Basic YWxhZGRpbjpvcGVu"})
    assert basic.status_code == 401


def test_wrong_role_is_403_json(client):
    r = client.get("/v1/analytics/summary", headers=AGENT)
    assert r.status_code == 403
    assert r.get_json()["error"] == {"code": "forbidden",
                                     "message": "this endpoint needs the operator role; the token has agent"}
    assert client.get("/v1/handoffs", headers=OPERATOR).status_code == 403


def test_admin_may_call_agent_and_operator_endpoints(client):
    assert client.get("/v1/handoffs", headers=ADMIN).status_code == 200
    assert client.get("/v1/analytics/summary", headers=ADMIN).status_code == 200
    assert client.get("/v1/sessions/none", headers=ADMIN).status_code == 404  # authorised, then not found


def test_public_endpoints_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.post("/v1/chat", json={}).status_code == 400  # validated, not 401


def test_no_configured_tokens_means_no_access(make_app):
    c = make_app(api_tokens="").test_client()
    assert c.get("/v1/handoffs", headers=AGENT).status_code == 401
