"""Replies reach a participant once, whatever Twilio's API does: answers after the
deadline, drops the connection after reading the request, rate-limits, or the process
that sent is killed before it recorded the send. Through the real path: the app served by
uvicorn (or `uvicorn app:app` in a child process), the real `twilio` client, the fake
Twilio as a local HTTP server, SQLite.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fake_openai import Answer, FakeOpenAI, Request
from fake_twilio import FakeTwilio
from reliability_support import ServerProcess, free_port, server_env
from webhook_support import (  # noqa: F401
    db_path,
    fake_twilio,
    make_settings,
    message_form,
    signature,
    start_app,
    wait_for,
)

from listener.channel.sender import TwilioSender
from listener.models import OutboundReply, Outcome, ParticipantSnapshot
from listener.processing.delivery import Delivery, RetryPolicy
from listener.store.sqlite import SQLiteStore

PARTICIPANT = "+15550007777"
JOIN = "hi, I'm at TOWNHALL"


def owed(store: SQLiteStore, participant: str) -> list[OutboundReply]:
    return [store.get_reply(i.id) for i in store.iter_interactions(participant=participant) if i.direction == "out"]


def received(twilio: FakeTwilio, participant: str) -> Counter[str]:
    return Counter(twilio.sent_to(participant))


def test_a_twilio_answering_after_the_deadline_reaches_the_participant_once_across_two_processes(
    start_app, fake_twilio
):
    """Two app instances on one SQLite file, a claim of 2 s, a Twilio that accepts the
    first send and answers it after 4 s. Without a deadline the sender waited past its
    claim and the other instance's recovery sent the reply again."""
    settings = dict(send_claim_seconds=2, send_timeout_seconds=0.5, recovery_interval_seconds=0.2)
    first = start_app(**settings)
    start_app(**settings)  # the second process: its recovery sweeps look for unsent replies
    fake_twilio.answer_late(4)
    sid = "SM" + "1" * 32
    assert first.post("/message", message_form(sid, PARTICIPANT, JOIN)).status_code == 200
    wait_for(lambda: first.settled([sid]), timeout=20, what="the replies to be recorded")
    time.sleep(4.5)  # past the late answer and past two claims: nobody sends it again

    replies = owed(first.store, PARTICIPANT)
    assert replies and all(reply.status == "sent" for reply in replies)
    assert received(fake_twilio, PARTICIPANT) == Counter(reply.text for reply in replies)
    assert fake_twilio.list_requests, "the unknown outcome was looked up in the message log"
    assert len(fake_twilio.attempts) == len(replies)  # one request each: the late one was found, not resent
    assert {reply.provider_sid for reply in replies} == {m["Sid"] for m in fake_twilio.messages}


def test_a_connection_dropped_after_twilio_read_the_request_is_looked_up_not_resent(start_app, fake_twilio):
    server = start_app()
    fake_twilio.drop_after_accept()
    sid = "SM" + "2" * 32
    assert server.post("/message", message_form(sid, PARTICIPANT, JOIN)).status_code == 200
    wait_for(lambda: server.settled([sid]), what="the replies to be recorded")

    replies = owed(server.store, PARTICIPANT)
    assert replies and all(reply.status == "sent" for reply in replies)
    assert received(fake_twilio, PARTICIPANT) == Counter(reply.text for reply in replies)
    assert len(fake_twilio.attempts) == len(replies)
    assert fake_twilio.list_requests, "the unknown outcome was looked up in the message log"
    first = fake_twilio.messages[0]
    assert next(r for r in replies if r.text == first["Body"]).provider_sid == first["Sid"]


def test_a_server_killed_after_twilio_accepted_and_before_the_store_recorded_does_not_send_again(
    db_path, fake_twilio, tmp_path
):
    """`uvicorn app:app`, SIGKILLed while Twilio holds the answer to a send it accepted;
    the restarted server takes the reply over once the claim lapses and finds it sent."""
    env = server_env(db_path, fake_twilio, SEND_CLAIM_SECONDS="4", SEND_TIMEOUT_SECONDS="3",
                     RECOVERY_INTERVAL_SECONDS="0.3", RECOVERY_GRACE_SECONDS="0")
    port = free_port()
    fake_twilio.answer_late(30)
    store = SQLiteStore(db_path)
    servers = [ServerProcess(env, port, tmp_path / "server.log").start()]
    try:
        form = message_form("SM" + "3" * 32, PARTICIPANT, JOIN)
        answer = httpx.post(f"http://127.0.0.1:{port}/message", data=form,
                            headers={"X-Twilio-Signature": signature("/message", form)}, timeout=5, trust_env=False)
        assert answer.status_code == 200
        wait_for(lambda: fake_twilio.messages, what="Twilio to accept the first reply")
        servers[0].kill()
        accepted = fake_twilio.messages[0]
        held = next(r for r in owed(store, PARTICIPANT) if r.text == accepted["Body"])
        assert held.status == "sending" and held.provider_sid is None  # the store never heard back

        servers.append(ServerProcess(env, port, tmp_path / "server.log").start())
        wait_for(lambda: all(r.status == "sent" for r in owed(store, PARTICIPANT)), timeout=30,
                 what="the restarted server to settle the replies")
    finally:
        for server in servers:
            server.stop()
    replies = owed(store, PARTICIPANT)
    store.close()
    assert received(fake_twilio, PARTICIPANT) == Counter(reply.text for reply in replies)
    assert next(r for r in replies if r.id == held.id).provider_sid == accepted["Sid"]
    assert fake_twilio.list_requests


def test_a_composed_reply_sent_before_a_kill_is_found_though_composed_anew(db_path, fake_twilio, tmp_path):
    """TOWNHALL's acknowledgements are written by the model after the commit. Twilio
    accepts one and the server is SIGKILLed before recording it; after the restart the
    reply is composed again, in other words, so its text is not in Twilio's log. The
    message sent to the participant since the reply was made, and no other reply's, is
    recognised as it: not sent again."""
    composed = {"text": "Thank you, that goes to the organisers."}

    def answer(request: Request) -> Answer:
        if request.schema_name:
            return Answer.json({"status": "found", "name": "Ada"})
        return Answer.text(composed["text"])

    with FakeOpenAI() as model:
        model.respond_with(answer)
        env = server_env(db_path, fake_twilio, model.base_url, SEND_CLAIM_SECONDS="4", SEND_TIMEOUT_SECONDS="3",
                         RECOVERY_INTERVAL_SECONDS="0.3", RECOVERY_GRACE_SECONDS="0", OPENAI_MAX_RETRIES="0")
        port = free_port()
        store = SQLiteStore(db_path)
        servers = [ServerProcess(env, port, tmp_path / "server.log").start()]

        def post(sid: str, body: str) -> None:
            form = message_form(sid, PARTICIPANT, body)
            answer = httpx.post(f"http://127.0.0.1:{port}/message", data=form, timeout=5, trust_env=False,
                                headers={"X-Twilio-Signature": signature("/message", form)})
            assert answer.status_code == 200

        try:
            post("SMjoin" + "1" * 28, "TOWNHALL")
            post("SMjoin" + "2" * 28, "Ada")
            wait_for(lambda: len(owed(store, PARTICIPANT)) >= 3
                     and all(r.status == "sent" for r in owed(store, PARTICIPANT)), timeout=20,
                     what="the onboarding replies")
            onboarding = len(fake_twilio.sent_to(PARTICIPANT))
            fake_twilio.answer_late(30)
            sid = "SMtalk" + "3" * 28
            post(sid, "the square needs more benches")
            wait_for(lambda: len(fake_twilio.messages) > onboarding, what="Twilio to accept the acknowledgement")
            servers[0].kill()
            reply = store.get_reply(f"{sid}-r1")
            assert reply.compose is not None and reply.status == "sending" and reply.provider_sid is None

            composed["text"] = "Noted with thanks, keep them coming."  # the model words it differently now
            servers.append(ServerProcess(env, port, tmp_path / "server.log").start())
            wait_for(lambda: store.get_reply(f"{sid}-r1").status == "sent", timeout=30, what="the reply to be settled")
        finally:
            for server in servers:
                server.stop()
        compositions = [r for r in model.chat_requests() if not r.schema_name
                        and r.participant_text == "the square needs more benches"]
        assert len(compositions) == 2, "composed before the kill and again after the restart"
    accepted = fake_twilio.messages[onboarding]
    assert fake_twilio.sent_to(PARTICIPANT)[onboarding:] == ["Thank you, that goes to the organisers."]
    assert store.get_reply(f"{sid}-r1").provider_sid == accepted["Sid"]
    store.close()


@pytest.mark.parametrize("retry_after", [None, 1])
def test_a_429_storm_slows_every_sender_and_loses_no_reply(start_app, fake_twilio, retry_after):
    """For 2 s Twilio answers every send 429. Senders pause together and send one probe
    at a time, instead of each reply retrying on its own; afterwards every reply goes out
    once."""
    concurrency = 8
    server = start_app(send_concurrency=concurrency, send_retry_base_seconds=0.2, send_retry_max_seconds=1,
                       recovery_interval_seconds=0.5)
    numbers = [f"+1555200{index:04d}" for index in range(24)]
    sids = [f"SM{index:032d}" for index in range(len(numbers))]
    fake_twilio.rate_limit_for(2.0, retry_after=retry_after)
    for sid, number in zip(sids, numbers):
        assert server.post("/message", message_form(sid, number, JOIN)).status_code == 200
    wait_for(lambda: server.settled(sids), timeout=60, what="every reply to go out after the storm")

    refused = sum(1 for _, status in fake_twilio.attempt_times if status == 429)
    replies = [reply for number in numbers for reply in owed(server.store, number)]
    assert all(reply.status == "sent" for reply in replies)
    for number in numbers:
        assert received(fake_twilio, number) == Counter(r.text for r in owed(server.store, number))
    # One wave (as many as may be in flight) and then about one probe per pause; each
    # reply retrying on its own would be several 429s per reply.
    assert 0 < refused <= 2 * concurrency + 8, refused
    assert refused < len(replies)


def test_a_reply_held_by_this_process_is_sent_without_a_claim_read(store, tmp_path, fake_twilio):
    """A reply the commit wrote already claimed by this process goes straight to Twilio.
    (The stored record says another sender holds it: a claim read would have left it.)"""
    settings = make_settings(tmp_path / "unused.db", fake_twilio)

    async def deliver() -> bool:
        sender = TwilioSender(settings)
        try:
            delivery = Delivery(store, sender, RetryPolicy.from_settings(settings))
            now = datetime.now(timezone.utc)
            reply = OutboundReply(id="SMheld-r1", participant=PARTICIPANT, text="Noted, thank you.",
                                  in_reply_to="SMheld", created_at=now)
            snapshot = ParticipantSnapshot(participant=PARTICIPANT, state="new", version=1)
            store.commit(Outcome(message_sid="SMheld", snapshot=snapshot, expected_version=0, replies=[reply]))
            assert store.claim_reply(reply.id, 60, "another-process") is not None
            held = reply.model_copy(update={  # as the worker stamps a reply before its commit
                "status": "sending", "claimed_by": delivery.claimant,
                "claimed_until": now + timedelta(seconds=delivery.policy.claim_seconds),
            })
            return await delivery.deliver(held)
        finally:
            await sender.close()

    assert asyncio.run(deliver()) is True
    assert fake_twilio.sent_to(PARTICIPANT) == ["Noted, thank you."]
    stored = store.get_reply("SMheld-r1")
    assert (stored.status, stored.provider_sid) == ("sent", fake_twilio.messages[0]["Sid"])


def test_a_stale_copy_of_a_reply_this_process_sent_is_not_sent_again(store, tmp_path, fake_twilio):
    """A copy read before the send was recorded (a recovery sweep's, say) still says this
    process holds it; delivered again, it must not go out a second time."""
    settings = make_settings(tmp_path / "unused.db", fake_twilio)

    async def deliver_twice() -> tuple[bool, bool]:
        sender = TwilioSender(settings)
        try:
            delivery = Delivery(store, sender, RetryPolicy.from_settings(settings))
            now = datetime.now(timezone.utc)
            held = OutboundReply(id="SMstale-r1", participant=PARTICIPANT, text="Noted, thank you.",
                                 in_reply_to="SMstale", created_at=now, status="sending", claimed_by=delivery.claimant,
                                 claimed_until=now + timedelta(seconds=delivery.policy.claim_seconds))
            snapshot = ParticipantSnapshot(participant=PARTICIPANT, state="new", version=1)
            store.commit(Outcome(message_sid="SMstale", snapshot=snapshot, expected_version=0, replies=[held]))
            return await delivery.deliver(held), await delivery.deliver(held)
        finally:
            await sender.close()

    assert asyncio.run(deliver_twice()) == (True, True)
    assert fake_twilio.sent_to(PARTICIPANT) == ["Noted, thank you."]
    assert store.get_reply("SMstale-r1").status == "sent"
