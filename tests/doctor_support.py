"""What the `listener doctor` tests share: settings for a run, findings by check, and
servers that answer badly (a `/healthz` with a chosen status, a port that never answers)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from harness import ROOT
from local_server import LocalServer, QuietHandler

from listener.config import Settings
from listener.operators.doctor import Finding, Verdict

NUMBER = "+15550009999"
PUBLIC_URL = "https://listener.example.org"


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    """A development run on a fresh SQLite file with the shipped flow and no services;
    `overrides` (field names) add what a test checks. No `.env` file is read."""
    values: dict[str, object] = {
        "store_url": f"sqlite:///{tmp_path / 'doctor.db'}",
        "flow_file": ROOT / "transitions.yaml",
        "environment": "development",
        "console_token": "console-token-for-tests",
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "twilio_number": None,
        "public_url": None,
        "openai_api_key": None,
        "openai_base_url": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def production(tmp_path: Path, twilio_url: str, **overrides: object) -> Settings:
    """Production settings with Twilio credentials the fake accepts."""
    values: dict[str, object] = {
        "environment": "production",
        "public_url": PUBLIC_URL,
        "metrics_token": "metrics-token-for-tests",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_number": f"whatsapp:{NUMBER}",
        "twilio_api_url": twilio_url,
    }
    values.update(overrides)
    return settings_for(tmp_path, **values)


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.check, []).append(finding)
    return grouped


def verdicts(findings: list[Finding], check: str) -> list[Verdict]:
    return [finding.verdict for finding in by_check(findings).get(check, [])]


def only(findings: list[Finding], check: str) -> Finding:
    (finding,) = by_check(findings)[check]
    return finding


class _Health(QuietHandler):
    def do_GET(self) -> None:
        owner: HealthServer = self.server.owner
        owner.paths.append(self.path)
        headers = {"Location": owner.location} if owner.location else None
        self.answer(owner.status, b'{"status": "ok"}', headers=headers)


class HealthServer:
    """Answers every GET with `status` (and `location`, for a redirect)."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.status = status
        self.location = location
        self.paths: list[str] = []
        self.server = LocalServer(_Health, owner=self)
        self.url = self.server.url

    def __enter__(self) -> HealthServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


@contextmanager
def silent_port() -> Iterator[str]:
    """A loopback address that accepts connections and never answers: a hung service."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def closed_port() -> str:
    """A loopback address nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"
