"""The settings themselves: would the web app start with them, and do they suit an event.

The web app's own start-up rules (`listener.channel.startup.check_settings`) decide what
refuses to start; the rules here add what only matters for a real event reached by
Twilio: the public address Twilio calls, and a store that outlives the machine.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from listener.channel.startup import ConfigurationError, check_settings
from listener.config import Settings
from listener.operators.doctor.findings import Finding

CHECK = "configuration"


def check_configuration(settings: Settings) -> list[Finding]:
    return [*_startup(settings), *_public_url(settings), *_store_url(settings)]


def _startup(settings: Settings) -> list[Finding]:
    mode = f"ENVIRONMENT={settings.environment}"
    try:
        warnings = check_settings(settings)
    except ConfigurationError as exc:
        return [
            Finding.blocker(
                CHECK, f"the web app would refuse to start: {exc}", "set what it names, then run the doctor again"
            )
        ]
    return [
        Finding.ok(CHECK, f"{mode}: the web app starts with these settings"),
        *(Finding.warning(CHECK, warning, "set what it names if you mean to use it") for warning in warnings),
    ]


def _public_url(settings: Settings) -> list[Finding]:
    check = "configuration.public_url"
    if not settings.public_url:
        if settings.production:
            return [
                Finding.blocker(
                    check,
                    "PUBLIC_URL is not set: Twilio's signatures are checked against it and replies' delivery reports go to PUBLIC_URL/status",
                    "set PUBLIC_URL to the address Twilio calls, such as https://<app>.herokuapp.com",
                )
            ]
        return [
            Finding.skipped(
                check, "PUBLIC_URL is not set: fine on this machine, needed before Twilio can reach the app"
            )
        ]
    parts = urlsplit(settings.public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            Finding.blocker(
                check,
                f"PUBLIC_URL {settings.public_url!r} is not a web address",
                "write it as https://<host>, without a path",
            )
        ]
    findings = []
    if parts.path.strip("/") or parts.query or parts.fragment:
        findings.append(
            Finding.warning(
                check,
                f"PUBLIC_URL {settings.public_url} has more than a host: the routes are added to it as they are",
                "make sure that is meant (a proxy that serves the app under a path); otherwise keep only https://<host>",
            )
        )
    if parts.scheme == "http" and settings.production:
        findings.append(
            Finding.warning(
                check,
                f"PUBLIC_URL {settings.public_url} is plain http: participants' messages would cross the internet unencrypted",
                "use the https address (Heroku serves every app over https)",
            )
        )
    return findings or [Finding.ok(check, f"PUBLIC_URL is {settings.public_url}")]


def _store_url(settings: Settings) -> list[Finding]:
    check = "configuration.store"
    scheme = urlsplit(settings.store_url).scheme
    if scheme == "sqlite" and settings.production:
        return [
            Finding.warning(
                check,
                f"STORE_URL {settings.store_url} keeps the records on this machine's disk",
                "fine on one server with a lasting disk; on Heroku a dyno's disk is wiped at every restart: use firestore://<project>",
            )
        ]
    if scheme == "firestore" and not settings.firestore_emulator_host and not settings.firebase_credentials:
        return [
            Finding.warning(
                check,
                "FIREBASE_CREDENTIALS is not set: Google's application default credentials are used (a Heroku dyno has none)",
                "set FIREBASE_CREDENTIALS to the service account's JSON key (the whole JSON, or a path to it)",
            )
        ]
    return []
