"""Nothing doubled, nothing reordered: repeated deliveries and bursts from one participant."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from webhook_support import (  # noqa: F401
    app_server,
    db_path,
    fake_twilio,
    message_form,
    start_app,
    wait_for,
)

PARTICIPANT = "+15550003333"


def post_together(server, forms: list[dict]) -> list[int]:
    """POST every form at once from its own thread; the status codes."""
    barrier = threading.Barrier(len(forms))

    def post(form: dict) -> int:
        barrier.wait()
        return server.post("/message", form).status_code

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(post, forms))


def onboard(server, participant: str) -> list[str]:
    sids = []
    for number, text in enumerate(["hi, I'm at TOWNHALL", "Sam"], start=1):
        sid = f"SM{participant[-4:]}{number:028d}"
        sids.append(sid)
        assert server.post("/message", message_form(sid, participant, text)).status_code == 200
        wait_for(lambda: server.settled(sids), what="onboarding")
    return sids


def test_the_same_message_sid_five_times_at_once_is_recorded_and_answered_once(app_server, fake_twilio):
    sid = "SM" + "5" * 32
    codes = post_together(app_server, [message_form(sid, PARTICIPANT, "hi, I'm at TOWNHALL")] * 5)
    assert codes == [200] * 5
    wait_for(lambda: app_server.settled([sid]), what="the message processed")

    store = app_server.store
    inbound = [i for i in store.iter_interactions(participant=PARTICIPANT) if i.direction == "in"]
    assert [i.id for i in inbound] == [sid]
    assert store.load_participant(PARTICIPANT).version == 1
    outbound = [i.text for i in store.iter_interactions(participant=PARTICIPANT) if i.direction == "out"]
    assert outbound and fake_twilio.sent_to(PARTICIPANT) == outbound

    # A late sixth delivery after processing changes nothing either.
    assert app_server.post("/message", message_form(sid, PARTICIPANT, "hi, I'm at TOWNHALL")).status_code == 200
    assert store.load_participant(PARTICIPANT).version == 1
    assert fake_twilio.sent_to(PARTICIPANT) == outbound


def test_twenty_messages_at_once_are_all_recorded_once_in_order(app_server, fake_twilio):
    first = onboard(app_server, PARTICIPANT)
    notes = [message_form(f"SM{index:032d}", PARTICIPANT, f"note {index}") for index in range(20)]
    assert post_together(app_server, notes) == [200] * 20
    sids = [form["MessageSid"] for form in notes]
    wait_for(lambda: app_server.settled(first + sids), what="twenty messages processed")

    store = app_server.store
    inbound = [i for i in store.iter_interactions(participant=PARTICIPANT) if i.direction == "in"]
    later = [i for i in inbound if i.id in sids]
    # Each once, with its own text...
    assert sorted(i.id for i in later) == sorted(sids)
    assert {i.id: i.text for i in later} == {f["MessageSid"]: f["Body"] for f in notes}
    # ...committed in the order they arrived (arrival time stamps strictly increase).
    arrived = [i.at for i in later]
    assert arrived == sorted(arrived) and len(set(arrived)) == len(arrived)

    snapshot = store.load_participant(PARTICIPANT)
    assert snapshot.version == len(first) + 20  # one commit per message, none lost or doubled
    assert snapshot.events["TOWNHALL"].messages == len(inbound)
    profile = store.get_profile("TOWNHALL", PARTICIPANT)
    assert profile["name"] == "Sam"

    # Replies went out once each, in the order the engine wrote them.
    outbound = [i.text for i in store.iter_interactions(participant=PARTICIPANT) if i.direction == "out"]
    assert fake_twilio.sent_to(PARTICIPANT) == outbound


def test_participants_do_not_wait_for_each_other(app_server, fake_twilio):
    """Different participants' bursts all end up processed, each consistent."""
    people = [f"+1555000{n:04d}" for n in range(4400, 4405)]
    forms = [message_form(f"SM{p[-4:]}{k:028d}", p, "hi, I'm at TOWNHALL" if k == 0 else f"thing {k}")
             for p in people for k in range(4)]
    assert post_together(app_server, forms) == [200] * len(forms)
    wait_for(lambda: app_server.settled([f["MessageSid"] for f in forms]), what="every participant's burst")
    for person in people:
        assert app_server.store.load_participant(person).version == 4
