"""Assemble the engine and the model services from configuration: one flow, one store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from listener.ai.composer import Composer, TemplateComposer
from listener.ai.language_id import LangidIdentifier
from listener.ai.rules import RuleExtractor
from listener.ai.transcription import Transcriber, UnavailableTranscriber
from listener.config import Settings
from listener.conversation.engine import Engine
from listener.conversation.events import EventDirectory
from listener.conversation.extraction import Reader
from listener.conversation.flow import Flow
from listener.conversation.turn import Services
from listener.store import Store, open_store

if TYPE_CHECKING:
    import openai


@dataclass
class Runtime:
    settings: Settings
    flow: Flow
    store: Store
    engine: Engine
    transcriber: Transcriber
    composer: Composer
    reader: Reader | None = None
    model_client: openai.AsyncOpenAI | None = None

    async def close_model(self) -> None:
        """Close the model client's connections, on the loop that used them."""
        if self.model_client is not None:
            await self.model_client.close()
            self.model_client = None

    def close(self) -> None:
        self.store.close()


def build_services(settings: Settings, store: Store, flow: Flow) -> Services:
    """What the step reads through: the offline rules, the event directory, and the
    offline language identifier for the languages the flow ships."""
    return Services(
        extractor=RuleExtractor(),
        events=EventDirectory(store, ttl=settings.event_cache_seconds),
        languages=LangidIdentifier(flow.languages),
    )


def build_runtime(settings: Settings | None = None, store: Store | None = None) -> Runtime:
    """The engine, and with `OPENAI_API_KEY` the model around it: reading answers before
    the step, composing acknowledgements and transcribing voice notes, all on the async
    client with one bound on calls in flight. Without a key: rules and templates alone."""
    settings = settings or Settings()
    flow = Flow.from_file(settings.flow_file)
    store = store or open_store(settings.store_url, settings)
    services = build_services(settings, store, flow)
    engine = Engine(flow, store, services)
    if not settings.openai_api_key:
        return Runtime(settings, flow, store, engine, UnavailableTranscriber(), TemplateComposer())
    # imported here: the SDK takes a second to import, which offline commands never need
    from listener.ai.client import async_client
    from listener.ai.composer import OpenAIComposer
    from listener.ai.extractor import OpenAIReader
    from listener.ai.transcriber import OpenAITranscriber

    client = async_client(settings)
    # The SDK imports each API's modules on first use (a tenth of a second): at start,
    # not in the first participant's wait.
    _ = client.chat.completions, client.audio.transcriptions
    in_flight = asyncio.Semaphore(settings.openai_max_in_flight)
    deadline = settings.openai_deadline_seconds
    return Runtime(
        settings,
        flow,
        store,
        engine,
        transcriber=OpenAITranscriber(client, settings.openai_transcribe_model, settings.openai_transcribe_format),
        composer=OpenAIComposer(
            client, settings.openai_model, services.events, in_flight=in_flight, deadline_seconds=deadline
        ),
        reader=OpenAIReader(
            client, settings.openai_model, rules=services.extractor, in_flight=in_flight, deadline_seconds=deadline,
            questions=flow.spec.questions,
        ),
        model_client=client,
    )
