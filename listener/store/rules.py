"""The rules every store keeps, written once: each store only says how to read and write.

How a reply is claimed is the model's (`OutboundReply.claim`), as is which delivery
receipt changes it (`takes_receipt`). Here: what a send's result writes, how a failed
attempt at an inbox item is counted, and how a long stream is read a page at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

from listener.models import OutboundReply, ReplyStatus

PAGE_SIZE = 500
"""Rows or documents per query page of an operator's stream."""

MAX_ERROR_CHARACTERS = 2000
"""The most of an error kept on an inbox item."""

Item = TypeVar("Item")
Key = TypeVar("Key")


def pages(
    fetch: Callable[[Key | None, int], list[Item]], key: Callable[[Item], Key], size: int = PAGE_SIZE
) -> Iterator[Item]:
    """Every item of an ordered read, one page in memory at a time: `fetch(after, size)`
    reads the `size` items after the key `after` (from the start when None). Each page is
    a short read of its own, so a slow reader never holds a query or a lock open."""
    after: Key | None = None
    while True:
        page = fetch(after, size)
        yield from page
        if len(page) < size:
            return
        after = key(page[-1])


def failed_attempt(status: str | None, attempts: int | None, error: str) -> dict[str, Any] | None:
    """An inbox item's `attempts` and `last_error` after one more failed try at it; None
    when it is not pending (absent, done, or a forgotten participant's tombstone), which
    is never written to."""
    if status != "pending":
        return None
    return {"attempts": (attempts or 0) + 1, "last_error": error[:MAX_ERROR_CHARACTERS]}


def counts_attempt(status: ReplyStatus) -> bool:
    """A send's result counts as an attempt when Twilio answered for good."""
    return status in ("sent", "failed")


def send_result(
    status: ReplyStatus,
    provider_sid: str | None = None,
    error: str | None = None,
    composed: OutboundReply | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The fields a send's result sets on a reply (with `attempts` one more when
    `counts_attempt`): its status, the claim given up, what is known of the send, and for
    a reply Twilio accepted, when (`sent_at`, `at` or now)."""
    changes: dict[str, Any] = {"status": status, "claimed_by": None, "claimed_until": None}
    if status == "sent":
        changes["sent_at"] = at or datetime.now(timezone.utc)
    if provider_sid is not None:
        changes["provider_sid"] = provider_sid
    if error is not None:
        changes["error"] = error
    if composed is not None:
        changes["text"] = composed.text
    return changes


def with_result(reply: OutboundReply, changes: dict[str, Any]) -> OutboundReply:
    """The reply after a send's result (`send_result`), for a store that rewrites it whole."""
    updated = reply.model_copy(update=changes)
    updated.attempts += counts_attempt(changes["status"])
    return updated
