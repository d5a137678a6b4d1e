"""After the webhook has answered: each recorded message through the engine, in order,
and the replies its commit owes composed and delivered.

The worker wires the jobs, each in a module of its own: arrival (the inbox), processing
(readings, the step, one commit), composing, sending, recovery. One lane per participant
keeps their messages (and their replies) in arrival order while different participants
proceed in parallel. Everything the worker holds in memory is also in the store, so a
crash loses nothing: recovery picks up inbox items still pending and replies not yet
sent. Several processes can share one store: the participant's queue in the store keeps
their messages in the order received, whichever process received them (see
`listener.processing.turns`), and the engine's version check keeps each commit whole.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from listener import metrics
from listener.ai.composer import Composer, TemplateComposer
from listener.ai.transcription import Transcriber
from listener.config import Settings
from listener.conversation.engine import Engine
from listener.conversation.extraction import Reader
from listener.logs import message_context
from listener.models import InboundMessage, OutboundReply
from listener.processing.admission import Admission
from listener.processing.answering_first import AnsweringFirst
from listener.processing.composing import Composing
from listener.processing.delivery import Delivery
from listener.processing.lanes import OrderedLanes
from listener.processing.processing import Failed, Processing
from listener.processing.recovery import Recovery
from listener.processing.sending import Sending
from listener.processing.turns import Turns
from listener.store.base import Store, StoreError, VersionConflict

log = logging.getLogger(__name__)

LOCAL_STORE_THREADS = 8
"""Threads for processing's store calls (a read, a commit) and the microseconds of the
step, on SQLite: its writes are one at a time, so more threads would only wait."""
NETWORK_STORE_THREADS = 32
"""On Firestore: each call is a round trip a thread waits on, and the calls of threads
waiting at once go in one request (`listener.store.coalesce`), so more threads make
fewer, larger requests."""

ADMITTED_PER_THREAD = 2
"""Messages in processing at once, per store thread: enough that the calls of threads
waiting at once go in one request, few enough that each message is finished first."""

STORE_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15, 30)
"""Waits between tries of a message the store could not take (an outage, a lock); after
the last, the message stays pending for recovery. Storage trouble never counts as a
failure of the message itself."""


class Worker:
    """Owns the per-participant lanes for processing and for sending."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        engine: Engine,
        transcriber: Transcriber,
        delivery: Delivery,
        *,
        reader: Reader | None = None,
        composer: Composer | None = None,
        answering_first: AnsweringFirst | None = None,
    ) -> None:
        self.settings = settings
        self.answering_first = answering_first or AnsweringFirst()
        self.store = store
        self.engine = engine
        self.delivery = delivery
        threads = NETWORK_STORE_THREADS if settings.store_url.startswith("firestore") else LOCAL_STORE_THREADS
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="processing")
        self._queued: set[str] = set()
        self.identity = delivery.claimant
        """This process, in the store: who recorded a message, whose turn it is, who claimed a reply."""
        self.composing = Composing(composer or TemplateComposer())
        self.processing = Processing(
            settings, store, engine, transcriber, reader, self._threads, self._claim,
            turns=Turns(self.identity, settings.turn_seconds), queued_here=self._queued.__contains__,
            admission=Admission(ADMITTED_PER_THREAD * threads), composing=self.composing,
        )
        self.sending = Sending(delivery)
        self.recovery = Recovery(settings, store, store, self._resume_message, self._resume_reply)
        self._lanes = OrderedLanes("process")

    # processing ----------------------------------------------------------------------

    def submit(self, message: InboundMessage) -> None:
        """Queue a recorded message behind the participant's earlier ones (once)."""
        self._resume_message(message)

    def _resume_message(self, message: InboundMessage) -> bool:
        if message.message_sid in self._queued:
            return False
        self._queued.add(message.message_sid)
        self._lanes.put(message.participant, lambda: self._process(message))
        return True

    def _claim(self, replies: list[OutboundReply]) -> None:
        """Replies are committed already claimed by this process's sender (a new reply is
        pending, so always free to claim)."""
        now = datetime.now(timezone.utc)
        claimant, lease = self.delivery.claimant, self.delivery.policy.claim_seconds
        replies[:] = [reply.claim(claimant, now, lease) or reply for reply in replies]

    async def _process(self, message: InboundMessage) -> None:
        with message_context(message.message_sid, message.participant):
            try:
                await self.answering_first.turn()
                await self._process_with_retries(message)
            finally:
                self._queued.discard(message.message_sid)

    async def _process_with_retries(self, message: InboundMessage) -> None:
        for wait in (*STORE_RETRY_SECONDS, None):
            try:
                outcomes = await self.processing.run_all(message)
            except (StoreError, VersionConflict) as exc:
                metrics.MESSAGES_FAILED.inc()
                if wait is None:
                    log.warning("message %s not processed (%s); it stays pending", message.message_sid, exc)
                    return
                log.warning("message %s: the store failed (%s); trying again in %gs", message.message_sid, exc, wait)
                await asyncio.sleep(wait)
                continue
            except Failed as failure:
                metrics.MESSAGES_FAILED.inc()
                await self._failed(failure.message, failure.__cause__ or failure)
                return
            for outcome in outcomes:
                metrics.MESSAGES_PROCESSED.inc()
                self.processing.failed.discard(outcome.message_sid)
                for reply in outcome.replies:
                    self.sending.submit(reply, self.composing.begin(reply))
            return

    async def _failed(self, message: InboundMessage, error: Exception) -> None:
        """The flow raised on this message (a bug, not storage trouble). Retry it (a
        recovery sweep will), but after `PROCESS_MAX_ATTEMPTS` tries, counted on the inbox
        item itself so every process adds to one count, keep it aside: recorded, no longer
        retried. Until then the participant's later messages do not wait for it."""
        self.processing.failed.add(message.message_sid)
        try:
            failures = await self.processing.on_thread(
                self.store.record_failed_attempt, message.message_sid, f"{type(error).__name__}: {error}"
            )
        except StoreError:
            log.exception("message %s failed, and its failure could not be counted; it stays pending", message.message_sid)
            return
        if failures == 0:
            log.exception("message %s failed; it is no longer pending", message.message_sid)
            return
        if failures < self.settings.process_max_attempts:
            log.exception("message %s failed (try %d); it stays pending", message.message_sid, failures)
            return
        log.exception("message %s failed %d times; kept aside as unprocessed", message.message_sid, failures)
        try:
            await self.processing.set_aside(message)
            self.processing.failed.discard(message.message_sid)
        except Exception:
            log.exception("message %s could not be set aside; it stays pending", message.message_sid)

    # sending -------------------------------------------------------------------------

    def _resume_reply(self, reply: OutboundReply) -> bool:
        return self.sending.resume(reply, self.composing.begin)

    # life ----------------------------------------------------------------------------

    async def recover(self) -> tuple[int, int]:
        return await self.recovery.sweep()

    def start(self) -> None:
        """Begin the recovery sweeps (the first one at once)."""
        self.recovery.start()

    async def stop(self, timeout: float = 5.0) -> None:
        """Let queued messages, then their replies, finish for up to `timeout` seconds each;
        what is left stays pending for the next start."""
        await self.recovery.stop()
        finished = await self._lanes.drain(timeout) and await self.sending.drain(timeout)
        if not finished:
            log.warning("stopping with work in progress; it stays pending for the next start")
        await self._lanes.cancel()
        await self.sending.cancel()
        self._threads.shutdown(wait=False, cancel_futures=True)
