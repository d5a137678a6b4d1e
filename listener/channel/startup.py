"""What the web app refuses to start with, and what it starts with only under a warning."""

from __future__ import annotations

import sys
from typing import NoReturn
from urllib.parse import urlsplit

from pydantic import ValidationError

from listener.channel.sender import twilio_configured
from listener.config import Settings
from listener.errors import describe_validation_error


class ConfigurationError(Exception):
    """The settings would run an unsafe or useless webhook; the message says what to set."""


def _public_url_problem(public_url: str | None) -> str | None:
    """Why PUBLIC_URL cannot be the address Twilio signs, or None when it can."""
    if not public_url:
        return (
            "ENVIRONMENT is production but PUBLIC_URL is not set: set it to the https address Twilio calls "
            "(webhook signatures are checked against it, never against a host a request names)"
        )
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.hostname:
        return f"PUBLIC_URL must be the https address Twilio calls, such as https://my-app.herokuapp.com (not {public_url!r})"
    return None


def check_settings(settings: Settings) -> list[str]:
    """Raise `ConfigurationError` for settings production must not run with; return the
    warnings to log for settings development may run with."""
    if settings.production:
        if not settings.twilio_auth_token:
            raise ConfigurationError(
                "ENVIRONMENT is production but TWILIO_AUTH_TOKEN is not set: webhook signatures cannot be checked"
            )
        if not settings.twilio_validate_signature:
            raise ConfigurationError(
                "TWILIO_VALIDATE_SIGNATURE=false is refused when ENVIRONMENT is production"
            )
        problem = _public_url_problem(settings.public_url)
        if problem:
            raise ConfigurationError(problem)
        if not twilio_configured(settings):
            raise ConfigurationError(
                "ENVIRONMENT is production: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_NUMBER to send replies"
            )
        warnings = []
        if settings.console_token is None:
            warnings.append("CONSOLE_TOKEN is not set: /console refuses every request that comes through a proxy (set it to use the console)")
        if settings.metrics_token is None:
            warnings.append("METRICS_TOKEN is not set: /metrics answers 403 until it is (scrapers then send it as a bearer token)")
        return warnings
    warnings = []
    if settings.console_token is None:
        warnings.append(
            "CONSOLE_TOKEN is not set: /console answers only requests made on this machine, not through a proxy"
        )
    if not settings.twilio_auth_token:
        warnings.append("TWILIO_AUTH_TOKEN is not set: webhook signatures are NOT checked")
    elif not settings.twilio_validate_signature:
        warnings.append("TWILIO_VALIDATE_SIGNATURE=false: webhook signatures are NOT checked")
    elif not settings.public_url:
        warnings.append(
            "PUBLIC_URL is not set: signatures are checked against each request's own Host header "
            "(X-Forwarded-Host is ignored); set PUBLIC_URL to the address Twilio calls"
        )
    if not twilio_configured(settings):
        warnings.append(
            "Twilio credentials or TWILIO_NUMBER missing: replies are printed and stored, not sent"
        )
    return warnings


def validation_token(settings: Settings) -> str | None:
    """The token signatures are checked with, or None when checking is off."""
    return settings.twilio_auth_token if settings.twilio_validate_signature else None


def refuse(reason: str) -> NoReturn:
    """Stop the process with one line on standard error and exit status 2, as the
    `listener` command reports bad input."""
    print(f"listener: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def startup_settings() -> Settings:
    """The environment's settings for a web process, or exit 2 with one line saying why not.

    The entry points (`app.py`, `listener serve`) call this before uvicorn starts the app:
    a refusal raised later, in the app's lifespan, would reach the log as a traceback.
    """
    try:
        settings = Settings()
        check_settings(settings)
    except ValidationError as exc:
        refuse(describe_validation_error(exc))
    except ConfigurationError as exc:
        refuse(str(exc))
    return settings
