"""Delivering one outbox reply: split, send, retry what may succeed later, record the rest.

A reply is written to the outbox in the same commit as the message that caused it; this
module takes it from `pending` (or `sending`, claimed by this process at the commit) to
`sent` (with the provider's SID) or `failed` (with the error code, e.g. 63016 outside
WhatsApp's 24-hour window), recorded in one store write. 429s, 5xx and network errors
are retried with exponential backoff and full jitter; when the attempts run out the reply
stays `pending` with the last error, and the worker's periodic recovery tries it again.

Two rules keep a reply from reaching a participant twice:
- a sender holds a claim on the reply while it sends, and every request to Twilio ends
  (`SEND_TIMEOUT_SECONDS`) before the claim does; the claim is renewed before a request
  when less than halfway between the deadline and the claim is left;
- a send whose outcome is unknown (a deadline passed, the connection dropped, a 5xx, a
  process killed while it held the claim) is looked up in Twilio's message log before it
  is sent again (`listener.processing.lookup`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from listener import metrics
from listener.channel.sender import (
    MessageLog,
    Sender,
    SendError,
    SentMessage,
    split_text,
)
from listener.config import Settings
from listener.masking import mask_phone
from listener.models import OutboundReply
from listener.processing.lookup import (
    UNKNOWN_OUTCOME,
    find_part,
    normalised,
    outcome_unknown,
    recorded_elsewhere,
    search_start,
)
from listener.processing.throttle import Throttle
from listener.store.ports import Outbox

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    base_seconds: float
    max_seconds: float
    claim_seconds: float
    timeout_seconds: float
    concurrency: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.send_max_attempts,
            base_seconds=settings.send_retry_base_seconds,
            max_seconds=settings.send_retry_max_seconds,
            claim_seconds=settings.send_claim_seconds,
            timeout_seconds=settings.send_timeout_seconds,
            concurrency=settings.send_concurrency,
        )

    @property
    def renew_below(self) -> float:
        """Renew the claim before a request when less than this many seconds are left:
        halfway between the deadline and the claim (the settings keep the deadline shorter)."""
        return (self.timeout_seconds + self.claim_seconds) / 2

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: a random wait up to base * 2^attempt, so retries spread out."""
        return rng() * min(self.max_seconds, self.base_seconds * (2**attempt))


class ClaimLost(Exception):
    """Another sender took the reply over (our claim expired while we waited)."""


@dataclass
class _Progress:
    """One delivery's working state."""

    reply: OutboundReply
    claimed_until: datetime
    unknown: bool  # a request may have created the message: look before sending
    sent: set[str]  # SIDs of this reply's parts already sent (not candidates in a lookup)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _composed(progress: _Progress) -> OutboundReply | None:
    """The reply as sent, when the composer wrote its text after the commit: the store
    keeps that text (on the reply and its interaction) instead of the template."""
    return progress.reply if progress.reply.compose is not None else None


class Delivery:
    """Sends outbox replies through a `Sender` and records the result in the `Outbox`.

    `claimant` identifies this process's claims; new replies are committed already claimed
    by it for `policy.claim_seconds`, so sending them needs no claim read.
    """

    def __init__(self, outbox: Outbox, sender: Sender, policy: RetryPolicy) -> None:
        self.outbox = outbox
        self.sender = sender
        self.policy = policy
        self.claimant = uuid.uuid4().hex
        self.throttle = Throttle(policy.concurrency, policy.base_seconds, policy.max_seconds)
        # Replies this process sent a request for whose result the store does not hold
        # (the write failed, or the attempt was cut short): the next try looks first.
        self._unrecorded: set[str] = set()
        # Replies this process settled, until the claim they were held under ends: a copy
        # read before the result was written still looks held, and must not go out again.
        self._settled: OrderedDict[str, datetime] = OrderedDict()

    def _holds(self, reply: OutboundReply, now: datetime) -> bool:
        return (
            reply.status == "sending"
            and reply.claimed_by == self.claimant
            and reply.claimed_until is not None
            and reply.claimed_until > now
        )

    async def deliver(self, reply: OutboundReply) -> bool:
        """Send a reply once. A reply this process holds (claimed at the commit) goes out
        without a store read; any other is claimed first, so no other sender (another
        process's recovery sweep) sends it too, and one already sent, failed or claimed is
        left alone. A long reply goes out in parts, its progress recorded, so a retry
        resumes after the parts already sent. False when the reply is still pending."""
        now = _now()
        self._forget_settled(now)
        if reply.id in self._settled:
            return True
        if self._holds(reply, now):
            current = reply
        else:
            claimed = await asyncio.to_thread(
                self.outbox.claim_reply, reply.id, self.policy.claim_seconds, self.claimant
            )
            if claimed is None:
                return True
            # The composer's text, when the model wrote it after the commit.
            current = claimed.model_copy(update={"text": reply.text}) if reply.compose is not None else claimed
        assert current.claimed_until is not None
        progress = _Progress(
            current, current.claimed_until, self._unknown(reply, current), {current.provider_sid} - {None}
        )
        parts = split_text(current.text)
        provider_sid = current.provider_sid
        try:
            for index in range(current.parts_sent, len(parts)):
                provider_sid = await self._send_part(progress, parts, index)
                if provider_sid:
                    progress.sent.add(provider_sid)
                if index + 1 < len(parts):
                    await asyncio.to_thread(self.outbox.record_reply_part, current.id, index + 1, provider_sid)
                    self._unrecorded.discard(current.id)
        except ClaimLost:
            log.warning("reply %s: another sender took it over; leaving it to them", current.id)
            return True
        except SendError as exc:
            return await self._record_failure(progress, provider_sid, exc)
        # A long reply goes out in parts; the last part's SID is the one kept, so its
        # delivery status stands for the reply's.
        await asyncio.to_thread(self.outbox.update_reply, current.id, "sent", provider_sid, None, _composed(progress))
        self._settle(progress)
        metrics.REPLIES_SENT.inc()
        log.info("reply %s sent to %s", current.id, mask_phone(current.participant))
        return True

    def _settle(self, progress: _Progress) -> None:
        self._unrecorded.discard(progress.reply.id)
        self._settled[progress.reply.id] = progress.claimed_until

    def _forget_settled(self, now: datetime) -> None:
        """Drop settled replies whose claim has ended (no copy of it looks held any more);
        claims end about in the order they were taken."""
        while self._settled and next(iter(self._settled.values())) <= now:
            self._settled.popitem(last=False)

    def _unknown(self, given: OutboundReply, current: OutboundReply) -> bool:
        """Whether an earlier attempt may have created the message: one recorded as
        unknown, one another sender held (it may have sent it and died), or one this
        process sent without recording the result."""
        return (
            outcome_unknown(current.error)
            or (given.status == "sending" and given.claimed_by != self.claimant)
            or given.id in self._unrecorded
        )

    async def _record_failure(self, progress: _Progress, provider_sid: str | None, exc: SendError) -> bool:
        reply = progress.reply
        error = f"{exc.code}: {exc}" if exc.code else str(exc)
        if progress.unknown:
            # Never `failed` while the message may exist: looked up again next time.
            error = f"{UNKNOWN_OUTCOME}: {error}"
        elif exc.permanent:
            log.warning("reply %s to %s failed for good: %s", reply.id, mask_phone(reply.participant), error)
            metrics.REPLIES_FAILED.inc()
            await asyncio.to_thread(
                self.outbox.update_reply, reply.id, "failed", provider_sid, error, _composed(progress)
            )
            self._settle(progress)
            return True
        log.warning("reply %s to %s still pending: %s", reply.id, mask_phone(reply.participant), error)
        await asyncio.to_thread(self.outbox.update_reply, reply.id, "pending", provider_sid, error)
        self._unrecorded.discard(reply.id)
        return False

    async def _send_part(self, progress: _Progress, parts: list[str], index: int) -> str | None:
        """One part to Twilio: looked up first when an earlier try may have sent it."""
        reply = progress.reply
        text = parts[index]
        failures = 0
        while True:
            try:
                if progress.unknown:
                    found = await self._call(progress, lambda: self._look_up(progress, parts, index))
                    progress.unknown = False
                    if found is not None:
                        log.info("reply %s to %s was already at Twilio as %s; recorded, not sent again",
                                 reply.id, mask_phone(reply.participant), found.sid)
                        if normalised(found.body) != normalised(text):
                            # Composed anew since: what the participant got is what is kept.
                            progress.reply = reply.model_copy(update={"text": found.body})
                        return found.sid
                self._unrecorded.add(reply.id)
                return await self._call(progress, lambda: self.sender.send(reply.participant, text))
            except SendError as exc:
                progress.unknown = progress.unknown or exc.unknown
                failures += 1
                if (exc.permanent and not progress.unknown) or failures >= self.policy.attempts:
                    raise
                if exc.status == 429:
                    log.info("Twilio answered 429 for %s; every send waits", mask_phone(reply.participant))
                    continue  # the throttle's shared pause is the wait
                delay = self.policy.delay(failures - 1)
                log.info("request for %s failed (%s), retrying in %.2fs", mask_phone(reply.participant),
                         exc.status or type(exc.__cause__).__name__, delay)
                await asyncio.sleep(delay)

    async def _call(self, progress: _Progress, request: Callable[[], Awaitable[T]]) -> T:
        """One request to Twilio: in a throttle slot, under a claim that outlasts it."""
        async with self.throttle.turn() as ticket:
            await self._keep_claim(progress)
            try:
                result = await request()
            except SendError as exc:
                if exc.status == 429:
                    ticket.rate_limited(exc.retry_after)
                else:
                    ticket.answered()
                raise
            ticket.answered()
            return result

    async def _keep_claim(self, progress: _Progress) -> None:
        """Renew the claim when what is left might not outlast one request."""
        if (progress.claimed_until - _now()).total_seconds() >= self.policy.renew_below:
            return
        reply = progress.reply
        renewed = await asyncio.to_thread(self.outbox.claim_reply, reply.id, self.policy.claim_seconds, self.claimant)
        if renewed is None or renewed.claimed_until is None:
            raise ClaimLost(reply.id)
        progress.claimed_until = renewed.claimed_until
        if (renewed.claimed_until - _now()).total_seconds() <= self.policy.timeout_seconds:
            raise ClaimLost(reply.id)  # the store took so long that the claim would not outlast a request

    async def _look_up(self, progress: _Progress, parts: list[str], index: int) -> SentMessage | None:
        """This part in Twilio's log, or None when it is not there (or the sender keeps no
        log: the console and the simulator cannot have sent it without knowing). The
        reply's other parts are not candidates, nor are other replies' messages."""
        if not isinstance(self.sender, MessageLog):
            return None
        reply = progress.reply
        messages = await self.sender.sent_since(reply.participant, search_start(reply))
        if not messages:
            return None
        recorded = await asyncio.to_thread(recorded_elsewhere, self.outbox, reply)
        recorded.sids |= progress.sent
        recorded.texts |= {normalised(part) for number, part in enumerate(parts) if number != index}
        return find_part(parts[index], messages, recorded, composed=reply.compose is not None)
