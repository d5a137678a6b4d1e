"""X-Twilio-Signature: only requests Twilio signed for our public URL are recorded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from webhook_support import (  # noqa: F401
    app_server,
    db_path,
    fake_twilio,
    message_form,
    signature,
    start_app,
)

from listener.channel.startup import ConfigurationError, check_settings
from listener.config import Settings

PARTICIPANT = "+15550002222"
SID = "SM" + "a" * 32


def test_a_valid_signature_is_accepted_and_recorded(app_server):
    assert app_server.post("/message", message_form(SID, PARTICIPANT, "hello")).status_code == 200
    assert app_server.store.inbound_status(SID) is not None


@pytest.mark.parametrize(
    "how",
    ["missing header", "tampered body", "signed for another URL", "signed with another token", "garbage"],
)
def test_a_bad_signature_is_403_and_nothing_is_stored(app_server, how):
    form = message_form(SID, PARTICIPANT, "hello")
    headers = {
        "missing header": {},
        "tampered body": {"X-Twilio-Signature": signature("/message", {**form, "Body": "something else"})},
        "signed for another URL": {"X-Twilio-Signature": signature("/message", form, base="https://evil.example.test")},
        "signed with another token": {"X-Twilio-Signature": signature("/message", form, token="not-the-token")},
        "garbage": {"X-Twilio-Signature": "!!!"},
    }[how]
    response = app_server.post("/message", form, sign=False, headers=headers)
    assert response.status_code == 403
    assert "Signature" in response.json()["detail"]
    assert app_server.store.inbound_status(SID) is None
    assert app_server.store.load_participant(PARTICIPANT) is None


def test_behind_a_proxy_the_forwarded_url_is_checked(start_app):
    """Without PUBLIC_URL, the URL Twilio called is rebuilt from the proxy's headers."""
    server = start_app(public_url=None)
    form = message_form(SID, PARTICIPANT, "hello")
    public = "https://listener.example.test"
    proxied = {"X-Forwarded-Proto": "https", "Host": "listener.example.test",
               "X-Twilio-Signature": signature("/message", form, base=public)}
    assert server.post("/message", form, sign=False, headers=proxied).status_code == 200
    assert server.store.inbound_status(SID) is not None

    # The same signature without the proxy's scheme is for another URL (http://...).
    other = message_form("SM" + "b" * 32, PARTICIPANT, "hello")
    plain = {"Host": "listener.example.test", "X-Twilio-Signature": signature("/message", other, base=public)}
    assert server.post("/message", other, sign=False, headers=plain).status_code == 403
    assert server.store.inbound_status("SM" + "b" * 32) is None


def test_validation_can_be_turned_off_outside_production(start_app):
    server = start_app(twilio_validate_signature=False)
    assert server.post("/message", message_form(SID, PARTICIPANT, "hello"), sign=False).status_code == 200
    assert server.store.inbound_status(SID) is not None


def test_production_refuses_to_run_without_signature_checks():
    base = dict(environment="production", twilio_account_sid="AC" + "0" * 32, twilio_auth_token="t",
                twilio_number="+15550009999", public_url="https://listener.example.test",
                metrics_token="a-long-metrics-token")
    assert check_settings(Settings(**base, console_token="a-long-console-token")) == []
    assert ["CONSOLE_TOKEN" in warning for warning in check_settings(Settings(**base))] == [True]
    with pytest.raises(ConfigurationError, match="TWILIO_VALIDATE_SIGNATURE"):
        check_settings(Settings(**base, twilio_validate_signature=False))
    with pytest.raises(ConfigurationError, match="TWILIO_AUTH_TOKEN"):
        check_settings(Settings(**{**base, "twilio_auth_token": None}))
    warnings = check_settings(Settings(environment="development", twilio_auth_token="t", twilio_validate_signature=False))
    assert any("NOT checked" in warning for warning in warnings)


def test_listener_serve_refuses_production_without_a_token_in_one_line(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TWILIO_")}
    env.update(ENVIRONMENT="production", STORE_URL=f"sqlite:///{tmp_path}/listener.db")
    done = subprocess.run([sys.executable, "-m", "listener.cli", "serve", "--port", "0"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("listener: ENVIRONMENT is production")
    assert len(done.stderr.strip().splitlines()) == 1
