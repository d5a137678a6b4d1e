"""Everything the webhook routes need, started and stopped with the app."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from listener.ai.transcription import Transcriber
from listener.channel.sender import ConsoleSender, Sender, build_sender
from listener.channel.signature import SignatureCheck
from listener.channel.startup import check_settings, validation_token
from listener.config import Settings
from listener.operators.blocklist import Blocklist
from listener.processing.answering_first import AnsweringFirst
from listener.processing.arrival import Arrival, InboxLimits
from listener.processing.delivery import Delivery, RetryPolicy
from listener.processing.worker import Worker
from listener.runtime import Runtime, build_runtime
from listener.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class WebService:
    settings: Settings
    store: Store
    worker: Worker
    arrival: Arrival
    answering_first: AnsweringFirst
    signature: SignatureCheck
    sender: Sender
    blocklist: Blocklist
    owned_runtime: Runtime | None
    owns_sender: bool

    @classmethod
    async def start(
        cls,
        settings: Settings,
        runtime: Runtime | None = None,
        sender: Sender | None = None,
        transcriber: Transcriber | None = None,
    ) -> WebService:
        """Check the settings, open what was not given, and begin recovery sweeps."""
        for warning in check_settings(settings):
            log.warning(warning)
        owned_runtime = None
        if runtime is None:
            runtime = owned_runtime = await asyncio.to_thread(build_runtime, settings)
        owns_sender = sender is None
        sender = sender or build_sender(settings)
        delivery = Delivery(runtime.store, sender, RetryPolicy.from_settings(settings))
        answering_first = AnsweringFirst()
        worker = Worker(
            settings,
            runtime.store,
            runtime.engine,
            transcriber or runtime.transcriber,
            delivery,
            reader=runtime.reader,
            composer=runtime.composer,
            answering_first=answering_first,
        )
        worker.start()
        service = cls(
            settings=settings,
            store=runtime.store,
            worker=worker,
            arrival=Arrival(runtime.store, worker.submit, InboxLimits.from_settings(settings), worker.identity),
            answering_first=answering_first,
            signature=SignatureCheck(
                validation_token(settings), settings.public_url, settings.twilio_connection_overrides
            ),
            sender=sender,
            blocklist=Blocklist(runtime.store, ttl=settings.blocklist_cache_seconds),
            owned_runtime=owned_runtime,
            owns_sender=owns_sender,
        )
        log.info(
            "webhook ready: replies via %s, signatures %s",
            "the console" if isinstance(sender, ConsoleSender) else type(sender).__name__,
            "checked" if service.signature.enabled else "NOT checked",
        )
        return service

    async def stop(self) -> None:
        self.arrival.close()
        await self.worker.stop()
        if self.owns_sender:
            await self.sender.close()
        if self.owned_runtime is not None:
            await self.owned_runtime.close_model()
            self.owned_runtime.close()
