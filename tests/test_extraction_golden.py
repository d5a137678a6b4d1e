"""The golden table (tests/golden/extraction.yaml) against the offline rules and against the
OpenAI extractor, the latter with the fake server replaying the recorded model answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fake_openai import FakeOpenAI
from harness import shipped_questions
from openai_support import reader_for

from listener.ai.rules import RuleExtractor
from listener.conversation.extraction import Extraction

GOLDEN = yaml.safe_load((Path(__file__).parent / "golden" / "extraction.yaml").read_text(encoding="utf-8"))
CASES = GOLDEN["cases"]
QUESTIONS = shipped_questions()
KNOWN = GOLDEN["known_ids"]
SCHEMAS = {"name": "NameAnswer", "age": "AgeAnswer", "gender": "GenderAnswer", "region": "RegionAnswer",
           "event_id": "PickAnswer"}
IDS = [f"{case['field']}: {case['text']}" for case in CASES]


def extract(extractor, case: dict) -> Extraction:
    if case["field"] == "event_id":
        return extractor.event_id(case["text"], KNOWN)
    return extractor.answer(QUESTIONS[case["field"]], case["text"])


def check(result: Extraction, expected: dict) -> None:
    if "expect" in expected:
        assert (result.status, result.value) == ("found", expected["expect"])
    else:
        assert (result.status, result.value) == (expected["status"], None)


def test_the_table_is_broad_enough() -> None:
    fields = {case["field"] for case in CASES}
    assert len(CASES) >= 60 and fields == set(SCHEMAS)
    assert all(sum(case["field"] == field for case in CASES) >= 10 for field in fields)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rules(case: dict) -> None:
    check(extract(RuleExtractor(), case), case.get("offline", case))


@pytest.fixture(scope="module")
def replaying():
    """One fake server replaying every recorded answer, and an extractor talking to it."""
    with FakeOpenAI() as server:
        for case in CASES:
            if "model" in case:
                server.record(SCHEMAS[case["field"]], case["text"], case["model"])
        reader = reader_for(server)
        yield server, reader
        reader.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_openai(case: dict, replaying) -> None:
    server, extractor = replaying
    check(extract(extractor, case), case)
    asked = [r for r in server.chat_requests(SCHEMAS[case["field"]]) if r.participant_text == case["text"]]
    if "model" in case:
        assert len(asked) == 1
        assert asked[0].json["store"] is False and asked[0].json["model"] == "test-chat-model"
    else:
        assert asked == [], "settled locally: the model must not be asked"
    assert server.misses == []
