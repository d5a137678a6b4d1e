"""Wrong console tokens are counted per client address: after `LOGIN_MAX_FAILURES` each
further try from that address waits, twice as long each time, and is refused with 429
while it waits (the right token too); another address still logs in; a right token clears
the count. Behind Heroku's router the address is the one the router appended to
X-Forwarded-For, not the entries the client wrote before it."""

from __future__ import annotations

import ipaddress
import shlex
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from console_support import CONSOLE_TOKEN
from reliability_support import free_port
from starlette.requests import Request
from webhook_support import db_path, fake_twilio, start_app, wait_for  # noqa: F401 (fixtures)

from listener.console.access import COOKIE_NAME, LoginThrottle, client_address

ROOT = Path(__file__).resolve().parent.parent
ATTACKER = "203.0.113.7"
ORGANISER = "198.51.100.9"


def _procfile_command(port: int) -> list[str]:
    """The Procfile's web command, on a loopback port."""
    line = (ROOT / "Procfile").read_text().strip().removeprefix("web:").strip()
    words = shlex.split(line.replace("$PORT", str(port)))
    assert words[0] == "uvicorn" and "--forwarded-allow-ips=*" in words, words
    return [sys.executable, "-m", *[("127.0.0.1" if word == "0.0.0.0" else word) for word in words]]


def _via_router(client: str, spoofed: str | None = None) -> dict[str, str]:
    """Headers as Heroku's router forwards them: it appends the address it saw to whatever
    X-Forwarded-For the client sent."""
    forwarded = f"{spoofed}, {client}" if spoofed else client
    return {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"}


@pytest.fixture
def procfile_app(db_path, tmp_path):
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "STORE_URL": f"sqlite:///{db_path}",
           "ENVIRONMENT": "test", "CONSOLE_TOKEN": CONSOLE_TOKEN, "LOGIN_MAX_FAILURES": "3",
           "LOGIN_LOCKOUT_SECONDS": "120", "LOG_LEVEL": "WARNING"}
    with (tmp_path / "server.log").open("wb") as log:
        child = subprocess.Popen(_procfile_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False)

    def healthy() -> bool:
        assert child.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
        try:
            return client.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, timeout=30, what="the Procfile's app to start")
        yield client
    finally:
        client.close()
        child.terminate()
        child.wait(timeout=15)


def _login(client: httpx.Client, token: str, headers: dict[str, str]) -> httpx.Response:
    return client.post("/console/login", data={"token": token, "next": "/console"}, headers=headers)


def test_guessing_from_one_address_is_refused_however_it_fills_x_forwarded_for(procfile_app):
    """Run as the Procfile runs it (`--forwarded-allow-ips='*'`, where uvicorn takes the
    header's first entry as the client): a new spoofed first entry on every try gains
    nothing, the router's entry is what counts."""
    for attempt in range(4):
        wrong = _login(procfile_app, f"guess-{attempt}", _via_router(ATTACKER, spoofed=f"198.18.{attempt}.1"))
        assert wrong.status_code == 401, attempt
    refused = _login(procfile_app, CONSOLE_TOKEN, _via_router(ATTACKER, spoofed="198.18.99.1"))
    assert refused.status_code == 429
    assert 60 <= int(refused.headers["retry-after"]) <= 120
    assert COOKIE_NAME not in refused.cookies and "Try again in" in refused.text
    scripted = procfile_app.get("/console", headers={**_via_router(ATTACKER, spoofed="198.18.100.1"),
                                                     "Authorization": f"Bearer {CONSOLE_TOKEN}"})
    assert scripted.status_code == 429 and "retry-after" in scripted.headers

    # another client behind the same router is not held up by it
    organiser = _login(procfile_app, CONSOLE_TOKEN, _via_router(ORGANISER, spoofed=ATTACKER))
    assert organiser.status_code == 303 and COOKIE_NAME in organiser.cookies


def test_each_wait_is_longer_and_a_right_token_clears_the_count(start_app):
    server = start_app(console_token=CONSOLE_TOKEN, login_max_failures=2, login_lockout_seconds=2)
    attacker = _via_router(ATTACKER)

    def login(token: str) -> httpx.Response:
        return _login(server.client, token, attacker)

    assert [login("wrong").status_code for _ in range(3)] == [401, 401, 401]
    first = login("wrong")
    assert first.status_code == 429
    first_wait = int(first.headers["retry-after"])
    assert 1 <= first_wait <= 2
    time.sleep(first_wait + 0.3)

    assert login("wrong").status_code == 401  # allowed once the wait is over, and now waits 4 s
    second = login(CONSOLE_TOKEN)
    assert second.status_code == 429
    second_wait = int(second.headers["retry-after"])
    assert second_wait > first_wait
    time.sleep(second_wait + 0.3)

    assert login(CONSOLE_TOKEN).status_code == 303
    # the count starts again: two free failures, then the right token gets in
    assert [login("wrong").status_code for _ in range(2)] == [401, 401]
    assert login(CONSOLE_TOKEN).status_code == 303


def test_concurrent_guesses_get_no_more_tries_through(start_app):
    """Forty wrong bearer tokens at once from one address (the access check runs in the
    thread pool): the free tries and the one that starts the wait get an answer, the
    rest 429."""
    server = start_app(console_token=CONSOLE_TOKEN, login_max_failures=3, login_lockout_seconds=120)
    headers = {**_via_router(ATTACKER), "Accept": "application/json"}

    def guess(index: int) -> int:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as client:
            return client.get("/console", headers={**headers, "Authorization": f"Bearer guess-{index}"}).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = Counter(pool.map(guess, range(40)))
    assert answers == {401: 4, 429: 36}


def test_the_throttle_remembers_a_bounded_number_of_addresses():
    now = [0.0]
    throttle = LoginThrottle(max_failures=1, base=10, cap=100, capacity=1000, clock=lambda: now[0])
    assert throttle.attempt("192.0.2.1") == 0
    assert throttle.attempt("192.0.2.1") == 0  # the first failure over the limit: it waits 10 s
    assert throttle.attempt("192.0.2.1") == 10
    for index in range(50_000):
        throttle.attempt(str(ipaddress.ip_address(167772160 + index)))
    assert len(throttle) == 1000
    now[0] = 250.0  # quiet for longer than the cap after the wait: forgotten
    last = str(ipaddress.ip_address(167772160 + 49_999))
    assert throttle.wait(last) == 0 and len(throttle) == 999
    throttle.succeeded("192.0.2.77")
    assert throttle.attempt("192.0.2.77") == 0


def _request(forwarded: list[str], peer: str = "127.0.0.1") -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 5000)})


def test_the_address_is_counted_as_the_nearest_proxies_saw_it():
    assert client_address(_request(["10.9.9.9, 203.0.113.7"]), proxy_hops=1) == ATTACKER
    assert client_address(_request(["10.9.9.9", "203.0.113.7:51000"]), proxy_hops=1) == ATTACKER
    assert client_address(_request(["203.0.113.7, 172.70.1.1"]), proxy_hops=2) == ATTACKER
    assert client_address(_request([], peer="192.0.2.5"), proxy_hops=1) == "192.0.2.5"
    assert client_address(_request(["203.0.113.7"], peer="192.0.2.5"), proxy_hops=0) == "192.0.2.5"
    # one IPv6 subscriber holds a /64: every address in it is one client
    first = client_address(_request(["[2001:db8:1:2::1]:443"]), proxy_hops=1)
    assert first == client_address(_request(["2001:db8:1:2:ffff::9"]), proxy_hops=1) == "2001:db8:1:2::/64"
