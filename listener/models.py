"""The records that cross the engine's edges, as typed pydantic models.

Everything the store persists and everything the webhook hands to the engine is one of
these. Field names mirror the Firestore documents of the original product (see the
architecture brief, "Data"), so the SQLite tables and the Firestore collections hold the
same shapes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from listener.languages import ENGLISH, LanguageTag, LanguageTags

EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class Media(BaseModel):
    """One attachment of an inbound WhatsApp message, as Twilio describes it."""

    url: str
    content_type: str = "application/octet-stream"

    @property
    def is_audio(self) -> bool:
        return self.content_type.lower().startswith("audio/")


class InboundMessage(BaseModel):
    """One message a participant sent, as the engine sees it.

    `participant` is the normalised phone number (`+15551234567`). `transcript` is filled
    when a voice note was transcribed before the engine ran.
    """

    message_sid: str = Field(min_length=1, max_length=64)
    participant: str = Field(min_length=2, max_length=64)
    body: str = ""
    transcript: str | None = None
    transcription_model: str | None = None
    transcript_language: str | None = None
    media: list[Media] = Field(default_factory=list)
    received_at: datetime
    profile_name: str | None = None
    recorded_by: str | None = None
    """The process that recorded it (`Worker.identity`): that process processes it, and
    another one leaves it alone while it is young (see `listener.processing.turns`)."""

    @property
    def text(self) -> str:
        """What the participant said: the typed body, else the voice note's transcript."""
        return (self.body or "").strip() or (self.transcript or "").strip()

    @property
    def is_media_only(self) -> bool:
        return not self.text and bool(self.media)


class ExtractionSettings(BaseModel):
    """Which profile questions an event asks (the original `extraction_settings` map):
    `<key>_extraction: true` for each question of the flow it asks. A question the flow
    asks by default is asked unless the event says `false`."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, bool] = Field(init=False)

    @model_validator(mode="before")
    @classmethod
    def _switches(cls, value: object) -> object:
        """Only `<question key>_extraction` switches are kept (a stored document of the
        original tools may hold other keys; an event file with one is refused when read)."""
        if not isinstance(value, dict):
            return value
        return {key: switch for key, switch in value.items() if str(key).endswith("_extraction") and switch is not None}

    def enabled(self, key: str, by_default: bool = False) -> bool:
        value = (self.model_extra or {}).get(f"{key}_extraction")
        return by_default if value is None else bool(value)


EventText = str | dict[LanguageTag, str] | None
"""An event's own text: one string (in the event's default language) or one per language."""

EVENT_TEXTS = ("welcome_message", "initial_message", "completion_message")


class EventConfig(BaseModel):
    """An event's configuration: the `AOI_{event_id}/info` document of the original tools.

    `languages` are the BCP 47 tags of the languages the event runs in, its default first
    (`[en]` when the document has none): the agent speaks no other language there.
    """

    model_config = ConfigDict(extra="ignore")

    event_id: str
    event_name: str = ""
    event_location: str = ""
    event_background: str = ""
    welcome_message: EventText = None
    initial_message: EventText = None
    completion_message: EventText = None
    extraction_settings: ExtractionSettings = Field(default_factory=ExtractionSettings)
    languages: LanguageTags = Field(default_factory=lambda: [ENGLISH])
    responses: Literal["llm", "template", "silent"] = "llm"
    interaction_limit: int | None = Field(default=None, ge=1)
    closed: bool = False

    @field_validator("event_id")
    @classmethod
    def _plain_event_id(cls, value: str) -> str:
        if not EVENT_ID_PATTERN.match(value):
            raise ValueError(
                "event_id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit"
            )
        return value

    @field_validator("languages", mode="before")
    @classmethod
    def _english_when_none(cls, value: object) -> object:
        """A document of the original tools has no languages (or an empty list): English."""
        return [ENGLISH] if value is None or value == [] else value

    @model_validator(mode="after")
    def _texts_in_listed_languages(self) -> EventConfig:
        for field in EVENT_TEXTS:
            text = getattr(self, field)
            if isinstance(text, dict):
                unlisted = [tag for tag in text if tag not in self.languages]
                if unlisted:
                    raise ValueError(
                        f"{field} is written in {', '.join(unlisted)}, which the event does not list in "
                        f"languages ({', '.join(self.languages)})"
                    )
        return self

    @property
    def display_name(self) -> str:
        return self.event_name or self.event_id

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def text(self, field: str, language: str) -> str | None:
        """The event's own `field` text in `language`: a plain string is in the event's
        default language; None when the event has none in that language (or no such field:
        the flow's own words are said)."""
        value = getattr(self, field, None)
        if isinstance(value, dict):
            return value.get(language) or None
        return value if value and language == self.default_language else None


class Answer(BaseModel):
    """A profile answer: the normalised value beside the participant's own words.
    `declined` says the participant preferred not to say (the value is then what the
    question stores for that, or nothing)."""

    value: str | int | bool | None = None
    raw: str | None = None
    declined: bool = False


class Membership(BaseModel):
    """A participant's standing in one event (mirrored to `AOI_{event_id}/{participant}`)."""

    joined_at: datetime
    last_active_at: datetime
    answers: dict[str, Answer] = Field(default_factory=dict)
    welcomed: bool = False
    completed: bool = False
    completed_at: datetime | None = None
    messages: int = 0
    contributions: int = 0


class ParticipantSnapshot(BaseModel):
    """The conversation snapshot (`user_event_tracking/{participant}`): all one message reads.

    `pending` holds values the flow parks between messages (an event change awaiting yes,
    a message received while a prompt is open); `attempts` counts failed answers in the
    current waiting state. `version` is the optimistic-concurrency counter.
    `recent_message_sids` are the last messages processed: with the version check they make
    processing idempotent at the cost of no extra read (a worker that picks up a message
    another worker just finished sees it here and stops).
    `language` is the participant's own language, as their messages showed it or as they
    chose it (`language_chosen`: then what they write no longer changes it); None until
    either. It follows them from event to event: an event that does not list it speaks
    its default language to them, and the next one that lists it speaks it again.
    """

    participant: str
    state: str
    current_event_id: str | None = None
    events: dict[str, Membership] = Field(default_factory=dict)
    attempts: int = 0
    pending: dict[str, Any] = Field(default_factory=dict)
    last_message_at: datetime | None = None
    recent_message_sids: list[str] = Field(default_factory=list)
    language: LanguageTag | None = None
    language_chosen: bool = False
    version: int = 0

    @property
    def current_membership(self) -> Membership | None:
        if self.current_event_id is None:
            return None
        return self.events.get(self.current_event_id)


Direction = Literal["in", "out"]


class Interaction(BaseModel):
    """One message in or out, filed under an event (`.../interactions/{id}`).

    `kind` says what the message was to the conversation (a contribution while listening,
    an answer to a question, a command, an onboarding step, a reply), so exports can keep
    only what participants said while listening. `language` is the language it was
    written in: for a message in, the one its words showed (or the transcription
    reported), else the participant's language then; for a reply, the one it was sent in.
    """

    id: str
    participant: str
    event_id: str | None
    direction: Direction
    kind: str
    text: str = ""
    transcript: str | None = None
    transcription_model: str | None = None
    transcript_language: str | None = None
    language: str | None = None
    media: list[Media] = Field(default_factory=list)
    state: str
    at: datetime
    transitions: list[str] = Field(default_factory=list)
    """For an inbound message, what it fired (the engine's trace: `transitions[12]:asking_name`,
    `routing.routes[3]`), so the console can count each transition."""


ReplyStatus = Literal["pending", "sending", "sent", "delivered", "read", "failed", "undelivered"]

# How far along a reply is; delivery-status callbacks arrive out of order and must never
# move a reply back (a late "delivered" after "read").
_PROGRESS: dict[str, int] = {
    "pending": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "undelivered": 3, "read": 4,
}


def status_moves_forward(current: str, new: str) -> bool:
    return _PROGRESS.get(new, 0) >= _PROGRESS.get(current, 0)


def takes_receipt(current: str, new: str) -> bool:
    """Whether a delivery receipt (a status callback) changes a reply: only once its send
    result is recorded (a long reply's first part can be delivered while the next one is
    still being sent: the reply must stay in its sender's hands), only forward, and not
    when it says what the reply already says (no write for nothing)."""
    return current not in ("pending", "sending") and new != current and status_moves_forward(current, new)


class ComposeRequest(BaseModel):
    """What the composer needs to write an acknowledgement once the step is done.

    The reply's own `text` is the graph's template: it goes out as it is when no model is
    configured, or the model is slow, down or writes something unusable. `language` is
    the participant's (`language_name` its own name): the model writes in it, whatever
    language the message was in. Frozen: it is part of the key of a composed text.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    text: str
    name: str = ""
    count: int = 0
    language: LanguageTag = ENGLISH
    language_name: str = ""


class OutboundReply(BaseModel):
    """A reply owed to a participant: written with the outcome, sent after the commit.

    A sender claims a reply (`sending`, by `claimed_by`, until `claimed_until`) before
    sending it and renews the claim before each retry, so two processes never send the
    same reply; the claim of a sender that crashed expires and the reply is pending again.
    The process that commits a reply creates it already claimed by itself, so sending it
    needs no claim read. `compose` is set when the model may write the text after the
    commit; `event_id` says where the reply's interaction record is filed.
    """

    id: str
    participant: str
    text: str
    in_reply_to: str
    created_at: datetime
    event_id: str | None = None
    compose: ComposeRequest | None = None
    status: ReplyStatus = "pending"
    provider_sid: str | None = None
    error: str | None = None
    attempts: int = 0
    parts_sent: int = 0
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_at: datetime | None = None  # when Twilio accepted it (the send result was recorded `sent`)

    def claimable(self, now: datetime, claimant: str | None = None) -> bool:
        """Pending, claimed by `claimant` itself (a renewal), or claimed by a sender whose
        claim ran out (it crashed or hung)."""
        if self.status == "pending":
            return True
        if self.status != "sending":
            return False
        if claimant is not None and self.claimed_by == claimant:
            return True
        return self.claimed_until is not None and self.claimed_until <= now

    def claim(self, claimant: str, now: datetime, lease_seconds: float) -> OutboundReply | None:
        """This reply taken (or its claim renewed) by `claimant` until `lease_seconds` from
        `now`; None when it is not theirs to take (see `claimable`)."""
        if not self.claimable(now, claimant):
            return None
        until = now + timedelta(seconds=lease_seconds)
        return self.model_copy(update={"status": "sending", "claimed_by": claimant, "claimed_until": until})


InboxStatus = Literal["pending", "done"]


class Waiting(BaseModel):
    """A participant's message recorded in the inbox and not yet processed: what the
    participant's snapshot says is waiting, so one read shows every process what comes
    first, whichever process recorded it."""

    message_sid: str
    received_at: datetime
    recorded_by: str | None = None


class Turn(BaseModel):
    """A process working through a participant's waiting messages, until `until`: others
    leave that participant's messages to it. It is written by the commits it makes, only
    while more messages wait, and lapses by itself when that process dies."""

    owner: str
    until: datetime


class Queue(BaseModel):
    """What waits for a participant, oldest first, and whose turn it is (if anyone's)."""

    waiting: list[Waiting] = Field(default_factory=list)
    turn: Turn | None = None


def in_order(waiting: list[Waiting]) -> list[Waiting]:
    """Waiting messages in the order they were received (a MessageSid breaks a tie)."""
    return sorted(waiting, key=lambda item: (item.received_at, item.message_sid))


class Outcome(BaseModel):
    """Everything one inbound message changes, committed in one atomic store call.

    `turn` is written with it: the committing process's turn while more of the
    participant's messages wait, or none (the turn given up)."""

    message_sid: str
    snapshot: ParticipantSnapshot
    expected_version: int
    interactions: list[Interaction] = Field(default_factory=list)
    replies: list[OutboundReply] = Field(default_factory=list)
    touched_events: list[str] = Field(default_factory=list)
    trace: list[str] = Field(default_factory=list)
    turn: Turn | None = None
