"""Generic replies: say a text, (re-)ask the current state's prompt, count attempts."""

from __future__ import annotations

from listener.conversation.extraction import Extraction
from listener.conversation.graph import text_keys
from listener.conversation.turn import Turn
from listener.conversation.wording import reads


@text_keys
def say(turn: Turn, key: str) -> None:
    """Say the text the graph calls `key`."""
    turn.say(key)


def prompt(turn: Turn) -> None:
    """Say the current state's prompt (on entering a question, after help)."""
    if turn.spec.prompt:
        turn.say(turn.spec.prompt)


def reprompt(turn: Turn) -> None:
    """Count a failed answer and ask again, in the state's gentler words when it has them."""
    turn.snapshot.attempts += 1
    spec = turn.spec
    key = spec.reprompt or spec.prompt
    if key:
        turn.say(key)


@reads('last attempt', unless='attempts left')
def out_of_attempts(turn: Turn) -> bool:
    """True on the last answer the state will wait for (this one failed too)."""
    return turn.snapshot.attempts + 1 >= turn.max_attempts


def _yes_no(turn: Turn) -> Extraction:
    return turn.remember("yes_no", lambda: turn.services.extractor.yes_no(turn.text))


@reads('said yes', unless='did not say yes')
def said_yes(turn: Turn) -> bool:
    answer = _yes_no(turn)
    return answer.ok and answer.value is True


@reads('said no', unless='did not say no')
def said_no(turn: Turn) -> bool:
    answer = _yes_no(turn)
    return answer.ok and answer.value is False


def media_received(turn: Turn) -> None:
    """Acknowledge media the flow cannot read, so the participant knows it was kept."""
    if any(media.is_audio for media in turn.message.media):
        turn.say("voice_saved_untranscribed")
    else:
        turn.say("media_saved")
