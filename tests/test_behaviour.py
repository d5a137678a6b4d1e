"""Behaviour the conversation scripts and the property machine leave loose, pinned down.

Each test here was written against a mutant that survived the mutation run (README
"Mutation testing") or a bug planted by hand: it states the behaviour that mutant broke.
"""

from __future__ import annotations

import re

import pytest
from harness import (
    ROOT,
    Conversation,
    fixture_events,
    make_engine,
    shipped_flow,
    shipped_questions,
)

from listener.conversation.engine import REMEMBERED_MESSAGES, SET_ASIDE
from listener.conversation.extraction import Extraction, ReadingRequest
from listener.conversation.flow import Flow
from listener.conversation.graph import FlowError
from listener.conversation.questions import ChoiceQuestion
from listener.models import ComposeRequest, EventConfig, Media
from listener.store.sqlite import SQLiteStore

SHIPPED_FLOW = (ROOT / "transitions.yaml").read_text(encoding="utf-8")


def chat_on_flow(store, tmp_path, text: str) -> Conversation:
    """A conversation on the flow file `text` (the shipped one as a designer edited it)."""
    path = tmp_path / "transitions.yaml"
    path.write_text(text, encoding="utf-8")
    return Conversation(make_engine(store, Flow.from_file(path)))


# the engine: a message set aside, the readings a step asks for -----------------------------


def test_a_message_set_aside_is_kept_under_the_current_event_and_changes_nothing_else(chat, engine, store):
    chat.send("TOWNHALL")
    chat.send("Robin")
    before = chat.snapshot
    message = chat.message("a message the flow keeps failing on")
    assert store.record_inbound(message)
    outcome = engine.set_aside(message)
    after = chat.snapshot
    assert outcome.replies == []
    assert after.state == before.state == "listening"
    assert after.version == before.version + 1
    assert after.last_message_at == message.received_at
    assert after.recent_message_sids[-1] == message.message_sid
    assert after.events["TOWNHALL"].messages == before.events["TOWNHALL"].messages
    [stored] = [i for i in store.iter_interactions(participant=chat.participant) if i.id == message.message_sid]
    assert (stored.kind, stored.event_id, stored.direction, stored.state) == (SET_ASIDE, "TOWNHALL", "in", "listening")
    assert stored.text == "a message the flow keeps failing on"
    assert engine.set_aside(message) is None, "a message already kept is not kept twice"


def test_a_first_message_set_aside_starts_the_participant_in_the_initial_state(engine, store):
    chat = Conversation(engine, participant="+15550100077")
    message = chat.message("boom")
    assert store.record_inbound(message)
    outcome = engine.set_aside(message)
    assert outcome.expected_version == 0
    assert chat.snapshot.state == engine.flow.spec.initial
    [stored] = [i for i in store.iter_interactions(participant=chat.participant) if i.direction == "in"]
    assert (stored.kind, stored.event_id) == (SET_ASIDE, None)


def test_only_the_most_recent_message_ids_are_remembered(chat, engine, store):
    for _ in range(REMEMBERED_MESSAGES + 2):
        chat.send("TOWNHALL")
    sids = chat.snapshot.recent_message_sids
    assert len(sids) == REMEMBERED_MESSAGES
    assert sids[-1] == chat.last.message_sid


def test_a_message_older_than_the_last_does_not_move_the_last_message_time(chat, engine, store):
    chat.send("TOWNHALL")
    late = chat.snapshot.last_message_at
    early = chat.message("Robin")
    early = early.model_copy(update={"received_at": late.replace(year=late.year - 1)})
    chat.deliver(early)
    assert chat.snapshot.last_message_at == late


def test_the_readings_a_step_asks_for_are_listed_once_and_change_nothing(chat, engine, store):
    chat.send("CLIMATE24")
    snapshot = chat.snapshot
    message = chat.message("I'm Kim")
    asked = engine.readings_asked(snapshot, message)
    assert asked == [ReadingRequest("answer", "I'm Kim", ("name",))]
    assert chat.snapshot == snapshot, "a dry run stores nothing"
    assert snapshot.state == "asking_name", "nor changes the snapshot it was given"
    first = engine.readings_asked(None, chat.message("hello, TOWNHALL please"))
    assert [request.kind for request in first] == ["event_id"]
    assert "TOWNHALL" in first[0].options


def test_a_reading_made_before_the_step_is_the_one_used(chat, engine, store):
    chat.send("CLIMATE24")
    message = chat.message("whatever they wrote")
    reading = {ReadingRequest("answer", "whatever they wrote", ("name",)): Extraction.found("Kim")}
    assert store.record_inbound(message)
    outcome = engine.process(message, reading)
    assert outcome.snapshot.events["CLIMATE24"].answers["name"].value == "Kim"


# listening: what an acknowledgement owes the composer; a silent event's limit ---------------


def test_an_event_whose_replies_the_model_writes_owes_the_composer_a_request(chat):
    chat.send("TOWNHALL")
    chat.send("Robin")
    [reply] = chat.send("the parks need benches")
    [owed] = chat.last.replies
    assert owed.compose == ComposeRequest(event_id="TOWNHALL", text="the parks need benches", name="Robin", count=2,
                                           language="en", language_name="English")
    assert owed.text == reply and reply in shipped_flow().spec.texts["acknowledgement"].text["en"]


def test_an_event_with_template_replies_owes_the_composer_nothing(chat):
    for text in ("CLIMATE24", "Kim", "40", "female", "Leeds"):
        chat.send(text)
    chat.send("more buses")
    [owed] = chat.last.replies
    assert owed.compose is None


def test_a_silent_event_does_not_say_its_limit_was_reached(chat, store):
    store.put_event(EventConfig(event_id="HUSH", event_name="Hush", responses="silent", interaction_limit=1,
                                extraction_settings={"name_extraction": False}))
    chat.send("HUSH")
    assert chat.send("one") == []
    assert chat.send("two") == []
    assert chat.snapshot.events["HUSH"].contributions == 2


# finishing; questions as cache keys ---------------------------------------------------------


def test_finishing_records_when(chat):
    chat.send("TOWNHALL")
    chat.send("Robin")
    message = chat.message("finish")
    chat.deliver(message)
    membership = chat.snapshot.events["TOWNHALL"]
    assert membership.completed and membership.completed_at == message.received_at


def test_choice_questions_key_a_cache_by_their_declaration():
    gender = shipped_questions()["gender"]
    same = gender.model_copy(deep=True)
    fewer = ChoiceQuestion.model_validate({**gender.model_dump(), "options": {"yes": [], "no": []}})
    assert {gender: "read"}[same] == "read"
    assert hash(fewer) != hash(gender)


def test_an_event_closed_while_its_switch_awaits_yes_is_not_joined(chat, store):
    chat.send("TOWNHALL")
    chat.send("Lou")
    chat.send("change event CLIMATE24")
    climate = store.get_event("CLIMATE24")
    store.put_event(climate.model_copy(update={"closed": True}))
    assert chat.send("yes") == ["OK, staying with Town Hall."]
    assert chat.snapshot.current_event_id == "TOWNHALL"
    assert "CLIMATE24" not in chat.snapshot.events


def test_an_unknown_event_id_is_quoted_back_cut_at_forty_characters(chat):
    chat.send("TOWNHALL")
    chat.send("Lou")
    attempt = "X" * 39 + "YZ"
    [reply] = chat.send(f"change event {attempt}")
    assert f'"{attempt[:40]}"' in reply


def test_change_name_in_a_graph_without_a_name_question_explains_how(store, tmp_path):
    """`change name` is about the question keyed `name`: a graph that asks none has no name
    to change, and says how the command would work rather than storing one."""
    text = SHIPPED_FLOW
    start = text.index("  - key: name\n")
    end = text.index("  - key: age\n")
    text = text[:start] + text[end:]
    text = text.replace(", {name}", "").replace("{name}", "")
    chat = chat_on_flow(store, tmp_path, text)
    for message in ("CLIMATE24", "40", "female", "Leeds"):
        chat.send(message)
    assert chat.state == "listening"
    assert chat.send("change name Robin") == ["To change your name, send: change name followed by your name."]
    assert "name" not in chat.snapshot.events["CLIMATE24"].answers


def test_a_commands_words_are_taken_without_the_punctuation_before_them(chat):
    chat.send("TOWNHALL")
    chat.send("Lou")
    assert chat.send("change event - XANADUX") == ['Sorry, I don\'t know the event ID "XANADUX".']


def test_a_value_a_text_names_twice_is_filled_twice(chat, store):
    store.put_event(EventConfig(event_id="ECHO", event_name="Echo", responses="template",
                                welcome_message="{event_name} listens. Thank you from {event_name}!",
                                extraction_settings={"name_extraction": False}))
    assert chat.send("ECHO")[-1] == "Echo listens. Thank you from Echo!"


# replies: numbered, filed under the event, recorded as said; acknowledgements take turns -----


def test_replies_are_numbered_per_message_filed_under_the_event_and_recorded_as_said(chat, store):
    chat.send("TOWNHALL")
    sid = chat.last.message_sid
    replies = chat.last.replies
    assert [reply.id for reply in replies] == [f"{sid}-r1", f"{sid}-r2"]
    assert {reply.event_id for reply in replies} == {"TOWNHALL"}
    said = {i.id: i for i in store.iter_interactions(participant=chat.participant) if i.direction == "out"}
    for reply in replies:
        record = said[reply.id]
        assert (record.text, record.event_id, record.kind, record.at) == (reply.text, "TOWNHALL", "reply", reply.created_at)


def test_acknowledgements_take_turns_through_the_graphs_list(chat):
    for text in ("CLIMATE24", "Kim", "40", "female", "Leeds"):
        chat.send(text)
    said = [chat.send(f"thought {n}")[0] for n in range(4)]
    assert sorted(said) == sorted(shipped_flow().spec.texts["acknowledgement"].text["en"])


def test_a_return_is_a_message_more_than_the_silence_after_the_last(chat):
    """24 hours to the second after the last message is not yet a return; ten seconds more is."""
    for text in ("TOWNHALL", "Lou", "change event QUIET-ROOM", "yes"):
        chat.send(text)
    chat.clock.advance(hours=23, minutes=59, seconds=30)  # the message itself comes 30 s later
    chat.send("exactly a day later")
    assert chat.state == "listening"
    chat.clock.advance(hours=24, seconds=-20)
    assert chat.send("a day and ten seconds later")[0].startswith("Welcome back! Which event")


def test_readings_made_before_the_step_leave_the_rest_to_the_offline_rules(chat, engine, store):
    chat.send("CLIMATE24")
    message = chat.message("Kim")
    unrelated = {ReadingRequest("yes_no", "something else"): Extraction.found(True)}
    assert store.record_inbound(message)
    outcome = engine.process(message, unrelated)
    assert outcome.snapshot.events["CLIMATE24"].answers["name"].value == "Kim"


def test_a_text_overridden_by_a_field_events_do_not_have_says_the_graphs_words(store, tmp_path):
    chat = chat_on_flow(store, tmp_path, SHIPPED_FLOW.replace("    from_event: initial_message\n", "    from_event: opening_words\n", 1))
    assert chat.send("TOWNHALL")[0] == "Welcome to Town Hall! I'm here to listen: everything you send me is recorded for the organisers."


def test_each_message_moves_the_snapshot_one_version_on_and_traces_what_it_fired(chat):
    for number, text in enumerate(("TOWNHALL", "Lou", "an idea"), start=1):
        chat.send(text)
        assert chat.snapshot.version == number
    labels = shipped_flow().transition_labels
    assert chat.last.trace and all(label in labels for label in chat.last.trace)
    assert labels[chat.last.trace[0]][0] == "listening"


def test_a_new_event_takes_the_name_from_the_event_last_spoken_in(chat, store):
    """Joined in order QUIET-ROOM (asks no name), TOWNHALL, CLIMATE24, then back in
    TOWNHALL where the name changed: a fourth event greets by that latest name."""
    store.put_event(EventConfig(event_id="FOURTH", event_name="Fourth", responses="template"))
    chat.send("QUIET-ROOM")
    for text in ("change event TOWNHALL", "yes", "Ana", "change event CLIMATE24", "yes"):
        chat.send(text)
    assert chat.snapshot.events["CLIMATE24"].answers["name"].value == "Ana"
    for text in ("change name Anita", "30", "female", "Leeds", "change event TOWNHALL", "yes", "change name Annie"):
        chat.send(text)
    chat.send("change event FOURTH")
    replies = chat.send("yes")
    assert chat.snapshot.events["FOURTH"].answers["name"].value == "Annie"
    assert "Thanks, Annie!" in replies[-1]


def test_a_voice_note_is_stored_with_its_transcript_model_language_and_media(chat, store):
    chat.send("TOWNHALL")
    media = [Media(url="https://api.twilio.com/media/9", content_type="audio/ogg")]
    message = chat.message("", transcript="Hola a todos", media=media).model_copy(
        update={"transcription_model": "whisper-test", "transcript_language": "es"})
    chat.deliver(message)
    [stored] = [i for i in store.iter_interactions(participant=chat.participant) if i.id == message.message_sid]
    assert (stored.transcript, stored.transcription_model, stored.transcript_language) == ("Hola a todos", "whisper-test", "es")
    assert stored.media == media


class _InterruptedStore(SQLiteStore):
    """A real SQLite store on which, the first time a participant is read, another worker
    (a second engine on the same file) commits a message of theirs before the reader does."""

    def __init__(self, path, other_message):
        super().__init__(path)
        self.other_message = other_message
        self.other = None

    def load_participant(self, participant):
        snapshot = super().load_participant(participant)
        if self.other_message is not None:
            message, self.other_message = self.other_message, None
            self.other.process(message)
        return snapshot


def test_a_worker_that_loses_the_race_runs_the_message_again_from_a_fresh_read(tmp_path):
    sender = Conversation(make_engine(SQLiteStore(tmp_path / "listener.db")))
    first, second = sender.message("TOWNHALL"), sender.message("Lou")
    store = _InterruptedStore(tmp_path / "listener.db", first)
    for event in fixture_events().values():
        store.put_event(event)
    other_store = SQLiteStore(tmp_path / "listener.db")
    store.other = make_engine(other_store)
    assert store.record_inbound(first) and store.record_inbound(second)
    outcome = make_engine(store).process(second)
    snapshot = store.load_participant(sender.participant)
    assert outcome is not None and snapshot.version == 2
    assert snapshot.events["TOWNHALL"].answers["name"].value == "Lou"
    for opened in (other_store, store, sender.store):
        opened.close()


def test_commands_are_read_whatever_the_spacing_and_punctuation_around_them(chat):
    chat.send("TOWNHALL")
    chat.send("Lou")
    assert chat.send("change   event\tQUIET-ROOM") == ["Switch to Quiet Room? Reply yes or no."]
    chat.send("no")
    assert chat.send("¡Help!")[0].startswith("You can send")
    assert not chat.send("xhelpx")[0].startswith("You can send"), "other words around a command make a message"


def test_the_longest_command_words_are_matched_first(store, tmp_path):
    """With `change` also a word for changing events, `change name Robin` still changes the name."""
    chat = chat_on_flow(store, tmp_path, SHIPPED_FLOW.replace("en: [change event, switch event, join event]", "en: [change, change event, switch event, join event]", 1))
    chat.send("TOWNHALL")
    chat.send("Lou")
    assert chat.send("change name Robin") == ["Thanks, I'll call you Robin."]
    assert chat.send("change QUIET-ROOM") == ["Switch to Quiet Room? Reply yes or no."]


def test_a_flow_files_errors_name_that_file(tmp_path):
    path = tmp_path / "my-flow.yaml"
    path.write_text("initial: [new\n", encoding="utf-8")
    with pytest.raises(FlowError, match=f"^{re.escape(str(path))}:\\d+: not valid YAML"):
        Flow.from_file(path)


# commands in a script written without spaces, and the languages of records -----------------


def test_a_command_in_a_script_without_spaces_takes_the_words_that_follow_at_once(chat):
    chat.send("TOWNHALL")
    chat.send("Lou")
    assert chat.send("改名歐陽小明") == ["Thanks, I'll call you 歐陽小明."]
    assert chat.send("改名字：小華") == ["Thanks, I'll call you 小華."], "the longest words first, a full-width colon dropped"
    assert chat.send("改名Xiomara") == ["Thanks, I'll call you Xiomara."]
    assert chat.send("改名改名王") == ["Thanks, I'll call you 改名王."], "the words after the command's first"
    assert chat.send("改名 Ana María") == ["Thanks, I'll call you Ana María."]
    assert chat.snapshot.events["TOWNHALL"].answers["name"].value == "Ana María"


def test_every_record_carries_the_participants_language(store):
    chat = Conversation(make_engine(store), participant="+15550100078")
    chat.send("FORO-BOGOTA")
    chat.send("Luis")
    assert {record.language for record in store.iter_interactions(participant=chat.participant)
            if record.direction == "out"} == {"es"}
    chat.send("The night buses never come on time here")
    assert chat.snapshot.language == "en"
    engine = make_engine(store)
    message = chat.message("a message the flow keeps failing on")
    assert store.record_inbound(message)
    engine.set_aside(message)
    [aside] = [i for i in store.iter_interactions(participant=chat.participant) if i.id == message.message_sid]
    assert (aside.kind, aside.language) == (SET_ASIDE, "en")


def test_an_event_speaking_none_of_the_flows_languages_is_spoken_to_in_the_default_one():
    flow = shipped_flow()
    assert flow.offered(EventConfig(event_id="X", languages=["de", "it"])) == ["en"]
    assert flow.offered(EventConfig(event_id="X", languages=["de", "fr"])) == ["fr"]
    assert flow.render("stopped", None, {}) == flow.render("stopped", None, {}, language="en")


def test_a_command_word_of_one_character_takes_its_argument_at_once(store, tmp_path):
    chat = chat_on_flow(store, tmp_path, SHIPPED_FLOW.replace("zh-Hant: [改名, 改名字,", "zh-Hant: [名, 改名, 改名字,", 1))
    chat.send("TOWNHALL")
    chat.send("Lou")
    assert chat.send("名小明") == ["Thanks, I'll call you 小明."]
