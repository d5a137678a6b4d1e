"""What the web app refuses to start with, and what it starts with only under a warning."""

from __future__ import annotations

from listener.channel.sender import twilio_configured
from listener.config import Settings


class ConfigurationError(Exception):
    """The settings would run an unsafe or useless webhook; the message says what to set."""


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
        if not twilio_configured(settings):
            raise ConfigurationError(
                "ENVIRONMENT is production: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_NUMBER to send replies"
            )
        if settings.console_token is None:
            return ["CONSOLE_TOKEN is not set: /console refuses every request that comes through a proxy (set it to use the console)"]
        return []
    warnings = []
    if settings.console_token is None:
        warnings.append(
            "CONSOLE_TOKEN is not set: /console answers only requests made on this machine, not through a proxy"
        )
    if not settings.twilio_auth_token:
        warnings.append("TWILIO_AUTH_TOKEN is not set: webhook signatures are NOT checked")
    elif not settings.twilio_validate_signature:
        warnings.append("TWILIO_VALIDATE_SIGNATURE=false: webhook signatures are NOT checked")
    if not twilio_configured(settings):
        warnings.append(
            "Twilio credentials or TWILIO_NUMBER missing: replies are printed and stored, not sent"
        )
    return warnings


def validation_token(settings: Settings) -> str | None:
    """The token signatures are checked with, or None when checking is off."""
    return settings.twilio_auth_token if settings.twilio_validate_signature else None
