"""Done when: a participant who writes Spanish is onboarded and acknowledged in Spanish
end to end over the signed webhook (the real app, the real `twilio` client to the fake
Twilio), on SQLite and on Firestore (the emulator); their language is in their snapshot,
on every record, and in the Talk to the City export."""

from __future__ import annotations

import csv
import io
import os
import re

import pytest
from firestore_fixtures import reset
from harness import fixture_events, shipped_flow
from webhook_support import AppServer, db_path, fake_twilio, make_settings, message_form, wait_for  # noqa: F401

from listener.channel.app import create_app
from listener.operators.export import ExportRequest, export
from listener.store import open_store

PARTICIPANT = "+15550101234"
PROJECT = f"listener-languages-{os.getpid()}"
SAID = [
    ("Hola, estoy en el foro FORO-BOGOTA", "^¡Bienvenida y bienvenido al Foro Ciudadano!.*|^¿Cómo te llamas\\?"),
    ("Me llamo Camila Rojas", "^¿Cuántos años tienes\\?"),
    ("veintiocho", "^¿Cuál es tu género\\?"),
    ("mujer", "^¡Gracias, Camila Rojas! Ya está todo listo para Foro Ciudadano"),
    ("Las ciclovías del centro están muy descuidadas", "^(Gracias, anotado\\.|Recibido, gracias\\.|Gracias por compartirlo\\.|Anotado, gracias\\. Sigue contándonos\\.)$"),
]


@pytest.fixture(params=["sqlite", "firestore"])
def server(request, db_path, fake_twilio):  # noqa: F811
    """The app on SQLite, or on a Firestore emulator project of its own."""
    overrides = {}
    if request.param == "firestore":
        host = request.getfixturevalue("firestore_emulator")
        reset(host, PROJECT)
        overrides["store_url"] = f"firestore://{PROJECT}"
    settings = make_settings(db_path, fake_twilio, **overrides)
    app_server = AppServer(create_app(settings), db_path)
    if request.param == "firestore":
        app_server.store.close()
        app_server.store = open_store(settings.store_url, settings)
        for event in fixture_events().values():
            app_server.store.put_event(event)
    app_server.start()
    yield app_server
    app_server.stop()


def test_a_spanish_speaker_is_onboarded_and_acknowledged_in_spanish_over_the_webhook(server, fake_twilio):  # noqa: F811
    sids = []
    for number, (text, reply) in enumerate(SAID, start=1):
        sid = f"SM{number:032d}"
        sids.append(sid)
        assert server.post("/message", message_form(sid, PARTICIPANT, text)).status_code == 200
        wait_for(lambda: server.settled(sids), what=text)
        assert re.search(reply, fake_twilio.sent_to(PARTICIPANT)[-1]), fake_twilio.sent_to(PARTICIPANT)
    sent = fake_twilio.sent_to(PARTICIPANT)
    assert not any(text.startswith(("What", "How", "Thanks", "Welcome")) for text in sent), sent

    store = server.store
    snapshot = store.load_participant(PARTICIPANT)
    assert (snapshot.state, snapshot.language, snapshot.language_chosen) == ("listening", "es", False)
    profile = store.get_profile("FORO-BOGOTA", PARTICIPANT)
    assert (profile["name"], profile["age"], profile["gender"]) == ("Camila Rojas", 28, "female")
    records = list(store.iter_interactions("FORO-BOGOTA", participant=PARTICIPANT))
    assert {record.language for record in records if record.direction == "out"} == {"es"}
    said = [record for record in records if record.kind == "contribution"]
    assert [(record.text, record.language) for record in said] == [(SAID[-1][0], "es")]

    out = io.StringIO()
    event = store.get_event("FORO-BOGOTA")
    export(store, ExportRequest(event_id="FORO-BOGOTA", format="tttc", raw_numbers=True), event, out,
           graph=shipped_flow().graph)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(row["comment-body"], row["language"]) for row in rows] == [(SAID[-1][0], "es")]
