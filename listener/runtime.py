"""Assemble the engine from configuration: one flow, one store, the services."""

from __future__ import annotations

from dataclasses import dataclass

from listener.ai.rules import RuleExtractor
from listener.ai.transcription import Transcriber, UnavailableTranscriber
from listener.config import Settings
from listener.conversation.engine import Engine
from listener.conversation.events import EventDirectory
from listener.conversation.flow import Flow
from listener.conversation.responding import TemplateResponder
from listener.conversation.turn import Services
from listener.store import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    flow: Flow
    store: Store
    engine: Engine
    transcriber: Transcriber

    def close(self) -> None:
        self.store.close()


def build_services(settings: Settings, store: Store) -> Services:
    """The extractor and responder the configuration asks for.

    With `OPENAI_API_KEY` set, the model extracts and replies, with the offline rules and
    the graph's templates inside them as the fallback; without it, the offline pair alone.
    """
    events = EventDirectory(store, ttl=settings.event_cache_seconds)
    if not settings.openai_api_key:
        return Services(extractor=RuleExtractor(), responder=TemplateResponder(), events=events)
    # imported here: the SDK takes a second to import, which offline commands never need
    from listener.ai.client import sync_client
    from listener.ai.extractor import OpenAIExtractor
    from listener.ai.responder import OpenAIResponder

    client = sync_client(settings)
    return Services(
        extractor=OpenAIExtractor(client, settings.openai_model, rules=RuleExtractor()),
        responder=OpenAIResponder(client, settings.openai_model, fallback=TemplateResponder()),
        events=events,
    )


def build_transcriber(settings: Settings) -> Transcriber:
    """The voice-note transcriber the configuration asks for (none without a key)."""
    if not settings.openai_api_key:
        return UnavailableTranscriber()
    from listener.ai.client import async_client
    from listener.ai.transcriber import OpenAITranscriber

    return OpenAITranscriber(
        async_client(settings), settings.openai_transcribe_model, settings.openai_transcribe_format
    )


def build_runtime(settings: Settings | None = None, store: Store | None = None) -> Runtime:
    settings = settings or Settings()
    flow = Flow.from_file(settings.flow_file)
    store = store or open_store(settings.store_url)
    services = build_services(settings, store)
    return Runtime(
        settings=settings,
        flow=flow,
        store=store,
        engine=Engine(flow, store, services),
        transcriber=build_transcriber(settings),
    )
