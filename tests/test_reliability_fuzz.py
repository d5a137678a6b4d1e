"""Fuzzing the webhook: whatever a signed form holds, no 500, no crash, nothing accepted lost.

Two generators, both signing every request as Twilio would so the forms reach validation
and the inbox (an unsigned form stops at the 403):

* schemathesis, from an OpenAPI description of the two routes Twilio calls. The app
  publishes no OpenAPI document (Twilio needs none, and the routes are kept out of the
  schema), so the description is written here, from Twilio's documented fields;
* hypothesis, for what a schema does not say well: any Unicode (emoji, RTL, combining
  marks), bodies up to 10 kB, missing fields, many media.

After the examples the worker must have processed every accepted message, filed it once
as an interaction, and left every participant in a waiting state.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import schemathesis
from harness import shipped_flow
from hypothesis import HealthCheck, given, settings
from reliability_support import FULL
from webhook_support import (  # noqa: F401
    AppServer,
    db_path,
    fake_twilio,
    message_form,
    signature,
    start_app,
    wait_for,
)

pytestmark = pytest.mark.reliability

EXAMPLES = 1000 if FULL else 60
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_FORM_FIELD = {"type": "string"}
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "listener webhooks (as Twilio calls them)", "version": "1"},
    "paths": {
        "/message": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["MessageSid", "From"],
                        "properties": {
                            "MessageSid": {"type": "string", "pattern": "^SM[0-9a-f]{32}$"},
                            "AccountSid": _FORM_FIELD,
                            "From": {"type": "string", "pattern": "^whatsapp:\\+[1-9][0-9]{6,14}$"},
                            "To": _FORM_FIELD,
                            "Body": {"type": "string", "maxLength": 5000},
                            "NumMedia": {"type": "string", "pattern": "^[0-9]{1,2}$"},
                            "MediaUrl0": _FORM_FIELD,
                            "MediaContentType0": _FORM_FIELD,
                            "ProfileName": _FORM_FIELD,
                            "WaId": _FORM_FIELD,
                        },
                    }}},
                },
                "responses": {"200": {"description": "recorded (or recorded before)"},
                              "4XX": {"description": "refused, with the reason"}},
            }
        },
        "/status": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["MessageSid", "MessageStatus"],
                        "properties": {
                            "MessageSid": {"type": "string", "pattern": "^SM[0-9a-f]{32}$"},
                            "MessageStatus": {"type": "string", "enum": [
                                "queued", "sent", "delivered", "read", "failed", "undelivered", "bogus"]},
                            "ErrorCode": _FORM_FIELD,
                            "ErrorMessage": _FORM_FIELD,
                        },
                    }}},
                },
                "responses": {"204": {"description": "recorded"},
                              "4XX": {"description": "refused, with the reason"}},
            }
        },
    },
}

schema = schemathesis.openapi.from_dict(OPENAPI)


def accepted_are_kept(server: AppServer, accepted: set[str]) -> None:
    """Every accepted message processed, filed exactly once, its participant at rest."""
    wait_for(lambda: server.settled(sorted(accepted)), timeout=60, what="the accepted messages to be processed")
    filed = [i.id for i in server.store.iter_interactions() if i.direction == "in"]
    assert sorted(sid for sid in filed if sid in accepted) == sorted(accepted)
    assert len(filed) == len(set(filed))
    resting = {name for name, state in shipped_flow().graph.states.items() if not state.routing}
    participants = {i.participant for i in server.store.iter_interactions()}
    for participant in participants:
        assert server.store.load_participant(participant).state in resting


@pytest.fixture
def fuzz_server(start_app) -> AppServer:
    return start_app()


@schema.parametrize()
@FUZZ_SETTINGS
def test_schemathesis_signed_forms_get_no_500(case, fuzz_server):
    form = {key: str(value) for key, value in (case.body or {}).items()} if isinstance(case.body, dict) else {}
    if form:
        case.body = form
    response = case.call(base_url=fuzz_server.url, headers={"X-Twilio-Signature": signature(case.path, form)})
    assert response.status_code < 500, response.text
    if case.path == "/message" and case.method == "POST" and response.status_code == 200:
        assert fuzz_server.store.inbound_status(form["MessageSid"]) is not None


def unicode_text(max_size: int) -> st.SearchStrategy[str]:
    """Any Unicode but surrogates (not UTF-8), weighted towards emoji and right-to-left."""
    return st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=max_size),
        st.text(st.sampled_from("مرحبا שלום ✊🏽👩‍👩‍👧 ‏‎ \u202e e\u0301 ﷽ 🇺🇦 "), max_size=max_size),
    )


@st.composite
def twilio_forms(draw) -> dict[str, str]:
    """A webhook form as Twilio might send it, or broken: fields missing, text of any
    kind and size, and up to a dozen media."""
    index = draw(st.integers(0, 10**12))
    number = f"+1555{draw(st.integers(0, 20)):07d}"
    body = draw(st.one_of(unicode_text(300), unicode_text(12000).filter(lambda text: len(text) > 3000),
                          st.just("ab" * 5000)))
    form = message_form(f"SM{index:032x}", number, body)
    media = draw(st.integers(0, 12))
    form["NumMedia"] = str(media)
    for position in range(media):
        form[f"MediaUrl{position}"] = f"http://127.0.0.1:9/media/{position}"
        form[f"MediaContentType{position}"] = draw(st.sampled_from(["image/jpeg", "application/pdf", "video/mp4"]))
    for name in draw(st.sets(st.sampled_from(["MessageSid", "From", "Body", "NumMedia", "To", "MediaUrl0"]),
                             max_size=2)):
        form.pop(name, None)
    form["ProfileName"] = draw(unicode_text(40))
    return form


def test_hypothesis_forms_get_no_500_and_accepted_ones_are_kept(fuzz_server):
    accepted: set[str] = set()
    statuses: list[int] = []

    @FUZZ_SETTINGS
    @given(twilio_forms())
    def deliver(form: dict[str, str]) -> None:
        response = fuzz_server.post("/message", form)
        statuses.append(response.status_code)
        assert response.status_code in (200, 400, 413, 422), response.text
        if response.status_code == 200:
            accepted.add(form["MessageSid"])

    deliver()
    assert 200 in statuses and 422 in statuses  # both kinds were tried
    accepted_are_kept(fuzz_server, accepted)

