"""Languages as data: the identifier on short messages (tests/golden/languages.yaml), a
participant's language noticed, kept and never switched by a short message, a voice
note's reported language, `listener flow check` naming a text missing in a language an
event lists (with its line), and a designer adding a made-up language by YAML alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import ROOT, Conversation, make_engine, shipped_flow

from listener.ai.language_id import LangidIdentifier
from listener.conversation.flow import Flow
from listener.models import EventConfig, Media

TABLE = yaml.safe_load((ROOT / "tests" / "golden" / "languages.yaml").read_text(encoding="utf-8"))
MADE_UP = "qaa"
"""A tag from BCP 47's private-use range: a language no library knows."""


@pytest.fixture(scope="module")
def identifier() -> LangidIdentifier:
    return LangidIdentifier(shipped_flow().languages)


def test_the_table_has_50_short_messages_in_every_shipped_language():
    assert set(TABLE["messages"]) == set(shipped_flow().languages)
    assert all(len(messages) >= 50 for messages in TABLE["messages"].values())
    assert all(len(text.split()) <= 12 for messages in TABLE["messages"].values() for text in messages)


def test_short_and_ambiguous_messages_never_show_a_language(identifier):
    shown = {text: identifier.identify(text) for text in TABLE["never_switch"]}
    assert {text: tag for text, tag in shown.items() if tag is not None} == {}


@pytest.mark.parametrize("language", sorted(TABLE["messages"]))
def test_short_messages_show_their_language_and_almost_never_a_wrong_one(identifier, language):
    """At least 85% right per language; a wrong language is worse than none (it switches
    the participant), so at most one in the table's messages of a language."""
    shown = [identifier.identify(text) for text in TABLE["messages"][language]]
    right = sum(tag == language for tag in shown)
    wrong = [(text, tag) for text, tag in zip(TABLE["messages"][language], shown) if tag not in (None, language)]
    assert right / len(shown) >= 0.85 and len(wrong) <= 1, (right, len(shown), wrong)


def test_a_participant_switches_by_writing_a_listed_language_never_by_a_short_message_or_an_unlisted_one(store):
    chat = Conversation(make_engine(store), participant="+15550102001")
    for text in ("FORO-BOGOTA", "Luis", "40", "hombre"):
        chat.deliver(chat.message(text))
    assert (chat.state, chat.snapshot.language) == ("listening", None)
    assert chat.deliver(chat.message("ok"))[0] in shipped_flow().spec.texts["acknowledgement"].text["es"]
    english = chat.deliver(chat.message("The night buses never come on time here"))
    assert chat.snapshot.language == "en" and english[0] in shipped_flow().spec.texts["acknowledgement"].text["en"]
    for short in ("ok", "34", "👍", "sí", "gracias"):
        chat.deliver(chat.message(short))
        assert chat.snapshot.language == "en", short
    chat.deliver(chat.message("Il faudrait vraiment plus de pistes cyclables en ville"))
    assert chat.snapshot.language == "en", "French is not among this event's languages"
    spanish = chat.deliver(chat.message("Las calles del centro están llenas de huecos"))
    assert chat.snapshot.language == "es" and spanish[0] in shipped_flow().spec.texts["acknowledgement"].text["es"]
    records = [i for i in store.iter_interactions("FORO-BOGOTA", participant=chat.participant) if i.direction == "in"]
    assert [record.language for record in records[-2:]] == ["fr", "es"], "each message keeps the language it showed"


def test_a_voice_note_carries_the_language_its_transcription_reported(store):
    chat = Conversation(make_engine(store), participant="+15550102002")
    for text in ("FORO-BOGOTA", "Inés", "33", "mujer"):
        chat.deliver(chat.message(text))
    chat.deliver(chat.message("language English"))
    chat.deliver(chat.message("the market needs more shade in the afternoon"))
    note = chat.message("", transcript="Necesitamos más árboles", media=[Media(url="https://api.twilio.com/m/1", content_type="audio/ogg")])
    note = note.model_copy(update={"transcript_language": "spanish"})
    chat.deliver(note)
    stored = next(i for i in store.iter_interactions(participant=chat.participant) if i.id == note.message_sid)
    assert (stored.transcript_language, stored.language) == ("spanish", "es")
    assert chat.snapshot.language == "en", "a participant who chose their language keeps it"


def flow_with_added_languages(names: dict[str, list[str]], missing: str | None = None) -> str:
    """The shipped flow with each of `names`' languages declared (by those names) and every
    text written in it too ("[tag] " before the English), as a designer would add them;
    `missing` leaves one text out. The made-up `qaa` also gets a help word, "kwelp"."""
    data = yaml.safe_load((ROOT / "transitions.yaml").read_text(encoding="utf-8"))
    data["languages"].update(names)

    def add(texts: dict) -> None:
        english = texts["en"]
        for tag in names:
            texts[tag] = [f"[{tag}] {text}" for text in english] if isinstance(english, list) else f"[{tag}] {english}"

    for key, text in data["texts"].items():
        if key != missing:
            add(text["text"] if isinstance(text, dict) and "text" in text else text)
    for question in data["questions"]:
        for field in ("ask", "reask"):
            add(question[field])
    if MADE_UP in names:
        data["inbound"]["commands"][3]["words"][MADE_UP] = ["kwelp"]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_a_designer_adds_a_language_by_its_texts_and_an_event_listing_it(tmp_path, store):
    path = tmp_path / "flow.yaml"
    path.write_text(flow_with_added_languages({MADE_UP: ["Kwaa"]}), encoding="utf-8")
    flow = Flow.from_file(path)
    assert flow.languages[-1] == MADE_UP
    store.put_event(EventConfig(event_id="KWAA-DAY", event_name="Kwaa Day", languages=[MADE_UP]))
    chat = Conversation(make_engine(store, flow), participant="+15550102003")
    replies = chat.deliver(chat.message("KWAA-DAY"))
    assert replies and all(reply.startswith("[qaa] ") for reply in replies), replies
    assert chat.deliver(chat.message("kwelp"))[0].startswith("[qaa] You can send:\n• change name")
    chat.deliver(chat.message("Ngozi"))
    assert chat.deliver(chat.message("a thought in Kwaa"))[0].startswith("[qaa] ")
    assert (chat.state, chat.snapshot.language) == ("listening", None)


def listener(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "listener.cli", *args], check=False, capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **env}, timeout=120)


def test_flow_check_names_each_text_missing_in_a_language_an_event_lists_with_its_line(tmp_path):
    path = tmp_path / "flow.yaml"
    text = flow_with_added_languages({MADE_UP: ["Kwaa"]}, missing="event_closed")
    path.write_text(text, encoding="utf-8")
    event = tmp_path / "kwaa.yaml"
    event.write_text(f"event_id: KWAA-DAY\nlanguages: [{MADE_UP}, en]\n", encoding="utf-8")
    english_only = tmp_path / "english.yaml"
    english_only.write_text("event_id: EN-DAY\n", encoding="utf-8")

    fine = listener("flow", "check", str(path), "--event", str(english_only), cwd=tmp_path)
    assert fine.returncode == 0, fine.stderr
    assert f"{MADE_UP} is declared but not spoken: 1 texts have no {MADE_UP}" in fine.stdout

    done = listener("flow", "check", str(path), "--event", str(event), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [problem] = done.stderr.strip().splitlines()
    assert problem.startswith(f"{path}:") and f"text 'event_closed' has no {MADE_UP}" in problem
    assert f"event KWAA-DAY in {event} lists it" in problem
    line = int(problem.split(f"{path}:", 1)[1].split(":", 1)[0])
    assert text.splitlines()[line - 1].strip().startswith("event_closed:"), text.splitlines()[line - 1]

    added = listener("events", "add", str(event), cwd=tmp_path, FLOW_FILE=str(path),
                     STORE_URL=f"sqlite:///{tmp_path / 'listener.db'}")
    assert added.returncode == 2 and f"text 'event_closed' has no {MADE_UP}" in added.stderr, added.stderr


def test_an_event_may_list_only_languages_it_writes_its_own_texts_in():
    with pytest.raises(ValueError, match="initial_message is written in fr, which the event does not list"):
        EventConfig(event_id="X", languages=["es", "en"], initial_message={"es": "Hola", "fr": "Bonjour"})
    event = EventConfig(event_id="X", languages=["es", "en"], initial_message="¡Hola!")
    assert (event.text("initial_message", "es"), event.text("initial_message", "en")) == ("¡Hola!", None)
    assert EventConfig(event_id="X", languages=None).languages == ["en"]
    assert EventConfig(event_id="X", languages=["ZH-hant", "pt_br"]).languages == ["zh-Hant", "pt-BR"]


def text_in(key: str, language: str) -> str:
    """A shipped text in one language, up to its first value ("{languages}")."""
    return shipped_flow().spec.texts[key].text[language].split("{", 1)[0]


def test_a_name_never_shows_a_language_but_any_other_answer_does(store):
    """"Elizabeth Anne Johnson" reads as English to the identifier; as an answer to
    "what's your name" it says nothing of the participant's language. Their age, written
    in an English sentence, does."""
    chat = Conversation(make_engine(store), participant="+15550102004")
    chat.deliver(chat.message("FORO-BOGOTA"))
    replies = chat.deliver(chat.message("Elizabeth Anne Johnson"))
    assert (chat.state, chat.snapshot.language) == ("asking_age", None), replies
    assert replies[-1].startswith("¿"), replies
    assert chat.deliver(chat.message("I am twenty years old this year"))[0].startswith("What")
    assert (chat.state, chat.snapshot.language) == ("asking_gender", "en")


def test_a_command_never_shows_a_language(store):
    chat = Conversation(make_engine(store), participant="+15550102005")
    for text in ("FORO-BOGOTA", "Luis", "40", "hombre"):
        chat.deliver(chat.message(text))
    [how] = chat.deliver(chat.message("language English please"))
    assert how.startswith(text_in("language_how", "es")) and chat.snapshot.language is None


def test_a_voice_note_shows_its_reported_language_even_when_its_words_are_too_few(store):
    chat = Conversation(make_engine(store), participant="+15550102006")
    for text in ("FORO-BOGOTA", "Ana", "51", "mujer", "the market needs more shade in the afternoon"):
        chat.deliver(chat.message(text))
    assert chat.snapshot.language == "en"
    audio = [Media(url="https://api.twilio.com/m/2", content_type="audio/ogg")]
    note = chat.message("", transcript="sí, claro", media=audio).model_copy(update={"transcript_language": "spanish"})
    chat.deliver(note)
    assert chat.snapshot.language == "es"
    # typed words sent with the audio show the language, not the transcription's report
    captioned = chat.message("the buses are late every single morning", transcript="sí", media=audio)
    chat.deliver(captioned.model_copy(update={"transcript_language": "spanish"}))
    assert chat.snapshot.language == "en"


@pytest.mark.parametrize(("asked", "language"), [
    ("language es", "es"), ("language ZH-hant", "zh-Hant"), ("language pt-BR", "pt"),
    ("language French!", "fr"), ("¿idioma español?", "es"), ("語言：español", "es"),
])
def test_a_language_is_chosen_by_its_tag_a_regional_tag_or_its_name_with_punctuation(store, asked, language):
    chat = Conversation(make_engine(store), participant="+15550102007")
    [changed, _] = chat.deliver(chat.message(asked))
    assert changed == text_in("language_changed", language)
    assert (chat.snapshot.language, chat.snapshot.language_chosen) == (language, True)


@pytest.mark.parametrize(("text", "how"), [
    ("language de", True),               # a language not spoken here, by its tag
    ("language old norse", True),        # or by a name of two words
    ("language 克林贡语", True),          # or of four ideographs
    ("language 克林贡语言", False),       # five ideographs are a sentence
    ("language 這個問題很重要", False),
    ("Language barriers are real", False),
    ("Language barriers are real here", False),
])
def test_asking_for_a_language_not_spoken_here_is_told_how_and_a_sentence_is_a_thought(store, text, how):
    chat = Conversation(make_engine(store), participant="+15550102008")
    for answer in ("TOWNHALL", "Sam", "40", "man", "north"):
        chat.deliver(chat.message(answer))
    assert chat.state == "listening"
    replies = chat.deliver(chat.message(text))
    assert replies[0].startswith(text_in("language_how", "en")) is how, replies
    if not how:
        assert replies[0] in shipped_flow().spec.texts["acknowledgement"].text["en"]


def test_a_regional_language_and_one_named_with_an_x_are_chosen_when_the_flow_speaks_them(tmp_path, store):
    """pt-BR beside pt: `language pt-BR` is Brazilian Portuguese, `language pt` Portuguese;
    Xhosa is found by its name whatever letters it starts with."""
    path = tmp_path / "flow.yaml"
    path.write_text(flow_with_added_languages({"pt-BR": ["brasileiro"], "xh": ["isiXhosa", "Xhosa"]}), encoding="utf-8")
    flow = Flow.from_file(path)
    for number, (asked, language, reply) in enumerate((
        ("language pt-BR", "pt-BR", "[pt-BR] OK"), ("language Xhosa", "xh", "[xh] OK"),
        ("language pt", "pt", text_in("language_changed", "pt")),
    )):
        chat = Conversation(make_engine(store, flow), participant=f"+1555010201{number}")
        assert chat.deliver(chat.message(asked))[0].startswith(reply), asked
        assert chat.snapshot.language == language
