"""Is this request really from Twilio? `X-Twilio-Signature`, checked with `RequestValidator`.

Twilio signs the URL it called plus the POST fields. Behind a proxy (Heroku, a tunnel)
the app sees another URL, so the URL is `PUBLIC_URL` + path when that is set, else the
request's own URL rebuilt from `X-Forwarded-Proto` / `X-Forwarded-Host`. A forged header
gains nothing: the signature still has to match the token.
"""

from __future__ import annotations

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from twilio.request_validator import RequestValidator, get_signature_algorithm

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"


def _first(value: str | None) -> str | None:
    """The client-side value of a forwarded header a chain of proxies appended to."""
    if not value:
        return None
    return value.split(",")[0].strip() or None


def signed_url(request: Request, public_url: str | None) -> str:
    """The URL Twilio called, as it would have signed it."""
    path_and_query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if public_url:
        return public_url.rstrip("/") + path_and_query
    scheme = _first(request.headers.get("x-forwarded-proto")) or request.url.scheme
    host = _first(request.headers.get("x-forwarded-host")) or request.headers.get("host") or request.url.netloc
    return f"{scheme}://{host}{path_and_query}"


class SignatureCheck:
    """Validates requests when a token is configured; lets everything through otherwise."""

    def __init__(self, auth_token: str | None, public_url: str | None) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._public_url = public_url

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
        return self._validator.validate(signed_url(request, self._public_url), form, signature, algorithm)
