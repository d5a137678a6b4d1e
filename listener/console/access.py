"""Who may open the console: holders of `CONSOLE_TOKEN`, or anyone on this machine when
no token is set.

The token arrives once, through the login form (or on every request as a bearer token
for scripts); the form answers with a cookie that carries an expiry time and an HMAC of
it under a key derived from the token, so changing the token logs everyone out and the
server keeps no session table. Every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time

from fastapi import Request

from listener.config import Settings

COOKIE_NAME = "listener_console"
SESSION_SECONDS = 12 * 3600
LOOPBACK_NAMES = ("localhost",)
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


class ConsoleExposed(Exception):
    """The console would be served beyond this machine without a token."""


class AccessDenied(Exception):
    """The request may not see the console; `login` says whether logging in would help."""

    def __init__(self, reason: str, *, login: bool) -> None:
        super().__init__(reason)
        self.login = login


def token_of(settings: Settings) -> str | None:
    secret = settings.console_token
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def is_loopback(host: str | None) -> bool:
    """A loopback address (`127.0.0.1`, `::1`) or `localhost`; False for anything else."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to listen on a non-loopback address while the console has no token."""
    if token_of(settings) is None and not is_loopback(host):
        raise ConsoleExposed(
            f"refusing to serve on {host} without CONSOLE_TOKEN: the web console would be open to the network. "
            "Set CONSOLE_TOKEN to a long random value, or listen on 127.0.0.1"
        )


def tokens_match(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not reveal a prefix of the token."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _session_key(token: str) -> bytes:
    return hmac.new(token.encode("utf-8"), b"listener-console-session", hashlib.sha256).digest()


def session_cookie(token: str, now: float | None = None) -> str:
    """`<expiry>.<hmac>`: valid until the expiry for as long as the token is unchanged."""
    expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
    signature = hmac.new(_session_key(token), str(expires).encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{signature}"


def valid_session(cookie: str | None, token: str, now: float | None = None) -> bool:
    if not cookie or "." not in cookie:
        return False
    expires, _, signature = cookie.partition(".")
    if not expires.isdigit():
        return False
    expected = hmac.new(_session_key(token), expires.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return False
    return int(expires) > (now if now is not None else time.time())


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def check_request(request: Request, settings: Settings) -> None:
    """Raise `AccessDenied` unless the request may see the console."""
    token = token_of(settings)
    if token is None:
        client = request.client.host if request.client else None
        # Behind a proxy the client address is whatever the forwarding headers claim (the
        # Procfile trusts them from anywhere), so a forwarded request never counts as local.
        forwarded = any(header in request.headers for header in FORWARDING_HEADERS)
        # A page on another site whose name was made to resolve to 127.0.0.1 (DNS
        # rebinding) reaches a loopback server too, but with its own name as the Host.
        foreign_name = not is_loopback(request.url.hostname)
        if forwarded or foreign_name or not is_loopback(client):
            raise AccessDenied(
                "The console is only open on this machine until CONSOLE_TOKEN is set.", login=False
            )
        return
    bearer = _bearer(request)
    if bearer is not None:
        if tokens_match(bearer, token):
            return
        raise AccessDenied("That token is not the console's token.", login=True)
    if not valid_session(request.cookies.get(COOKIE_NAME), token):
        raise AccessDenied("Please log in with the console token.", login=True)
