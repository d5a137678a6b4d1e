"""End to end over HTTP: signed webhooks in, the engine, replies out through the real
`twilio` client to the local fake Twilio, delivery statuses back."""

from __future__ import annotations

from webhook_support import (  # noqa: F401
    TWILIO_NUMBER,
    app_server,
    db_path,
    fake_twilio,
    message_form,
    start_app,
    wait_for,
)

PARTICIPANT = "+15550001111"


def test_a_whole_onboarding_through_signed_webhooks(app_server, fake_twilio):
    said = ["hi, I'm at CLIMATE24", "Alex", "34", "woman", "Bristol"]
    sids = []
    for number, text in enumerate(said, start=1):
        sid = f"SM{number:032d}"
        sids.append(sid)
        response = app_server.post("/message", message_form(sid, PARTICIPANT, text))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        assert response.text.endswith("<Response/>")
        wait_for(lambda: app_server.settled(sids), what=f"message {number} processed and answered")

    store = app_server.store
    snapshot = store.load_participant(PARTICIPANT)
    assert snapshot.state == "listening"
    profile = store.get_profile("CLIMATE24", PARTICIPANT)
    assert (profile["name"], profile["age"], profile["gender"], profile["region"]) == ("Alex", 34, "female", "Bristol")

    # Every reply the engine wrote reached Twilio through the real client, in order,
    # from the WhatsApp sender, and the outbox holds the SIDs Twilio gave.
    outbound = [i for i in store.iter_interactions(participant=PARTICIPANT) if i.direction == "out"]
    assert [i.text for i in outbound] == fake_twilio.sent_to(PARTICIPANT)
    assert any(text.startswith("What's your name") for text in fake_twilio.sent_to(PARTICIPANT))
    assert {m["From"] for m in fake_twilio.messages} == {f"whatsapp:{TWILIO_NUMBER}"}
    assert {m["StatusCallback"] for m in fake_twilio.messages} == {"https://listener.example.test/status"}
    replies = [store.get_reply(i.id) for i in outbound]
    assert [r.status for r in replies] == ["sent"] * len(replies)
    assert [r.provider_sid for r in replies] == [m["Sid"] for m in fake_twilio.messages]


def test_status_callbacks_record_delivery_and_errors(app_server, fake_twilio):
    app_server.post("/message", message_form("SM" + "1" * 32, PARTICIPANT, "hello"))
    wait_for(lambda: app_server.settled(["SM" + "1" * 32]) and fake_twilio.messages, what="a reply")
    provider_sid = fake_twilio.messages[0]["Sid"]

    delivered = {"MessageSid": provider_sid, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert app_server.post("/status", delivered).status_code == 204
    reply = app_server.store.get_reply(f"{'SM' + '1' * 32}-r1")
    assert (reply.status, reply.provider_sid) == ("delivered", provider_sid)

    failed = {"MessageSid": provider_sid, "MessageStatus": "undelivered", "ErrorCode": "63016",
              "ErrorMessage": "outside the allowed window"}
    assert app_server.post("/status", failed).status_code == 204
    reply = app_server.store.get_reply(f"{'SM' + '1' * 32}-r1")
    assert reply.status == "undelivered"
    assert reply.error.startswith("63016")

    # A status for a message we never sent, and an unsigned one, change nothing.
    assert app_server.post("/status", {"MessageSid": "SM" + "9" * 32, "MessageStatus": "read"}).status_code == 204
    assert app_server.post("/status", {"MessageSid": provider_sid, "MessageStatus": "read"}, sign=False).status_code == 403
    assert app_server.store.get_reply(f"{'SM' + '1' * 32}-r1").status == "undelivered"


def test_healthz_answers_when_the_store_does(app_server):
    response = app_server.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_trailing_slash_is_the_same_webhook(app_server):
    sid = "SM" + "2" * 32
    response = app_server.post("/message/", message_form(sid, PARTICIPANT, "hello"))
    assert response.status_code == 200
    assert app_server.store.inbound_status(sid) in ("pending", "done")
