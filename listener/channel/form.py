"""Twilio's webhook forms as typed models: what the listener accepts, and why not otherwise.

Twilio posts `application/x-www-form-urlencoded` fields. They are validated here, at the
edge, so the engine only ever sees a well-formed `InboundMessage`; anything else gets a
4xx naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from listener.models import InboundMessage, Media, ReplyStatus
from listener.operators.privacy import normalise_number

SID_PATTERN = r"^[A-Za-z]{2}[A-Za-z0-9]{1,62}$"
# WhatsApp's own limit on a message's text; anything longer did not come from WhatsApp.
MAX_BODY_CHARS = 4096
MAX_MEDIA = 10
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def repeated_field(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first field name the form carries more than once, or None.

    Twilio's messaging webhooks never repeat a name (media come numbered: MediaUrl0,
    MediaUrl1, ...), and its signature cannot tell a repeat from one field: it concatenates
    each name and value without separators, so `Body=a&Body=b` signs exactly as one `Body`
    whose value is `aBodyb`. A repeated name is a form Twilio did not send, signed or not.
    """
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return name
        seen.add(name)
    return None


class TwilioMessageForm(BaseModel):
    """The fields of Twilio's incoming-message webhook the listener uses (others ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_sid: str = Field(alias="MessageSid", pattern=SID_PATTERN)
    sender: str = Field(alias="From", max_length=64)
    to: str | None = Field(default=None, alias="To", max_length=64)
    body: str = Field(default="", alias="Body", max_length=MAX_BODY_CHARS)
    num_media: int = Field(default=0, alias="NumMedia", ge=0, le=MAX_MEDIA)
    profile_name: str | None = Field(default=None, alias="ProfileName", max_length=256)
    wa_id: str | None = Field(default=None, alias="WaId", max_length=32)
    media: list[Media] = Field(default_factory=list, alias="Media")

    @model_validator(mode="before")
    @classmethod
    def _collect_media(cls, data: Any) -> Any:
        """Gather `MediaUrl<i>` / `MediaContentType<i>` for i < NumMedia into `Media`."""
        if not isinstance(data, Mapping):
            return data
        fields = dict(data)
        count = fields.get("NumMedia", "0")
        if not (isinstance(count, str) and count.isdigit() and int(count) <= MAX_MEDIA):
            return fields  # the NumMedia field's own validation says what is wrong
        media = []
        for index in range(int(count)):
            url = fields.get(f"MediaUrl{index}")
            if not url:
                raise ValueError(f"NumMedia is {count} but MediaUrl{index} is missing")
            content_type = fields.get(f"MediaContentType{index}") or DEFAULT_CONTENT_TYPE
            media.append({"url": url, "content_type": content_type})
        fields["Media"] = media
        return fields

    @field_validator("sender")
    @classmethod
    def _phone_number(cls, value: str) -> str:
        return normalise_number(value)

    @field_validator("media")
    @classmethod
    def _media_urls(cls, media: list[Media]) -> list[Media]:
        for item in media:
            if not item.url.lower().startswith(("https://", "http://")) or len(item.url) > 2048:
                raise ValueError("each MediaUrl must be an http(s) URL of at most 2048 characters")
            if len(item.content_type) > 255:
                raise ValueError("each MediaContentType must be at most 255 characters")
        return media

    def to_inbound(self, received_at: datetime) -> InboundMessage:
        return InboundMessage(
            message_sid=self.message_sid,
            participant=self.sender,
            body=self.body,
            media=self.media,
            received_at=received_at,
            profile_name=self.profile_name or None,
        )


# Twilio's intermediate statuses (queued, sending, ...) say nothing the outbox keeps, and
# neither does `sent`: the reply was recorded `sent` when Twilio accepted it. Ignoring it
# spares each reply a store read and a write.
STATUS_MAP: dict[str, ReplyStatus] = {
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "undelivered",
}


class TwilioStatusForm(BaseModel):
    """A message status callback: which message, its new status, and an error if any."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_sid: str = Field(alias="MessageSid", pattern=SID_PATTERN)
    message_status: str = Field(alias="MessageStatus", max_length=32)
    error_code: str | None = Field(default=None, alias="ErrorCode", max_length=16)
    error_message: str | None = Field(default=None, alias="ErrorMessage", max_length=512)

    @property
    def reply_status(self) -> ReplyStatus | None:
        return STATUS_MAP.get(self.message_status.lower())

    @property
    def error(self) -> str | None:
        if not self.error_code:
            return None
        return f"{self.error_code}: {self.error_message}" if self.error_message else self.error_code


def describe(exc: ValidationError) -> str:
    """One line a Twilio debugger or a developer can act on: `From: field required`."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "form"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
