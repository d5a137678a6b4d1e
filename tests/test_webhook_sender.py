"""Replies longer than WhatsApp allows go out in parts, in order, through the real client."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from webhook_support import fake_twilio, make_settings  # noqa: F401

from listener.channel.sender import MAX_MESSAGE_CHARS, TwilioSender, split_text
from listener.models import OutboundReply, Outcome, ParticipantSnapshot
from listener.processing.delivery import Delivery, RetryPolicy

PARTICIPANT = "+15550008888"


@given(st.text(alphabet=st.sampled_from("ab .!?\n"), max_size=5000))
@settings(max_examples=200, deadline=None)
def test_split_text_keeps_every_word_within_the_limit(text):
    parts = split_text(text, limit=100)
    assert all(0 < len(part) <= 100 for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())  # nothing lost or added
    if all(len(word) <= 100 for word in text.split()):
        assert " ".join(parts).split() == text.split()  # and no word cut in two


def test_split_text_prefers_sentence_ends_then_spaces():
    sentence = "This sentence is exactly forty chars ok. "
    parts = split_text(sentence * 100)
    assert all(len(part) <= MAX_MESSAGE_CHARS for part in parts)
    assert all(part.endswith("ok.") for part in parts)
    words = split_text("word " * 1000)
    assert all(part.endswith("word") and len(part) <= MAX_MESSAGE_CHARS for part in words)
    assert split_text("short") == ["short"]


def test_a_long_reply_is_sent_in_parts_and_the_last_sid_kept(store, tmp_path, fake_twilio):
    text = " ".join(f"Sentence number {n} of a long reply." for n in range(150))
    assert len(text) > 2 * MAX_MESSAGE_CHARS
    reply = OutboundReply(id="SMlong-r1", participant=PARTICIPANT, text=text, in_reply_to="SMlong",
                          created_at=datetime.now(timezone.utc))
    snapshot = ParticipantSnapshot(participant=PARTICIPANT, state="new", version=1)
    store.commit(Outcome(message_sid="SMlong", snapshot=snapshot, expected_version=0, replies=[reply]))
    settings_ = make_settings(tmp_path / "unused.db", fake_twilio)

    async def deliver() -> None:
        sender = TwilioSender(settings_)
        try:
            await Delivery(store, sender, RetryPolicy.from_settings(settings_)).deliver(reply)
            await Delivery(store, sender, RetryPolicy.from_settings(settings_)).deliver(reply)  # already sent
        finally:
            await sender.close()

    asyncio.run(deliver())
    parts = fake_twilio.sent_to(PARTICIPANT)
    assert parts == split_text(text) and len(parts) >= 3
    assert " ".join(parts) == text
    stored = store.get_reply("SMlong-r1")
    assert (stored.status, stored.provider_sid) == ("sent", fake_twilio.messages[-1]["Sid"])


def test_a_long_reply_interrupted_by_an_outage_resumes_after_the_parts_sent(store, tmp_path, fake_twilio):
    text = " ".join(f"Sentence number {n} of a long reply." for n in range(150))
    reply = OutboundReply(id="SMcut-r1", participant=PARTICIPANT, text=text, in_reply_to="SMcut",
                          created_at=datetime.now(timezone.utc))
    snapshot = ParticipantSnapshot(participant=PARTICIPANT, state="new", version=1)
    store.commit(Outcome(message_sid="SMcut", snapshot=snapshot, expected_version=0, replies=[reply]))
    settings_ = make_settings(tmp_path / "unused.db", fake_twilio, send_max_attempts=2)
    fake_twilio.fail_next(2, 503, 20503, after=1)  # part 1 goes out, part 2 fails twice

    async def deliver_twice() -> tuple[bool, bool]:
        sender = TwilioSender(settings_)
        try:
            delivery = Delivery(store, sender, RetryPolicy.from_settings(settings_))
            return await delivery.deliver(reply), await delivery.deliver(reply)
        finally:
            await sender.close()

    first, second = asyncio.run(deliver_twice())
    assert (first, second) == (False, True)  # left pending, then sent
    assert fake_twilio.sent_to(PARTICIPANT) == split_text(text), "no part sent twice, none missing"
    assert store.get_reply("SMcut-r1").status == "sent"
