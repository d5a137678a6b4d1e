"""After the webhook has answered: run each recorded message through the engine, in order,
and deliver the replies its commit wrote to the outbox.

One lane per participant keeps their messages (and their replies) in arrival order while
different participants proceed in parallel. Everything the worker holds in memory is
also in the store, so a crash loses nothing: on start and then periodically it picks up
inbox items still pending and replies not yet sent. The engine's version check keeps a
participant consistent when several processes share one store.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from listener import metrics
from listener.ai.transcription import Transcriber
from listener.config import Settings
from listener.conversation.engine import Engine
from listener.logs import message_context
from listener.models import InboundMessage, OutboundReply, Outcome
from listener.processing.arrival import Arrival
from listener.processing.delivery import Delivery
from listener.processing.lanes import OrderedLanes
from listener.processing.sending import Sending
from listener.processing.voice import with_transcript
from listener.store.base import Store, StoreError, VersionConflict

log = logging.getLogger(__name__)

RECOVERY_BATCH = 500
# As many as asyncio's default pool has: the engine's parallelism is unchanged.
ENGINE_THREADS = min(32, (os.cpu_count() or 1) + 4)


class Worker:
    """Owns the per-participant lanes for processing and for sending."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        engine: Engine,
        transcriber: Transcriber,
        delivery: Delivery,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.transcriber = transcriber
        self.delivery = delivery
        self.arrival = Arrival(store, self.submit)
        self.sending = Sending(delivery)
        self._processing = OrderedLanes("process")
        self._queued_messages: set[str] = set()
        self._failures: dict[str, int] = {}
        self._recovery_task: asyncio.Task[None] | None = None
        self._engine_threads = ThreadPoolExecutor(ENGINE_THREADS, thread_name_prefix="engine")

    async def accept(self, participant: str, build: Callable[[datetime], InboundMessage]) -> bool:
        """Record a delivery in the inbox and queue it; False when it was seen before."""
        return await self.arrival.accept(participant, build)

    # processing ----------------------------------------------------------------------

    def submit(self, message: InboundMessage) -> None:
        """Queue a recorded message behind the participant's earlier ones (once)."""
        if message.message_sid in self._queued_messages:
            return
        self._queued_messages.add(message.message_sid)
        self._processing.put(message.participant, lambda: self._process(message))

    async def _process(self, message: InboundMessage) -> None:
        with message_context(message.message_sid, message.participant):
            await self._process_tagged(message)

    async def _process_tagged(self, message: InboundMessage) -> None:
        try:
            if await asyncio.to_thread(self.store.inbound_status, message.message_sid) != "pending":
                return
            prepared = await with_transcript(message, self.transcriber, self.settings)
            outcome = await self._run_engine(self.engine.process, prepared)
        except (StoreError, VersionConflict):
            metrics.MESSAGES_FAILED.inc()
            log.exception("message %s not processed (the store); it stays pending", message.message_sid)
            return
        except Exception:
            metrics.MESSAGES_FAILED.inc()
            await self._failed(message)
            return
        finally:
            self._queued_messages.discard(message.message_sid)
        self._failures.pop(message.message_sid, None)
        if outcome is not None:
            metrics.MESSAGES_PROCESSED.inc()
            for reply in outcome.replies:
                self.submit_reply(reply)

    async def _failed(self, message: InboundMessage) -> None:
        """The flow raised on this message. Retry it (a recovery sweep will), but after
        `PROCESS_MAX_ATTEMPTS` tries keep it aside: recorded, no longer retried."""
        failures = self._failures[message.message_sid] = self._failures.get(message.message_sid, 0) + 1
        if failures < self.settings.process_max_attempts:
            log.exception("message %s failed (try %d); it stays pending", message.message_sid, failures)
            return
        log.exception("message %s failed %d times; kept aside as unprocessed", message.message_sid, failures)
        try:
            await self._run_engine(self.engine.set_aside, message)
        except Exception:
            log.exception("message %s could not be set aside; it stays pending", message.message_sid)
            return
        self._failures.pop(message.message_sid, None)

    async def _run_engine(
        self, run: Callable[[InboundMessage], Outcome | None], message: InboundMessage
    ) -> Outcome | None:
        """An engine call (`process`, `set_aside`) on the worker's own threads, in the
        caller's logging context.

        It may wait seconds on the model. On the default pool, shared with the webhook's
        inbox writes, a few slow messages would hold every thread and the 200s would queue
        behind them; on threads of its own, only processing waits.
        """
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._engine_threads, context.run, run, message)

    def submit_reply(self, reply: OutboundReply) -> None:
        self.sending.submit(reply)

    # recovery ------------------------------------------------------------------------

    async def recover(self) -> tuple[int, int]:
        """Queue pending inbox items and unsent replies older than the grace period
        (younger ones may still be in another process's hands); counts queued."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.settings.recovery_grace_seconds)
        messages = await asyncio.to_thread(self.store.pending_inbound, RECOVERY_BATCH)
        replies = await asyncio.to_thread(self.store.pending_replies, RECOVERY_BATCH)
        queued = (0, 0)
        for message in messages:
            if message.received_at <= cutoff and message.message_sid not in self._queued_messages:
                self.submit(message)
                queued = (queued[0] + 1, queued[1])
        for reply in replies:
            if reply.created_at <= cutoff and self.sending.resume(reply):
                queued = (queued[0], queued[1] + 1)
        if any(queued):
            log.info("recovery: %d pending messages and %d unsent replies queued", *queued)
        return queued

    async def _recover_forever(self) -> None:
        while True:
            try:
                await self.recover()
            except Exception:
                log.exception("recovery sweep failed; trying again in %gs", self.settings.recovery_interval_seconds)
            await asyncio.sleep(self.settings.recovery_interval_seconds)

    def start(self) -> None:
        """Begin the recovery sweeps (the first one at once)."""
        self._recovery_task = asyncio.get_running_loop().create_task(self._recover_forever(), name="recovery")

    async def stop(self, timeout: float = 5.0) -> None:
        """Let queued messages, then their replies, finish for up to `timeout` seconds each;
        what is left stays pending for the next start."""
        if self._recovery_task is not None:
            self._recovery_task.cancel()
            await asyncio.gather(self._recovery_task, return_exceptions=True)
        finished = await self._processing.drain(timeout) and await self.sending.drain(timeout)
        if not finished:
            log.warning("stopping with work in progress; it stays pending for the next start")
        await self._processing.cancel()
        await self.sending.cancel()
        self._engine_threads.shutdown(wait=False, cancel_futures=True)
