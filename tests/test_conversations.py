"""Conversation scripts: dialogues as data (tests/conversations/*.yaml) run on the real engine.

Each step may act (`send`, `voice`, `media`, `wait_hours`, `delete_event`, `repeat_last`)
and then check: `replies` (regular expressions, one per reply, in order; the count must
match), `state`, `current_event`, `language` (the participant's, in their snapshot),
`profile` (event -> fields that must equal), and `inbound` (the stored record of the
message just sent: its event and kind, or `parked`), `earlier` (the same for the message
sent at an earlier step) and `pending` (the keys of the values the snapshot holds until the
flow settles them: none once it has).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from harness import Conversation, make_engine

from listener.models import Media

SCRIPTS = sorted((Path(__file__).parent / "conversations").glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_conversation_script(path: Path, any_store) -> None:
    """Every script, on SQLite and on Firestore (the emulator)."""
    run_script(_load(path), any_store)


def run_script(script: dict, store, engine=None) -> None:
    """Run one script on `store`, through `engine` (default: the offline engine on it)."""
    chat = Conversation(engine or make_engine(store), participant=script.get("participant", "+15550100001"))
    last_message = None
    sent = {}
    for number, step in enumerate(script["steps"], start=1):
        where = f"{script['name']} step {number} ({step})"
        if "wait_hours" in step:
            chat.clock.advance(hours=step["wait_hours"])
        if "delete_event" in step:
            assert store.delete_event(step["delete_event"]), where
        replies = None
        if "send" in step or "voice" in step or "media" in step:
            media = [Media(url=f"https://api.twilio.com/media/{i}", content_type=kind) for i, kind in enumerate(step.get("media", []))]
            last_message = chat.message(step.get("send", ""), transcript=step.get("voice"), media=media)
            sent[number] = last_message
            replies = chat.deliver(last_message)
        elif step.get("repeat_last"):
            replies = chat.deliver(last_message)
        if "replies" in step:
            expected = step["replies"] or []
            assert replies is not None, f"{where}: nothing was sent"
            assert len(replies) == len(expected), f"{where}: got replies {replies}"
            for pattern, reply in zip(expected, replies):
                assert re.search(pattern, reply, re.IGNORECASE | re.DOTALL), f"{where}: {reply!r} does not match {pattern!r}"
        snapshot = chat.snapshot
        if "state" in step:
            assert snapshot.state == step["state"], where
        if "current_event" in step:
            assert snapshot.current_event_id == step["current_event"], where
        if "language" in step:
            assert snapshot.language == step["language"], f"{where}: language {snapshot.language!r}"
        for event_id, fields in (step.get("profile") or {}).items():
            profile = store.get_profile(event_id, chat.participant) or {}
            for field, value in fields.items():
                assert profile.get(field) == value, f"{where}: {event_id}.{field} = {profile.get(field)!r}"
        if "pending" in step:
            assert sorted(snapshot.pending) == sorted(step["pending"]), f"{where}: pending {snapshot.pending}"
        if "inbound" in step:
            check_inbound(store, chat, last_message, step["inbound"], where)
        if "earlier" in step:
            expected = dict(step["earlier"])
            check_inbound(store, chat, sent[expected.pop("step")], expected, where)


def check_inbound(store, chat, message, expected, where: str) -> None:
    stored = [i for i in store.iter_interactions(participant=chat.participant) if i.id == message.message_sid]
    if expected == "parked":
        assert stored == [], f"{where}: parked message already filed"
        assert any(value.get("id") == message.message_sid for value in chat.snapshot.pending.values() if isinstance(value, dict)), where
        return
    assert len(stored) == 1, f"{where}: stored {len(stored)} times"
    for field, value in expected.items():
        assert getattr(stored[0], field) == value, f"{where}: inbound {field} = {getattr(stored[0], field)!r}"


def test_every_script_has_steps_and_a_name() -> None:
    assert len(SCRIPTS) >= 10
    for path in SCRIPTS:
        script = _load(path)
        assert script.get("name") and script.get("steps"), path
