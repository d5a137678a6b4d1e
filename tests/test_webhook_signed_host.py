"""Signatures are checked against the address Twilio called, never one a request names,
and a form Twilio's signature cannot pin down (a field twice) is refused.

A request Twilio signed for another app of the same account (same auth token) is a valid
signature for that app's URL: if the URL were rebuilt from `X-Forwarded-Host`, naming
that app's host there would get it accepted here."""

from __future__ import annotations

from urllib.parse import urlencode

from webhook_support import (  # noqa: F401 (fixtures)
    db_path,
    fake_twilio,
    message_form,
    signature,
    start_app,
)

PARTICIPANT = "+15550004141"
OTHER_APP = "https://other-app.example.test"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def _forged(path: str, form: dict) -> dict[str, str]:
    """Headers claiming the request was for the other app, with that app's valid signature."""
    return {"X-Forwarded-Host": "other-app.example.test", "X-Forwarded-Proto": "https",
            "X-Twilio-Signature": signature(path, form, base=OTHER_APP)}


def test_a_request_signed_for_another_app_is_refused_when_public_url_is_set(start_app):
    server = start_app()
    form = message_form("SM" + "f1" * 16, PARTICIPANT, "hello")
    response = server.post("/message", form, sign=False, headers=_forged("/message", form))
    assert response.status_code == 403
    assert server.store.inbound_status(form["MessageSid"]) is None
    # the same message signed for this app's PUBLIC_URL is accepted
    assert server.post("/message", form).status_code == 200
    assert server.store.inbound_status(form["MessageSid"]) is not None


def test_without_public_url_x_forwarded_host_is_not_believed(start_app):
    """Outside production PUBLIC_URL may be unset: the URL is then this request's own Host
    and the scheme uvicorn accepted from a trusted proxy, and X-Forwarded-Host is ignored."""
    server = start_app(public_url=None)
    form = message_form("SM" + "f2" * 16, PARTICIPANT, "hello")
    for path in ("/message", "/status"):
        response = server.post(path, form, sign=False, headers=_forged(path, form))
        assert response.status_code == 403, path
    assert server.store.inbound_status(form["MessageSid"]) is None
    assert server.store.load_participant(PARTICIPANT) is None


def _two_bodies(sid: str) -> tuple[list[tuple[str, str]], str]:
    """A form carrying `Body` twice, with the signature Twilio gave a message whose one
    `Body` was "agreedBodynot agreed": the scheme concatenates names and (sorted) values
    without separators, so both forms sign to the same string."""
    genuine = message_form(sid, PARTICIPANT, "agreedBodynot agreed")
    pairs = [(name, value) for name, value in genuine.items() if name != "Body"]
    pairs += [("Body", "agreed"), ("Body", "not agreed")]
    return pairs, signature("/message", genuine)


def test_a_signed_form_with_two_body_fields_is_400_and_records_nothing(start_app):
    server = start_app()
    sid = "SM" + "f3" * 16
    pairs, signed = _two_bodies(sid)
    response = server.client.post("/message", content=urlencode(pairs),
                                  headers={**FORM_TYPE, "X-Twilio-Signature": signed})
    assert response.status_code == 400
    assert "'Body' appears more than once" in response.json()["detail"]
    assert server.store.inbound_status(sid) is None
    assert server.store.load_participant(PARTICIPANT) is None
    assert list(server.store.iter_interactions(participant=PARTICIPANT)) == []


def test_a_repeated_status_field_is_400(start_app):
    server = start_app()
    pairs = [("MessageSid", "SM" + "f4" * 16), ("MessageStatus", "delivered"), ("MessageStatus", "failed")]
    signed = signature("/status", {"MessageSid": "SM" + "f4" * 16, "MessageStatus": "deliveredMessageStatusfailed"})
    response = server.client.post("/status", content=urlencode(pairs), headers={**FORM_TYPE, "X-Twilio-Signature": signed})
    assert response.status_code == 400
    assert "MessageStatus" in response.json()["detail"]

