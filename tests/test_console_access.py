"""Who may open the console: every console address refuses a request without the token
(401, or a redirect to the login form), the token is compared in constant time, without
a token only this machine is served, and `listener serve` will not listen beyond
loopback without one."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from console_support import CONSOLE_TOKEN
from fastapi.routing import APIRoute
from webhook_support import app_server, db_path, fake_twilio, start_app  # noqa: F401 (fixtures)

from listener.console import public, router
from listener.console.access import (
    COOKIE_NAME,
    session_cookie,
    tokens_match,
    valid_session,
)

PUBLIC = {"/console/login", "/console/static/{name}"}
SAMPLE_PARAMS = {"event_id": "CLIMATE24", "format": "csv", "rest": "anything", "name": "console.css"}


def console_routes() -> list[tuple[str, str]]:
    """(method, URL) for every console route but the login form and the static files,
    parameters filled in."""
    assert {route.path for route in public.routes} == PUBLIC
    found = []
    for route in router.routes:
        if isinstance(route, APIRoute):
            url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS[m[1]], route.path)
            found += [(method, url) for method in sorted(route.methods)]
    return found


@pytest.fixture
def console(start_app):  # noqa: F811
    # one wrong bearer token per console URL: more than the login limit lets one address try
    return start_app(console_token=CONSOLE_TOKEN, login_max_failures=1000)


def test_every_console_url_refuses_a_request_without_the_token(console):
    routes = console_routes()
    assert len(routes) >= 12, routes
    for method, url in routes:
        browser = console.client.request(method, url, headers={"Accept": "text/html"}, follow_redirects=False)
        if method == "GET":
            assert browser.status_code == 303, (method, url)
            assert browser.headers["location"].startswith("/console/login?next=")
        else:
            assert browser.status_code == 401, (method, url)
        script = console.client.request(method, url, headers={"Accept": "application/json"})
        assert script.status_code == 401, (method, url)
        wrong = console.client.request(method, url, headers={"Authorization": "Bearer wrong-token"})
        assert wrong.status_code == 401, (method, url)
        assert "Traceback" not in wrong.text


def test_the_token_opens_the_console_by_bearer_or_by_the_login_cookie(console):
    assert console.client.get("/console", headers={"Authorization": f"Bearer {CONSOLE_TOKEN}"}).status_code == 200

    refused = console.client.post("/console/login", data={"token": "nope", "next": "/console/flow"})
    assert refused.status_code == 401 and COOKIE_NAME not in refused.cookies
    login = console.client.post("/console/login", data={"token": CONSOLE_TOKEN, "next": "/console/flow"})
    assert login.status_code == 303 and login.headers["location"] == "/console/flow"
    cookie = login.cookies[COOKIE_NAME]
    assert "httponly" in login.headers["set-cookie"].lower() and "samesite=strict" in login.headers["set-cookie"].lower()
    console.client.cookies.clear()
    assert console.client.get("/console/flow", cookies={COOKIE_NAME: cookie}).status_code == 200

    expires, _, signature = cookie.partition(".")
    forged = f"{int(expires) + 3600}.{signature}"
    assert console.client.get("/console/flow", cookies={COOKIE_NAME: forged}, follow_redirects=False).status_code == 303
    elsewhere = console.client.post("/console/login", data={"token": CONSOLE_TOKEN, "next": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/console"


def test_a_session_cookie_expires_and_dies_with_a_changed_token():
    cookie = session_cookie(CONSOLE_TOKEN, now=1_000_000)
    assert valid_session(cookie, CONSOLE_TOKEN, now=1_000_001)
    assert not valid_session(cookie, CONSOLE_TOKEN, now=1_000_000 + 13 * 3600)
    assert not valid_session(cookie, "another-token", now=1_000_001)
    assert not valid_session("garbage", CONSOLE_TOKEN) and not valid_session(None, CONSOLE_TOKEN)


def test_the_token_comparison_accepts_only_the_whole_token():
    """`tokens_match` is `hmac.compare_digest` over the UTF-8 bytes: constant time by
    construction. (A timing test here could not tell it from `==`: encoding the strings
    costs more than comparing them, so it was left out rather than kept as a test that
    cannot fail.)"""
    expected = "k" * 64 + "é"
    assert tokens_match(expected, expected)
    for wrong in ("x" + expected[1:], expected[:-1] + "e", expected[:-1], expected + "k", ""):
        assert not tokens_match(wrong, expected), wrong


def test_without_a_token_only_this_machine_is_served(app_server):  # noqa: F811
    assert app_server.client.get("/console").status_code == 200
    for forwarded in ("203.0.113.7", "127.0.0.1"):
        response = app_server.client.get("/console", headers={"X-Forwarded-For": forwarded})
        assert response.status_code == 403
        assert "CONSOLE_TOKEN" in response.text
    rebound = app_server.client.get("/console", headers={"Host": "attacker.example"})
    assert rebound.status_code == 403


def _serve(host: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "CONSOLE_TOKEN"}
    environment.update(STORE_URL="sqlite://:memory:", **env)
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", "serve", "--host", host, "--port", "1"],
        capture_output=True, text=True, env=environment, timeout=60,
    )


def test_serve_refuses_a_public_address_without_a_token():
    refused = _serve("0.0.0.0")
    assert refused.returncode == 2
    assert "CONSOLE_TOKEN" in refused.stderr and "Traceback" not in refused.stderr
