"""Phone numbers as operators handle them: normalised, blocked, or replaced by a key.

Exports and the blocklist must not spread raw numbers. A participant's key is an HMAC of
their number under a random secret kept in the store (created on first use), so it is the
same in every export and every process, yet an export file alone cannot be turned back
into numbers. The blocklist holds the same keys, so forgetting a participant removes
their number from the store while a block on it stays in force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from pydantic import BaseModel

from listener.masking import mask_phone

KEY_SECRET_NAME = "participant-key"
"""The store secret participant keys are made with."""

PHONE_NUMBER = re.compile(r"^\+[1-9][0-9]{5,14}$")
CHANNEL_PREFIXES = ("whatsapp:", "sms:", "mms:")


class NumberError(ValueError):
    """Not a phone number in international form."""


def normalise_number(text: str) -> str:
    """`whatsapp:+1 555 000-1111` (or `15550001111`) -> `+15550001111`: the one form the
    webhook stores participants in and the operators' commands look them up by."""
    bare = text.strip()
    for prefix in CHANNEL_PREFIXES:
        if bare.lower().startswith(prefix):
            bare = bare[len(prefix):]
            break
    bare = re.sub(r"[\s().-]", "", bare)
    bare = bare if bare.startswith("+") else f"+{bare}"
    if not PHONE_NUMBER.match(bare):
        raise NumberError(f"{text!r} is not a phone number in international form, like +15550001111")
    return bare


def participant_key(secret: str, number: str) -> str:
    """A stable pseudonym for a number: `p-` and 16 hex digits of HMAC-SHA256."""
    digest = hmac.new(secret.encode(), number.encode(), hashlib.sha256).hexdigest()
    return f"p-{digest[:16]}"


class BlockedNumber(BaseModel):
    """A number whose messages the webhook drops: its key, and the masked number to show."""

    key: str
    masked: str
    blocked_at: datetime

    @classmethod
    def of(cls, secret: str, number: str, at: datetime) -> BlockedNumber:
        return cls(key=participant_key(secret, number), masked=mask_phone(number), blocked_at=at)
