"""Access control: every console URL refuses an anonymous visitor, sign-in is CSRF-safe, sessions end."""
from __future__ import annotations

import time

import pytest
from werkzeug.security import generate_password_hash

from tests.console.conftest import PASSWORD, csrf_token, sign_in
from webhooks import create_app

SAMPLE_ARGS = {"account": "zendesk", "ticket_id": "100001"}


def console_urls(app) -> list[tuple[str, str]]:
    """Every console route the app has (so a route added later is checked too), with sample arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint == "console.login":
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", SAMPLE_ARGS.get(name, "x"))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_every_console_url_answers_401_or_a_redirect_to_sign_in_without_a_session(seeded):
    app, *_ = seeded
    client = app.test_client()
    urls = console_urls(app)
    assert ("GET", "/console/intents") in urls and ("GET", "/console/api/intents") in urls and len(urls) >= 7
    for method, url in urls:
        response = client.open(url, method=method)
        if method == "GET" and "/api/" not in url:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/console/login"), url
        else:
            assert response.status_code in (400, 401), (method, url)  # a POST without a token fails CSRF first
        assert "order_status" not in response.get_data(as_text=True)  # no data, whatever the answer


def test_wrong_password_is_refused_and_right_one_opens_the_pages(seeded):
    app, *_ = seeded
    client = app.test_client()
    assert sign_in(client, "guess").status_code == 401
    assert client.get("/console/intents").status_code == 302
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/console/intents"
    for url in ("/console/intents", "/console/tickets", "/console/tickets/zendesk/100001", "/console/savings",
                "/console/api/intents"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert page.headers["Cache-Control"] == "no-store"


def test_sign_in_without_the_csrf_token_is_refused(seeded):
    app, *_ = seeded
    client = app.test_client()
    client.get("/console/login")
    response = client.post("/console/login", data={"password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/console/intents").status_code == 302


def test_sign_out_needs_the_token_and_ends_the_session(seeded):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    assert client.post("/console/logout").status_code == 400  # a forged cross-site sign-out does nothing
    assert client.get("/console/intents").status_code == 200
    token = csrf_token(client.get("/console/intents").text)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/intents").status_code == 302


def test_session_expires(seeded):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    with client.session_transaction() as session:
        session["expires"] = time.time() - 1
    assert client.get("/console/intents").status_code == 302


def test_a_new_password_ends_sessions_signed_in_with_the_old_one(seeded, monkeypatch):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    monkeypatch.setenv("DESKDRAFT_CONSOLE_PASSWORD_HASH", generate_password_hash("a new one"))
    assert client.get("/console/intents").status_code == 302


@pytest.mark.parametrize("target", ["//evil.test/x", "https://evil.test/", "/webhooks/zendesk"])
def test_sign_in_never_redirects_out_of_the_console(seeded, target):
    app, *_ = seeded
    response = sign_in(app.test_client(), next_url=target)
    assert response.headers["Location"] == "/console/intents"


def test_the_session_cookie_is_scoped_to_the_console_and_hidden_from_scripts(seeded):
    app, *_ = seeded
    client = app.test_client()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "Path=/console" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_nothing_of_the_console_is_reachable_through_the_webhook_routes(seeded):
    app, *_ = seeded
    client = app.test_client()
    sign_in(client)
    for url in ("/webhooks/console", "/webhooks/zendesk/console/intents", "/webhooks/../console/intents"):
        response = client.get(url)
        assert response.status_code in (404, 405), url
        assert "gate" not in response.get_data(as_text=True)


def test_proxy_header_mode_needs_the_header_on_every_request(make_config, console_env, tmp_path):
    from deskdraft.state import State
    config = make_config(console={"proxy_user_header": "X-Forwarded-User"})
    app = create_app(config, enqueue=lambda _: None, state=State(config.database_url))
    client = app.test_client()
    assert client.get("/console/intents").status_code == 401
    assert client.get("/console/login").status_code == 401  # no password form behind a proxy
    assert client.get("/console/intents", headers={"X-Forwarded-User": "lead@acme.test"}).status_code == 200


def test_an_unconfigured_console_shows_nothing(make_config, tmp_path, monkeypatch):
    from deskdraft.state import State
    monkeypatch.delenv("DESKDRAFT_CONSOLE_PASSWORD_HASH", raising=False)
    monkeypatch.setenv("DESKDRAFT_CONSOLE_SECRET", "k" * 32)
    config = make_config()
    client = create_app(config, enqueue=lambda _: None, state=State(config.database_url)).test_client()
    assert client.get("/console/intents").status_code == 503
    assert client.post("/console/login", data={"password": PASSWORD}).status_code == 503


def test_healthz_needs_no_sign_in_and_the_console_can_be_switched_off(make_config, console_env):
    from deskdraft.state import State
    config = make_config(console={"enabled": False})
    client = create_app(config, enqueue=lambda _: None, state=State(config.database_url)).test_client()
    assert client.get("/console/intents").status_code == 404
    assert client.get("/healthz").status_code in (200, 503)


def test_hash_password_command_prints_a_hash_that_signs_in(seeded, monkeypatch):
    from werkzeug.security import check_password_hash
    app, *_ = seeded
    result = app.test_cli_runner().invoke(args=["console", "hash-password"], input="s3cret-pass\ns3cret-pass\n")
    hashed = result.output.strip().splitlines()[-1]
    assert result.exit_code == 0 and "s3cret-pass" not in hashed and check_password_hash(hashed, "s3cret-pass")
    monkeypatch.setenv("DESKDRAFT_CONSOLE_PASSWORD_HASH", hashed)
    assert sign_in(app.test_client(), "s3cret-pass").status_code == 302
