"""`listener doctor` against Twilio and OpenAI: the official clients talk to the local fakes
(`FakeTwilioAccount`, `FakeOpenAIModels`), which answer as the real APIs do, including
401s, unknown models, a webhook pointing elsewhere, and a server that never answers."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from doctor_support import (
    NUMBER,
    PUBLIC_URL,
    only,
    production,
    settings_for,
    silent_port,
    verdicts,
)
from fake_openai import Answer
from fake_openai_models import API_KEY, FakeOpenAIModels
from fake_twilio_numbers import FakeTwilioAccount

from listener.operators.doctor import Verdict
from listener.operators.doctor.openai_models import check_openai
from listener.operators.doctor.twilio_account import check_twilio, same_webhook

OK, SKIPPED, WARNING, BLOCKER = Verdict.OK, Verdict.SKIPPED, Verdict.WARNING, Verdict.BLOCKER


@pytest.fixture
def twilio():
    with FakeTwilioAccount() as fake:
        yield fake


@pytest.fixture
def model():
    with FakeOpenAIModels() as fake:
        yield fake


# Twilio ----------------------------------------------------------------------------------


def test_working_credentials_and_a_webhook_on_public_url_pass(tmp_path, twilio):
    twilio.add_number(NUMBER, sms_url=f"{PUBLIC_URL}/message#rc=3&rp=all")
    twilio.add_number("+15550008888", sms_url="https://other.example.org/message")
    findings = check_twilio(production(tmp_path, twilio.url), timeout=5)
    assert [(f.check, f.verdict) for f in findings] == [
        ("twilio.account", OK),
        ("twilio.number", OK),
        ("twilio.status_callback", OK),
    ]
    lookup = urlsplit(twilio.reads[-1])
    assert lookup.path.endswith("/IncomingPhoneNumbers.json")
    assert parse_qs(lookup.query)["PhoneNumber"] == [NUMBER]
    assert f"{PUBLIC_URL}/status" in only(findings, "twilio.status_callback").found


def test_bad_credentials_block_and_say_where_to_copy_them(tmp_path, twilio):
    findings = check_twilio(production(tmp_path, twilio.url, twilio_auth_token="rotated-token"), timeout=5)
    account = only(findings, "twilio.account")
    assert account.verdict == BLOCKER and "401" in account.found
    assert "Account info" in account.action
    assert verdicts(findings, "twilio.number") == [SKIPPED]


def test_a_suspended_account_blocks(tmp_path, twilio):
    twilio.status = "suspended"
    assert verdicts(check_twilio(production(tmp_path, twilio.url), timeout=5), "twilio.account") == [BLOCKER]


def test_a_webhook_pointing_elsewhere_blocks_and_names_both_addresses(tmp_path, twilio):
    twilio.add_number(NUMBER, sms_url="https://old-listener.herokuapp.com/message")
    finding = only(check_twilio(production(tmp_path, twilio.url), timeout=5), "twilio.number")
    assert finding.verdict == BLOCKER
    assert "https://old-listener.herokuapp.com/message" in finding.found and f"{PUBLIC_URL}/message" in finding.found
    assert f"{PUBLIC_URL}/message" in finding.action


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"sms_url": None}, BLOCKER),
        ({"sms_url": f"{PUBLIC_URL}/message", "sms_method": "GET"}, BLOCKER),
        ({"sms_url": "https://demo.twilio.com/welcome/sms/", "sms_application_sid": "AP" + "1" * 32}, WARNING),
        ({"sms_url": f"{PUBLIC_URL.upper()}/message/"}, OK),
    ],
    ids=["no-webhook", "get", "twiml-app", "case-and-slash"],
)
def test_the_webhook_must_post_to_public_url(tmp_path, twilio, fields, verdict):
    twilio.add_number(NUMBER, **fields)
    assert verdicts(check_twilio(production(tmp_path, twilio.url), timeout=5), "twilio.number") == [verdict]


def test_a_number_not_on_the_account_warns(tmp_path, twilio):
    twilio.add_number("+15550008888", sms_url=f"{PUBLIC_URL}/message")
    finding = only(check_twilio(production(tmp_path, twilio.url), timeout=5), "twilio.number")
    assert finding.verdict == WARNING and "TWILIO_NUMBER" in finding.action


def test_the_sandbox_webhook_cannot_be_read_so_the_doctor_says_what_to_check(tmp_path, twilio):
    findings = check_twilio(production(tmp_path, twilio.url, twilio_number="whatsapp:+14155238886"), timeout=5)
    finding = only(findings, "twilio.number")
    assert finding.verdict == WARNING and "sandbox" in finding.found
    assert f"{PUBLIC_URL}/message" in finding.action
    assert not any("IncomingPhoneNumbers" in path for path in twilio.reads)


def test_a_malformed_number_blocks(tmp_path, twilio):
    findings = check_twilio(production(tmp_path, twilio.url, twilio_number="whatsapp:0155500"), timeout=5)
    assert verdicts(findings, "twilio.number") == [BLOCKER]


def test_without_credentials_twilio_is_skipped(tmp_path):
    assert [f.verdict for f in check_twilio(settings_for(tmp_path), timeout=5)] == [SKIPPED]


def test_a_twilio_that_never_answers_blocks_within_the_deadline(tmp_path):
    with silent_port() as hung:
        started = time.monotonic()
        findings = check_twilio(production(tmp_path, hung), timeout=1.0)
        elapsed = time.monotonic() - started
    assert verdicts(findings, "twilio.account") == [BLOCKER]
    assert "could not reach Twilio" in only(findings, "twilio.account").found
    assert elapsed < 10


def test_webhook_addresses_compare_without_fragment_case_or_trailing_slash():
    assert same_webhook("HTTPS://Listener.example.org/message/#rc=2", "https://listener.example.org/message")
    assert not same_webhook("https://listener.example.org/messages", "https://listener.example.org/message")
    assert not same_webhook("http://listener.example.org/message", "https://listener.example.org/message")


# OpenAI ----------------------------------------------------------------------------------


def _openai(tmp_path, model: FakeOpenAIModels, **overrides):
    return settings_for(tmp_path, **{"openai_api_key": API_KEY, "openai_base_url": model.base_url, **overrides})


def test_a_working_key_existing_models_and_structured_outputs_pass(tmp_path, model):
    model.queue(Answer.json({"ready": True}))
    findings = check_openai(_openai(tmp_path, model), timeout=5)
    assert [(f.check, f.verdict) for f in findings] == [
        ("openai.model", OK),
        ("openai.structured_outputs", OK),
        ("openai.transcribe_model", OK),
    ]
    assert model.model_reads == ["gpt-4o-mini", "gpt-4o-mini-transcribe"]
    (probe,) = model.chat_requests()
    assert probe.json["response_format"]["type"] == "json_schema" and probe.json["store"] is False


def test_a_bad_key_blocks(tmp_path, model):
    findings = check_openai(_openai(tmp_path, model, openai_api_key="sk-revoked"), timeout=5)
    assert [(f.check, f.verdict) for f in findings] == [("openai.key", BLOCKER)]
    assert "401" in findings[0].found


def test_an_unknown_model_blocks_and_names_the_setting(tmp_path, model):
    findings = check_openai(_openai(tmp_path, model, openai_model="gpt-nonexistent"), timeout=5)
    assert [(f.check, f.verdict) for f in findings] == [("openai.model", BLOCKER)]
    assert "OPENAI_MODEL 'gpt-nonexistent'" in findings[0].found
    assert model.chat_requests() == []


def test_a_model_that_refuses_structured_outputs_blocks(tmp_path, model):
    model.queue(
        Answer(
            status=400,
            body={
                "error": {
                    "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                    "type": "invalid_request_error",
                    "param": "response_format",
                    "code": None,
                }
            },
        )
    )
    finding = only(check_openai(_openai(tmp_path, model), timeout=5), "openai.structured_outputs")
    assert finding.verdict == BLOCKER and "json_schema" in finding.found


def test_an_unknown_transcription_model_only_warns(tmp_path, model):
    model.queue(Answer.json({"ready": True}))
    findings = check_openai(_openai(tmp_path, model, openai_transcribe_model="whisper-0"), timeout=5)
    assert verdicts(findings, "openai.transcribe_model") == [WARNING]
    assert "untranscribed" in only(findings, "openai.transcribe_model").found


def test_a_model_that_never_answers_warns_within_the_deadline(tmp_path, model):
    model.queue(Answer.sleep(30, then=Answer.json({"ready": True})))
    started = time.monotonic()
    findings = check_openai(_openai(tmp_path, model), timeout=1.0)
    elapsed = time.monotonic() - started
    assert verdicts(findings, "openai.structured_outputs") == [WARNING]
    assert elapsed < 10


def test_without_a_key_openai_is_skipped(tmp_path):
    assert [f.verdict for f in check_openai(settings_for(tmp_path), timeout=5)] == [SKIPPED]
