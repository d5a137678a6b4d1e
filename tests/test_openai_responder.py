"""The OpenAI responder against the fake server: short replies in the event's voice, and
the graph's template whenever the model cannot give one in time."""

from __future__ import annotations

import time

import pytest
from fake_openai import Answer
from openai_support import fake, settings_for  # noqa: F401

from listener.ai.client import sync_client
from listener.ai.responder import OpenAIResponder
from listener.conversation.responding import MAX_CHARACTERS, AckRequest
from listener.models import EventConfig

EVENT = EventConfig(
    event_id="TOWNHALL",
    event_name="Town Hall",
    event_location="Leeds Civic Hall",
    event_background="A consultation on the city's bus routes. Keep a friendly, neutral tone.",
    languages=["en", "es"],
)
TEMPLATE = "Thanks, noted."


def responder_for(fake, **overrides) -> OpenAIResponder:
    settings = settings_for(fake, **overrides)
    return OpenAIResponder(sync_client(settings), settings.openai_model)


def request(text: str = "Los autobuses nocturnos no pasan por mi barrio.", event: EventConfig = EVENT) -> AckRequest:
    return AckRequest(text=text, event=event, name="Lucía", count=3, template=TEMPLATE)


def test_the_reply_is_written_from_the_event_and_the_participants_words(fake):
    fake.queue(Answer.text("Gracias, Lucía, lo hemos anotado."))
    assert responder_for(fake).acknowledge(request()) == "Gracias, Lucía, lo hemos anotado."
    sent = fake.chat_requests()[0]
    assert sent.json["store"] is False and sent.json["model"] == "test-chat-model"
    assert sent.participant_text == "Los autobuses nocturnos no pasan por mi barrio."
    for fact in ("Town Hall", "Leeds Civic Hall", "bus routes", "same language", "two short sentences"):
        assert fact in sent.system_text


def test_a_long_reply_is_cut_to_two_sentences_and_the_length_cap(fake):
    fake.queue(Answer.text("Thank you. Your point is recorded. We will read it carefully. Have a good day!"),
               Answer.text("Thanks " + "really " * 80 + "a lot."))
    responder = responder_for(fake)
    assert responder.acknowledge(request("one")) == "Thank you. Your point is recorded."
    long = responder.acknowledge(request("two"))
    assert len(long) <= MAX_CHARACTERS + 1 and long.endswith("…")


@pytest.mark.parametrize(
    "answer",
    [Answer.refuse(), Answer.text("   "), Answer.error(500), Answer.error(429)],
    ids=["refusal", "empty", "500", "429"],
)
def test_the_template_when_the_model_gives_nothing_usable(fake, answer):
    fake.always(answer)
    assert responder_for(fake, OPENAI_MAX_RETRIES=1).acknowledge(request()) == TEMPLATE


def test_the_template_when_the_model_is_slow(fake):
    fake.always(Answer.sleep(3.0, Answer.text("Too late.")))
    started = time.monotonic()
    assert responder_for(fake, OPENAI_TIMEOUT_SECONDS=0.3, OPENAI_MAX_RETRIES=0).acknowledge(request()) == TEMPLATE
    assert time.monotonic() - started < 2.5


def test_an_event_that_asks_for_templates_never_reaches_the_model(fake):
    responder = responder_for(fake)
    assert responder.acknowledge(request(event=EVENT.model_copy(update={"responses": "template"}))) == TEMPLATE
    assert responder.acknowledge(request(event=EVENT.model_copy(update={"responses": "silent"}))) is None
    assert fake.requests == []


def test_the_same_message_again_reuses_the_reply(fake):
    fake.queue(Answer.text("Noted, thank you."))
    responder = responder_for(fake)
    assert responder.acknowledge(request()) == responder.acknowledge(request()) == "Noted, thank you."
    assert len(fake.chat_requests()) == 1
