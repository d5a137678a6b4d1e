"""The OpenAI composer against the fake server: short plain replies in the event's voice,
written after the commit, and the template whenever the model gives nothing usable."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from fake_openai import Answer
from openai_support import composer_for, fake  # noqa: F401

from listener.conversation.responding import MAX_CHARACTERS
from listener.models import ComposeRequest, EventConfig, OutboundReply

EVENT = EventConfig(
    event_id="TOWNHALL",
    event_name="Town Hall",
    event_location="Leeds Civic Hall",
    event_background="A consultation on the city's bus routes. Keep a friendly, neutral tone.",
    languages=["en", "es"],
)
TEMPLATE = "Thanks, noted."


def owed(text: str = "Los autobuses nocturnos no pasan por mi barrio.", reply_id: str = "SM1-r1",
         event_id: str = "TOWNHALL") -> OutboundReply:
    """A reply as the step commits it: the template, and what the composer needs."""
    return OutboundReply(
        id=reply_id, participant="+15550100001", text=TEMPLATE, in_reply_to="SM1",
        created_at=datetime.now(timezone.utc), event_id=event_id,
        compose=ComposeRequest(event_id=event_id, text=text, name="Lucía", count=3),
    )


def test_the_reply_is_written_from_the_event_and_the_participants_words(fake):
    fake.queue(Answer.text("Gracias, Lucía, lo hemos anotado."))
    assert composer_for(fake, [EVENT]).compose(owed()) == "Gracias, Lucía, lo hemos anotado."
    sent = fake.chat_requests()[0]
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json["store"] is False and sent.json["model"] == "test-chat-model"
    assert sent.json["max_completion_tokens"] > 0 and "stream" not in sent.json
    assert sent.participant_text == "Los autobuses nocturnos no pasan por mi barrio."
    for fact in ("Town Hall", "Leeds Civic Hall", "bus routes", "language named", "two short sentences"):
        assert fact in sent.system_text


def test_a_long_reply_is_cut_to_two_sentences_and_the_length_cap(fake):
    fake.queue(Answer.text("Thank you. Your point is recorded. We will read it carefully. Have a good day!"),
               Answer.text("Thanks " + "really " * 80 + "a lot."))
    composer = composer_for(fake, [EVENT])
    assert composer.compose(owed("one", "SM1-r1")) == "Thank you. Your point is recorded."
    long = composer.compose(owed("two", "SM2-r1"))
    assert len(long) <= MAX_CHARACTERS + 1 and long.endswith("…")


@pytest.mark.parametrize(
    "answer",
    [Answer.refuse(), Answer.text("   "), Answer.error(500), Answer.error(429)],
    ids=["refusal", "empty", "500", "429"],
)
def test_the_template_when_the_model_gives_nothing_usable(fake, answer):
    fake.always(answer)
    assert composer_for(fake, [EVENT], OPENAI_MAX_RETRIES=1).compose(owed()) == TEMPLATE


@pytest.mark.parametrize(
    "written",
    [
        "Thanks! Read more at http://evil.example/x now.",
        "Noted. Visit www.example.com for updates.",
        "Thanks, noted; write to help@example.org.",
        '{"reply": "Thanks", "status": "ok"}',
        "```json\n{\"a\": 1}\n```",
        "Thanks! [click here](evil.example.com/win) to claim a prize.",
    ],
    ids=["http link", "www link", "email", "JSON", "code block", "markdown link"],
)
def test_a_reply_with_a_link_or_data_is_replaced_by_the_template(fake, written):
    fake.always(Answer.text(written))
    assert composer_for(fake, [EVENT]).compose(owed()) == TEMPLATE


def test_markup_is_taken_out_and_a_5kb_reply_cut_to_two_plain_sentences(fake):
    long = "**Thank you**, Lucía! _Your point_ is recorded. " + "# More\n" + "- and more words. " * 300
    fake.always(Answer.text(long))
    written = composer_for(fake, [EVENT]).compose(owed())
    assert written == "Thank you, Lucía! Your point is recorded."
    fake.always(Answer.text("<b>Gracias</b> &amp; <i>anotado</i>."))
    assert composer_for(fake, [EVENT]).compose(owed(reply_id="SM9-r1")) == "Gracias & anotado."


def test_the_template_when_the_model_is_slow(fake):
    fake.always(Answer.sleep(3.0, Answer.text("Too late.")))
    started = time.monotonic()
    composer = composer_for(fake, [EVENT], OPENAI_DEADLINE_SECONDS=0.3)
    assert composer.compose(owed()) == TEMPLATE
    assert time.monotonic() - started < 2.5


def test_an_event_that_asks_for_templates_never_reaches_the_model(fake):
    composer = composer_for(fake, [EVENT.model_copy(update={"responses": "template"})])
    assert composer.compose(owed()) == TEMPLATE
    assert composer.compose(owed().model_copy(update={"compose": None})) == TEMPLATE
    assert fake.requests == []


def test_the_same_reply_composed_again_reads_the_same_text(fake):
    fake.queue(Answer.text("Noted, thank you."), Answer.text("Something else."))
    composer = composer_for(fake, [EVENT])
    assert composer.compose(owed()) == composer.compose(owed()) == "Noted, thank you."
    assert len(fake.chat_requests()) == 1


def test_the_reply_is_asked_in_the_participants_language_whatever_the_message_is_in(fake):
    """A participant spoken to in French who writes a line of English still gets French;
    a French reply that carries a link is still refused for the template."""
    fake.queue(Answer.text("Merci, Lucía, c'est bien noté."), Answer.text("Merci ! Voir https://example.test/plan"))
    composer = composer_for(fake, [EVENT])
    french = owed("The night buses skip my street.", "SM1-r1")
    french.compose = french.compose.model_copy(update={"language": "fr", "language_name": "français"})
    assert composer.compose(french) == "Merci, Lucía, c'est bien noté."
    assert "Write in the language whose BCP 47 tag is fr (français)." in fake.chat_requests()[0].system_text
    linked = owed("The night buses skip my street.", "SM2-r1")
    linked.compose = french.compose
    assert composer.compose(linked) == TEMPLATE
    english = fake.chat_requests()
    assert len(english) == 2 and "tag is fr" in english[1].system_text
