"""The golden table of answers (tests/golden/answers.yaml) against the offline rules and
against the OpenAI reader, the latter with the fake server replaying the recorded model
answers. Run with `-s` to see the rules' pass rate by question type and by language
(`python bench/golden.py` prints the same)."""

from __future__ import annotations

from collections import Counter

import pytest
from fake_openai import FakeOpenAI
from harness import shipped_flow
from golden_support import (
    DECLINED,
    EVENT_QUESTIONS,
    NOT_UNDERSTOOD,
    load,
    report,
    score_rules,
)
from openai_support import reader_for

from listener.ai.schemas import answer_schema
from listener.conversation.extraction import Extraction

GOLDEN = load()
MINIMUM_RULES_RATE = 0.95
LANGUAGES = tuple(shipped_flow().languages)
"""The languages the flow speaks: the table has answers in each."""
# The model path as the OpenAI reader reads: one schema made from each question's
# declaration (its value under the question's own key), a pick among events.
MODEL_CASES = GOLDEN.cases


def schema_name(case) -> str:
    if case.q in EVENT_QUESTIONS:
        return "PickAnswer"
    return answer_schema(GOLDEN.questions[case.q]).__name__


def test_the_table_is_broad_enough() -> None:
    """300 answers and more, every kind of question, the six languages, each case once."""
    kinds = Counter(GOLDEN.kind(case) for case in GOLDEN.cases)
    languages = Counter(case.lang for case in GOLDEN.cases)
    assert len(GOLDEN.cases) >= 300
    assert set(kinds) == {"text:name", "text:place", "text:any", "number", "choice", "yes_no", *EVENT_QUESTIONS}
    assert all(count >= 15 for count in kinds.values()), kinds
    assert all(languages[language] >= 20 for language in LANGUAGES), languages
    assert {case.q for case in GOLDEN.cases} >= {"name", "age", "gender", "region"}
    repeated = [key for key, count in Counter((case.q, case.text) for case in GOLDEN.cases).items() if count > 1]
    assert repeated == []
    gives = Counter(case.gives for case in GOLDEN.cases)
    assert gives[NOT_UNDERSTOOD] >= 40 and gives[DECLINED] >= 15


def test_every_language_the_flow_speaks_answers_every_shipped_question() -> None:
    """Each shipped language has its own answers to name, age, gender and region (numbers
    in words, the gender choices and their synonyms among them) and to a yes/no question."""
    count = Counter((case.lang, case.q) for case in GOLDEN.cases)
    thin = {(language, q): count[(language, q)] for language in LANGUAGES
            for q in ("name", "age", "gender", "region", "follow_up") if count[(language, q)] < 4}
    assert len(LANGUAGES) >= 6 and thin == {}, thin


def test_every_question_answer_has_a_model_reading_recorded() -> None:
    """What a good model answers, for each case of a question (the lead's reader replays it)."""
    for case in GOLDEN.cases:
        if case.q in EVENT_QUESTIONS:
            continue
        assert case.model is not None and set(case.model) == {"status", "value"}, case.label
        assert case.model["status"] in ("found", "not_found", "declined"), case.label


def test_the_rules_read_at_least_95_percent() -> None:
    score = score_rules(GOLDEN)
    print("\n" + report(score))
    assert score.rate >= MINIMUM_RULES_RATE, report(score)


def _recorded(case) -> dict:
    """The case's model reading in the shape of today's schema for its question."""
    if case.q in EVENT_QUESTIONS:
        return case.model
    return {"status": case.model["status"], case.q: case.model["value"]}


@pytest.fixture(scope="module")
def replaying():
    """One fake server replaying every recorded answer, and a reader talking to it."""
    with FakeOpenAI() as server:
        for case in MODEL_CASES:
            if case.model is not None:
                server.record(schema_name(case), case.text, _recorded(case))
        reader = reader_for(server)
        yield server, reader
        reader.close()


def _read_by_model(reader, case) -> Extraction:
    if case.q == "event_id":
        return reader.event_id(case.text, GOLDEN.known_ids)
    if case.q == "event_choice":
        return reader.choice(case.text, GOLDEN.offered)
    return reader.answer(GOLDEN.questions[case.q], case.text)


@pytest.mark.parametrize("case", MODEL_CASES, ids=[case.label for case in MODEL_CASES])
def test_openai(case, replaying) -> None:
    server, reader = replaying
    result = _read_by_model(reader, case)
    assert (result.status, result.value) == (case.expected.status, case.expected.value)
    asked = [r for r in server.chat_requests(schema_name(case)) if r.participant_text == case.text]
    if case.q not in EVENT_QUESTIONS:
        assert len(asked) == 1
        assert asked[0].json["store"] is False and asked[0].json["model"] == "test-chat-model"
    elif case.model is None:
        assert asked == [], "settled locally: the model must not be asked"
    assert server.misses == []
