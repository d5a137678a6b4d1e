"""Is this request really from Twilio? `X-Twilio-Signature`, checked with `RequestValidator`.

Twilio signs the URL it called plus the POST fields. Behind a proxy (Heroku, a tunnel)
the app sees another URL, so the URL is `PUBLIC_URL` + path, which production requires.

Without `PUBLIC_URL` (development, tests) the URL is rebuilt from the request as uvicorn
resolved it: the scheme uvicorn took from `X-Forwarded-Proto` only when the connection came
from a proxy it trusts (`--forwarded-allow-ips`), and the `Host` header, which the routers
in front (Heroku's, a tunnel's) match to this app before they forward anything.
`X-Forwarded-Host` is never read: routers pass it on as the client wrote it, so a request
signed for another app of the same Twilio account (same token) could name that app's host
there and be accepted. A proxy that rewrites `Host` needs `PUBLIC_URL`.

A webhook URL configured with Twilio's connection overrides (`.../message#rc=3&rp=5xx`,
so that Twilio retries a 503) ends in a fragment that the request never carries, yet
Twilio signs the URL as configured. So with `TWILIO_CONNECTION_OVERRIDES` set, a
signature over the URL with that fragment is accepted as well as one over the URL alone.
"""

from __future__ import annotations

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from twilio.request_validator import RequestValidator, get_signature_algorithm

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"


def signed_url(request: Request, public_url: str | None) -> str:
    """The URL Twilio called, as it would have signed it."""
    path_and_query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if public_url:
        return public_url.rstrip("/") + path_and_query
    return f"{request.url.scheme}://{request.url.netloc}{path_and_query}"


class SignatureCheck:
    """Validates requests when a token is configured; lets everything through otherwise."""

    def __init__(self, auth_token: str | None, public_url: str | None, connection_overrides: str = "") -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._public_url = public_url
        self._fragment = connection_overrides.strip().lstrip("#")

    @property
    def enabled(self) -> bool:
        return self._validator is not None

    def valid(self, request: Request, form: ImmutableMultiDict) -> bool:
        if self._validator is None:
            return True
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        algorithm = get_signature_algorithm(request.headers.get(SETTINGS_HEADER))
        url = signed_url(request, self._public_url)
        urls = [url, f"{url}#{self._fragment}"] if self._fragment else [url]
        return any(self._validator.validate(candidate, form, signature, algorithm) for candidate in urls)
