"""The OpenAI implementations of the `Extractor`, `Responder` and `Transcriber` contracts.

Each one asks the model and falls back to the offline part (rules, templates, "stored
untranscribed") whenever the model refuses, answers something unusable, is slow or is
down, so a message is never lost to an outage. `listener.runtime` picks them when
`OPENAI_API_KEY` is set.

Extraction and replies run inside the engine's worker thread (the state machine fires
synchronously there), so they use the synchronous client; transcription runs on the
worker's event loop before the engine, so it uses the asynchronous client.
"""

from listener.ai.client import async_client, sync_client
from listener.ai.extractor import OpenAIExtractor
from listener.ai.responder import OpenAIResponder
from listener.ai.transcriber import OpenAITranscriber

__all__ = ["OpenAIExtractor", "OpenAIResponder", "OpenAITranscriber", "async_client", "sync_client"]
