"""Settings production must not run with stop the web process before it serves anything,
with one line on standard error and exit status 2, whichever way it is started: the
Procfile's `uvicorn app:app` and `listener serve`. An ENVIRONMENT the app does not know
(a typo such as `prd`) is refused the same way instead of running as development."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from reliability_support import free_port
from webhook_support import wait_for

from listener.channel.startup import check_settings
from listener.config import Settings

ROOT = Path(__file__).resolve().parent.parent
UVICORN = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1"]
SERVE = [sys.executable, "-m", "listener.cli", "serve", "--host", "127.0.0.1"]


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A production deployment's config vars, but for what the test changes."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TWILIO_", "OPENAI_", "PUBLIC_URL", "ENVIRONMENT", "CONSOLE_", "METRICS_"))}
    env.update(ENVIRONMENT="production", STORE_URL=f"sqlite:///{tmp_path}/listener.db",
               TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_NUMBER="whatsapp:+15550009999",
               TWILIO_API_URL="http://127.0.0.1:9", PUBLIC_URL="https://listener.example.test")
    env.update(values)
    return {key: value for key, value in env.items() if value}


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*command, "--port", str(free_port())], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)


def _refused_in_one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert lines[0].startswith("listener: ")
    return lines[0]


@pytest.mark.parametrize("command", [UVICORN, SERVE], ids=["uvicorn app:app", "listener serve"])
def test_production_without_public_url_does_not_start(tmp_path, command):
    line = _refused_in_one_line(_run(command, _env(tmp_path, PUBLIC_URL=""), ROOT))
    assert "PUBLIC_URL is not set" in line and "ENVIRONMENT is production" in line


@pytest.mark.parametrize("command", [UVICORN, SERVE], ids=["uvicorn app:app", "listener serve"])
def test_an_unknown_environment_does_not_start(tmp_path, command):
    line = _refused_in_one_line(_run(command, _env(tmp_path, ENVIRONMENT="prd"), ROOT))
    assert "ENVIRONMENT" in line and "'prd'" in line
    assert "development, test or production" in line


def test_production_refuses_a_public_url_twilio_could_not_have_signed(tmp_path):
    line = _refused_in_one_line(_run(UVICORN, _env(tmp_path, PUBLIC_URL="listener.example.test"), ROOT))
    assert "PUBLIC_URL must be the https address" in line


def test_production_with_public_url_starts_and_serves(tmp_path):
    """The refusals above are about the settings: the same deployment with them starts."""
    port = free_port()
    child = subprocess.Popen([*UVICORN, "--port", str(port)], env=_env(tmp_path), cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def healthy() -> bool:
            assert child.poll() is None, "the server exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=30, what="the production app to start")
    finally:
        child.terminate()
        child.wait(timeout=15)


@pytest.mark.parametrize(("given", "meant"), [("production", "production"), ("Production ", "production"),
                                              ("prod", "production"), ("test", "test"), ("DEVELOPMENT", "development")])
def test_known_environment_names(given, meant):
    """`prod` was honoured as production before names were checked, and can only make the
    app stricter, so it stays; case and stray spaces do not matter."""
    settings = Settings(_env_file=None, ENVIRONMENT=given)
    assert settings.environment == meant
    assert settings.production == (meant == "production")


def test_production_warns_when_metrics_are_closed():
    base = {"_env_file": None, "environment": "production", "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": "t", "twilio_number": "+15550009999", "public_url": "https://listener.example.test",
            "console_token": "c" * 32}
    assert check_settings(Settings(**base, metrics_token="m" * 32)) == []
    assert [warning.split(":")[0] for warning in check_settings(Settings(**base))] == ["METRICS_TOKEN is not set"]


def test_development_without_public_url_warns_how_signatures_are_checked():
    warnings = check_settings(Settings(_env_file=None, environment="development", twilio_auth_token="t"))
    assert any("PUBLIC_URL is not set" in warning and "X-Forwarded-Host is ignored" in warning for warning in warnings)
