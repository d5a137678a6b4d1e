"""The OpenAI reader against the fake server: each failure of the model ends in the
model's valid value or in the rules' reading, never in an exception or a lost value."""

from __future__ import annotations

import time

import pytest
from fake_openai import Answer
from harness import shipped_questions
from openai_support import fake, reader_for  # noqa: F401

from listener.conversation.extraction import Choice, Extraction

QUESTIONS = shipped_questions()


class extractor_for:
    """The reader, asked the shipped questions by key (`.age(text)`)."""

    def __init__(self, fake, **overrides) -> None:
        self.reader = reader_for(fake, **overrides)

    def __getattr__(self, name: str):
        if name in QUESTIONS:
            return lambda text: self.reader.answer(QUESTIONS[name], text)
        return getattr(self.reader, name)


def test_a_structured_answer_is_parsed_into_the_typed_value(fake):
    fake.queue(Answer.json({"status": "found", "age": 41}))
    assert extractor_for(fake).age("forty one this spring") == Extraction.found(41)
    sent = fake.chat_requests()[0].json
    assert sent["model"] == "test-chat-model" and sent["store"] is False
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["messages"][-1] == {"role": "user", "content": "forty one this spring"}


def test_the_model_reads_what_the_rules_cannot(fake):
    # The rules find no age in this message; the model's valid reading is used.
    fake.queue(Answer.json({"status": "found", "age": 27}))
    assert extractor_for(fake).age("veintisiete") == Extraction.found(27)


@pytest.mark.parametrize(
    "answer",
    [
        Answer.refuse(),
        Answer.text("34, I think"),  # not JSON
        Answer.json({"status": "found", "age": "thirty-four"}),  # breaks the schema
        Answer.json({"status": "probably", "age": 34}),  # breaks the schema
        Answer.json({"status": "found", "age": 34}, finish_reason="length"),  # cut off
    ],
    ids=["refusal", "invalid JSON", "wrong type", "unknown status", "truncated"],
)
def test_an_unusable_answer_falls_back_to_the_rules(fake, answer):
    fake.queue(answer)
    assert extractor_for(fake, OPENAI_MAX_RETRIES=0).age("I'm 34") == Extraction.found(34)
    assert len(fake.chat_requests()) == 1


def test_a_refusal_on_a_message_the_rules_cannot_read_is_not_found(fake):
    fake.queue(Answer.refuse())
    assert extractor_for(fake).name("what time is it?").status == "not_found"


def test_a_value_the_rules_reject_is_never_kept(fake):
    fake.queue(Answer.json({"status": "found", "age": 130}), Answer.json({"status": "found", "region": "12345"}))
    extractor = extractor_for(fake)
    assert extractor.age("I am one hundred and thirty").status == "not_found"
    assert extractor.region("12345").status == "not_found"
    assert extractor.age("I am one hundred and thirty").status == "not_found"  # settled: not asked again
    assert len(fake.chat_requests()) == 2


def test_a_slow_model_times_out_and_the_rules_answer(fake):
    fake.always(Answer.sleep(3.0, Answer.json({"status": "found", "name": "Late"})))
    started = time.monotonic()
    found = extractor_for(fake, OPENAI_TIMEOUT_SECONDS=0.3, OPENAI_MAX_RETRIES=0).name("my name is Alex")
    assert found == Extraction.found("Alex")
    assert time.monotonic() - started < 2.5


def test_a_rate_limit_is_retried_with_backoff_then_succeeds(fake):
    fake.queue(Answer.error(429), Answer.error(429), Answer.json({"status": "found", "gender": "non-binary"}))
    assert extractor_for(fake, OPENAI_MAX_RETRIES=2).gender("enby") == Extraction.found("non-binary")
    assert len(fake.chat_requests()) == 3


def test_a_server_error_forever_ends_in_the_rules_after_the_retries(fake):
    fake.always(Answer.error(500))
    extractor = extractor_for(fake, OPENAI_MAX_RETRIES=2)
    assert extractor.region("I live in Leeds") == Extraction.found("Leeds")
    assert len(fake.chat_requests()) == 3  # the first try and two retries


def test_a_model_answer_is_cached_so_a_repeat_does_not_pay_twice(fake):
    fake.queue(Answer.json({"status": "found", "name": "Noor"}))
    extractor = extractor_for(fake)
    assert extractor.name("Noor here") == Extraction.found("Noor")
    assert extractor.name("Noor here") == Extraction.found("Noor")
    assert len(fake.chat_requests()) == 1


def test_a_failure_is_not_cached(fake):
    fake.queue(Answer.error(500), Answer.json({"status": "found", "name": "Noor"}))
    extractor = extractor_for(fake, OPENAI_MAX_RETRIES=0)
    said = "mostly people know me as Noor"
    assert extractor.name(said) == Extraction.not_found()  # the rules, this time
    assert extractor.name(said) == Extraction.found("Noor")  # the model, next time
    assert len(fake.chat_requests()) == 2


def test_event_ids_are_narrowed_locally_before_the_model_picks(fake):
    known = [f"EV{number:03d}" for number in range(300)] + ["HEALTH2026", "WEALTH2026"]
    fake.queue(Answer.json({"status": "found", "pick": "HEALTH2026"}))
    assert extractor_for(fake).event_id("helth 2026", known) == Extraction.found("HEALTH2026")
    offered = fake.chat_requests()[0].system_text
    listed = [known_id for known_id in known if known_id in offered]
    assert "HEALTH2026" in listed and 1 <= len(listed) <= 5


def test_an_exact_event_id_never_reaches_the_model(fake):
    extractor = extractor_for(fake)
    assert extractor.event_id("joining Quiet-Room now", ["QUIET-ROOM", "TOWNHALL"]) == Extraction.found("QUIET-ROOM")
    assert extractor.event_id("good morning", ["QUIET-ROOM", "TOWNHALL"]).status == "not_found"
    assert fake.requests == []


def test_a_numbered_choice_the_rules_miss_is_picked_among_the_options_only(fake):
    options = [Choice(number=1, event_id="CLIMATE24", name="Climate Assembly"),
               Choice(number=2, event_id="TOWNHALL", name="Town Hall")]
    fake.queue(Answer.json({"status": "found", "pick": "2"}), Answer.json({"status": "found", "pick": "OLDFAIR"}))
    extractor = extractor_for(fake)
    assert extractor.choice("the later session", options) == Extraction.found("TOWNHALL")
    assert extractor.choice("the fair", options).status == "not_found"
    assert extractor.choice("1", options) == Extraction.found("CLIMATE24")  # the rules alone
    assert len(fake.chat_requests()) == 2


def test_yes_and_no_in_words_the_rules_do_not_know(fake):
    fake.queue(Answer.json({"status": "found", "yes": True}), Answer.json({"status": "not_found", "yes": None}))
    extractor = extractor_for(fake)
    assert extractor.yes_no("let's do that, cámbiame") == Extraction.found(True)
    assert extractor.yes_no("what do you mean?").status == "not_found"
    assert extractor.yes_no("yes please") == Extraction.found(True)  # the rules alone
    assert len(fake.chat_requests()) == 2
