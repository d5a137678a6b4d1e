"""Malformed requests get a 4xx naming the problem (never a 500) and store nothing;
odd but valid messages are stored."""

from __future__ import annotations

import pytest
from webhook_support import (  # noqa: F401
    app_server,
    db_path,
    fake_twilio,
    message_form,
    start_app,
    wait_for,
)

PARTICIPANT = "+15550006666"
SID = "SM" + "f" * 32


def nothing_stored(server) -> bool:
    return server.store.inbound_status(SID) is None and server.store.load_participant(PARTICIPANT) is None


@pytest.mark.parametrize(
    "change, status, reason",
    [
        ({"From": None}, 422, "From"),
        ({"MessageSid": None}, 422, "MessageSid"),
        ({"From": "whatsapp:hello"}, 422, "From"),
        ({"Body": "x" * 4097}, 422, "Body"),
        ({"NumMedia": "2", "MediaUrl0": "https://api.twilio.com/m/0"}, 422, "MediaUrl1"),
        ({"NumMedia": "many"}, 422, "NumMedia"),
        ({"NumMedia": "1", "MediaUrl0": "file:///etc/passwd"}, 422, "MediaUrl"),
    ],
)
def test_a_malformed_form_is_a_4xx_with_the_reason(app_server, change, status, reason):
    form = {key: value for key, value in {**message_form(SID, PARTICIPANT, "hello"), **change}.items() if value is not None}
    response = app_server.post("/message", form)
    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert nothing_stored(app_server)


def test_an_oversized_request_is_413(app_server):
    form = message_form(SID, PARTICIPANT, "x" * 200_000)
    response = app_server.post("/message", form)
    assert response.status_code == 413
    assert nothing_stored(app_server)


@pytest.mark.parametrize("raw", [b"MessageSid=SM1&From=%2B15550006666&Body=%FF%FE", b"Body=\xff\xfe&From=x"])
def test_bytes_that_are_not_utf8_are_a_400(app_server, raw):
    response = app_server.client.post(
        "/message", content=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
    assert nothing_stored(app_server)


def test_a_body_that_is_not_a_form_is_415(app_server):
    response = app_server.client.post("/message", json=message_form(SID, PARTICIPANT, "hello"))
    assert response.status_code == 415
    assert nothing_stored(app_server)


def test_text_in_any_script_is_stored_exactly(app_server):
    text = "Привет 👋🏽 مرحبا — naïve “quotes” \u200b"
    assert app_server.post("/message", message_form(SID, PARTICIPANT, text)).status_code == 200
    wait_for(lambda: app_server.settled([SID]), what="the message processed")
    stored = next(i for i in app_server.store.iter_interactions(participant=PARTICIPANT) if i.id == SID)
    assert stored.text == text.strip()


def test_an_unknown_media_type_is_stored_and_answered(app_server, fake_twilio):
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    form = message_form(SID, PARTICIPANT, "", media=[(url, "application/x-never-heard-of-it")])
    assert app_server.post("/message", form).status_code == 200
    wait_for(lambda: app_server.settled([SID]), what="the message processed")
    stored = next(i for i in app_server.store.iter_interactions(participant=PARTICIPANT) if i.id == SID)
    assert [(m.url, m.content_type) for m in stored.media] == [(url, "application/x-never-heard-of-it")]
    assert fake_twilio.sent_to(PARTICIPANT)  # a polite reply went out


def test_wrong_methods_and_paths_are_4xx(app_server):
    assert app_server.client.get("/message").status_code == 405
    assert app_server.client.post("/nowhere").status_code == 404
