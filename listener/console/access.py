"""Who may open the console: holders of `CONSOLE_TOKEN`, or anyone on this machine when
no token is set.

The token arrives once, through the login form (or on every request as a bearer token
for scripts); the form answers with a cookie that carries an expiry time and an HMAC of
it under a key derived from the token, so changing the token logs everyone out and the
server keeps no session table. Every comparison is constant-time, and wrong tokens are
counted per client address (`LoginThrottle`): guessing slows down exponentially.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from listener.config import Settings

log = logging.getLogger(__name__)

COOKIE_NAME = "listener_console"
SESSION_SECONDS = 12 * 3600
LOOPBACK_NAMES = ("localhost",)
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
# Addresses the login limit remembers at once: about 270 bytes each (measured), under 3 MB.
MAX_TRACKED_ADDRESSES = 10_000
# One IPv6 subscriber holds a whole /64: counting per address would give it 2**64 tries.
IPV6_PREFIX = 64


class ConsoleExposed(Exception):
    """The console would be served beyond this machine without a token."""


class AccessDenied(Exception):
    """The request may not see the console; `login` says whether logging in would help."""

    def __init__(self, reason: str, *, login: bool) -> None:
        super().__init__(reason)
        self.login = login


class TooManyAttempts(Exception):
    """This client address sent too many wrong tokens; it may try again after `seconds`."""

    def __init__(self, wait: float) -> None:
        self.seconds = max(1, math.ceil(wait))
        super().__init__(f"Too many wrong tokens from your address. Try again in {self.seconds} seconds.")


@dataclass
class _Failures:
    count: int
    blocked_until: float


class LoginThrottle:
    """Wrong console tokens counted per client address, with a growing wait.

    The first `max_failures` wrong tokens from an address cost nothing; each one after that
    makes the address wait `base` seconds, doubling with every further failure up to `cap`.
    While it waits, every try is refused without the token being looked at, so sending
    more guesses, one after another or all at once, gets none through sooner. A right token clears the address; so does a
    quiet `cap` after its last wait ends (yesterday's typos do not lock an organiser out).
    At most `capacity` addresses are remembered (when full, the least recently failed is
    forgotten), so an attacker cannot grow the table. Thread-safe: the console's access
    check runs in the thread pool.
    """

    def __init__(
        self,
        max_failures: int,
        base: float,
        cap: float,
        capacity: int = MAX_TRACKED_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.base = base
        self.cap = cap
        self.capacity = capacity
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(settings.login_max_failures, settings.login_lockout_seconds, settings.login_lockout_max_seconds)

    def __len__(self) -> int:
        return len(self._failures)

    def _quiet(self, failures: _Failures, now: float) -> bool:
        return now >= failures.blocked_until + self.cap

    def wait(self, address: str) -> float:
        """Seconds before `address` may try a token again (0: it may now)."""
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return 0.0
            now = self._clock()
            if self._quiet(failures, now):
                del self._failures[address]
                return 0.0
            return max(0.0, failures.blocked_until - now)

    def attempt(self, address: str) -> float:
        """Let `address` try a token now (0), or say how many seconds it must still wait.

        A try that is let through counts as a failure at once, and `succeeded` takes it
        back: checking and counting in one step, so a burst of concurrent tries at the
        moment a wait ends gets one through, not as many as arrive together."""
        with self._lock:
            now = self._clock()
            failures = self._failures.pop(address, None)
            if failures is not None and self._quiet(failures, now):
                failures = None
            if failures is not None and failures.blocked_until > now:
                self._failures[address] = failures
                return failures.blocked_until - now
            failures = failures or _Failures(0, now)
            failures.count += 1
            over = failures.count - self.max_failures
            failures.blocked_until = now + (min(self.cap, self.base * 2 ** (over - 1)) if over > 0 else 0.0)
            self._failures[address] = failures
            while len(self._failures) > self.capacity:
                self._failures.popitem(last=False)
            return 0.0

    def succeeded(self, address: str) -> None:
        """The right token: forget the address's failures, this try's included."""
        with self._lock:
            self._failures.pop(address, None)


_THROTTLE_LOCK = threading.Lock()


def login_throttle(request: Request, settings: Settings) -> LoginThrottle:
    """This app's one `LoginThrottle`, made on first use from the running settings."""
    state = request.app.state
    with _THROTTLE_LOCK:
        throttle = getattr(state, "login_throttle", None)
        if throttle is None:
            throttle = state.login_throttle = LoginThrottle.from_settings(settings)
    return throttle


def _host_only(value: str) -> str:
    """`203.0.113.7`, `203.0.113.7:5050`, `[2001:db8::1]:443` -> the address without a port."""
    value = value.strip()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def client_address(request: Request, proxy_hops: int) -> str:
    """Who the login limit counts a failure against.

    Behind proxies, the address the nearest of `proxy_hops` proxies appended to
    X-Forwarded-For: what the client wrote there comes before it, so it cannot be forged.
    (uvicorn's `--forwarded-allow-ips='*'`, which the Procfile needs because Heroku's
    router has no fixed address, makes `request.client` the header's *first* entry,
    which the client chose.) Without the header, the connection's own address. An IPv6
    address stands for its /64.
    """
    entries = [entry.strip() for value in request.headers.getlist("x-forwarded-for") for entry in value.split(",")]
    entries = [entry for entry in entries if entry]
    if proxy_hops and entries:
        host = _host_only(entries[-min(proxy_hops, len(entries))])
    else:
        host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if address.version == 6 and not address.is_loopback:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


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


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def check_token(request: Request, settings: Settings, given: str) -> None:
    """Let the console token through; count anything else against the client's address.

    Raises `TooManyAttempts` while the address must wait (before looking at the token),
    `AccessDenied` for a wrong token."""
    token = token_of(settings)
    if token is None:
        return
    throttle = login_throttle(request, settings)
    address = client_address(request, settings.proxy_hops)
    wait = throttle.attempt(address)
    if wait > 0:
        raise TooManyAttempts(wait)
    if tokens_match(given, token):
        throttle.succeeded(address)
        return
    wait = throttle.wait(address)
    if wait > 0:
        log.warning("console: another wrong token from %s; it waits %.0f s before its next try", address, wait)
    raise AccessDenied("That token is not the console's token.", login=True)


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
    bearer = bearer_token(request)
    if bearer is not None:
        check_token(request, settings, bearer)
        return
    if not valid_session(request.cookies.get(COOKIE_NAME), token):
        raise AccessDenied("Please log in with the console token.", login=True)
