"""Delivering one outbox reply: split, send, retry what may succeed later, record the rest.

A reply is written to the outbox in the same commit as the message that caused it; this
module takes it from `pending` to `sent` (with the provider's SID) or `failed` (with the
error code, e.g. 63016 outside WhatsApp's 24-hour window). 429s, 5xx and network errors
are retried with exponential backoff and full jitter; when the attempts run out the reply
stays `pending` with the last error, and the worker's periodic recovery tries it again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from listener import metrics
from listener.channel.sender import Sender, SendError, split_text
from listener.config import Settings
from listener.masking import mask_phone
from listener.models import OutboundReply
from listener.store.base import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    base_seconds: float
    max_seconds: float
    claim_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.send_max_attempts,
            base_seconds=settings.send_retry_base_seconds,
            max_seconds=settings.send_retry_max_seconds,
            claim_seconds=settings.send_claim_seconds,
        )

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: a random wait up to base * 2^attempt, so retries spread out."""
        return rng() * min(self.max_seconds, self.base_seconds * (2**attempt))


class ClaimLost(Exception):
    """Another sender took the reply over (our claim expired while we waited)."""


class Delivery:
    """Sends outbox replies through a `Sender` and records the result in the `Store`."""

    def __init__(self, store: Store, sender: Sender, policy: RetryPolicy) -> None:
        self.store = store
        self.sender = sender
        self.policy = policy
        self.claimant = uuid.uuid4().hex

    async def _claim(self, reply_id: str) -> OutboundReply | None:
        return await asyncio.to_thread(self.store.claim_reply, reply_id, self.policy.claim_seconds, self.claimant)

    async def deliver(self, reply: OutboundReply) -> bool:
        """Send a reply once: claim it first, so no other sender (another process's
        recovery sweep) sends it too; a reply already sent, failed or claimed is left alone.
        A long reply goes out in parts, its progress recorded, so a retry resumes after the
        parts already sent. False when the reply is still pending (to be tried again)."""
        current = await self._claim(reply.id)
        if current is None:
            return True
        composed = None
        if reply.compose is not None:  # the composer wrote its text after the commit
            current = composed = current.model_copy(update={"text": reply.text})
        parts = split_text(current.text)
        provider_sid = current.provider_sid
        try:
            for index in range(current.parts_sent, len(parts)):
                provider_sid = await self._send_part(current, parts[index])
                if index + 1 < len(parts):
                    await asyncio.to_thread(self.store.record_reply_part, current.id, index + 1, provider_sid)
        except ClaimLost:
            log.warning("reply %s: another sender took it over; leaving it to them", current.id)
            return True
        except SendError as exc:
            error = f"{exc.code}: {exc}" if exc.code else str(exc)
            if exc.permanent:
                log.warning("reply %s to %s failed for good: %s", current.id, mask_phone(current.participant), error)
                metrics.REPLIES_FAILED.inc()
                await asyncio.to_thread(self.store.update_reply, current.id, "failed", provider_sid, error, composed)
                return True
            log.warning("reply %s to %s still pending: %s", current.id, mask_phone(current.participant), error)
            await asyncio.to_thread(self.store.update_reply, current.id, "pending", provider_sid, error)
            return False
        # A long reply goes out in parts; the last part's SID is the one kept, so its
        # delivery status stands for the reply's.
        await asyncio.to_thread(self.store.update_reply, current.id, "sent", provider_sid, None, composed)
        metrics.REPLIES_SENT.inc()
        log.info("reply %s sent to %s", current.id, mask_phone(current.participant))
        return True

    async def _send_part(self, reply: OutboundReply, text: str) -> str | None:
        failures = 0
        while True:
            try:
                return await self.sender.send(reply.participant, text)
            except SendError as exc:
                failures += 1
                if exc.permanent or failures >= self.policy.attempts:
                    raise
                delay = self.policy.delay(failures - 1)
                log.info("send to %s failed (%s), retrying in %.2fs", mask_phone(reply.participant), exc.status, delay)
                await asyncio.sleep(delay)
                if await self._claim(reply.id) is None:
                    raise ClaimLost(reply.id)
