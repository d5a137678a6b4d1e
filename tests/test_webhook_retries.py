"""Twilio's retries of a delivery answered 503 need the webhook URL's connection overrides
(`.../message#rc=3&rp=ct,rt,5xx`); the fragment never reaches the app, but Twilio signs the
URL as configured, so the app must know it (`TWILIO_CONNECTION_OVERRIDES`) to check it."""

from __future__ import annotations

import pytest
from webhook_support import (  # noqa: F401
    db_path,
    fake_twilio,
    message_form,
    signature,
    start_app,
    wait_for,
)

OVERRIDES = "rc=3&rp=ct,rt,5xx"
PARTICIPANT = "+15550006161"


@pytest.mark.parametrize(
    ("configured", "signed_path", "status"),
    [
        (OVERRIDES, f"/message#{OVERRIDES}", 200),  # signed as configured in Twilio
        (f"#{OVERRIDES}", f"/message#{OVERRIDES}", 200),  # pasted with its '#'
        (OVERRIDES, "/message", 200),  # signed without the fragment
        (OVERRIDES, "/message#rc=5&rp=all", 403),  # other overrides: not the URL configured
        ("", f"/message#{OVERRIDES}", 403),  # the app was not told the overrides
    ],
)
def test_a_webhook_url_with_connection_overrides_is_still_verified(start_app, configured, signed_path, status):
    server = start_app(twilio_connection_overrides=configured)
    sid = "SM" + "6" * 32
    form = message_form(sid, PARTICIPANT, "hello")
    headers = {"X-Twilio-Signature": signature(signed_path, form)}
    assert server.post("/message", form, sign=False, headers=headers).status_code == status
    if status == 200:
        wait_for(lambda: server.store.inbound_status(sid) == "done", what="the delivery to be processed")
    else:
        assert server.store.inbound_status(sid) is None
