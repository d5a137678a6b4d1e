"""Composing owed acknowledgements beside the commit, off the engine's threads.

The step commits a reply whose text is the graph's template and, for an event whose
replies the model writes, what the composer needs (`ComposeRequest`). While the commit
goes to the store (and again on recovery, should the process stop before sending) the
composer writes the reply in the event's voice, in the participant's language (the
one the step spoke to them in); the template goes out instead when no model is configured, or the model is slow
(past its deadline), refuses, is down, or writes something that is not two plain
sentences (`plain_reply`: no links, markup or JSON). A crash between the commit and the
send loses nothing: the owed reply is in the outbox and is composed again on recovery.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import openai
from openai.types.chat import ChatCompletion

from listener import metrics
from listener.ai import prompts
from listener.ai.cache import AnswerCache
from listener.conversation.events import EventDirectory
from listener.conversation.responding import plain_reply
from listener.models import OutboundReply

log = logging.getLogger(__name__)

REPLY_TOKENS = 200


class Composer(Protocol):
    async def compose(self, reply: OutboundReply) -> str:
        """The text to send for this owed reply (its template when nothing better)."""


class TemplateComposer:
    """No model: the template is the reply."""

    async def compose(self, reply: OutboundReply) -> str:
        return reply.text


class OpenAIComposer:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        events: EventDirectory,
        *,
        in_flight: asyncio.Semaphore | None = None,
        deadline_seconds: float = 10.0,
        cache: AnswerCache[str] | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.events = events
        self.in_flight = in_flight or asyncio.Semaphore(256)
        self.deadline_seconds = deadline_seconds
        self.cache: AnswerCache[str] = cache or AnswerCache()

    async def compose(self, reply: OutboundReply) -> str:
        request = reply.compose
        if request is None:
            return reply.text
        # The same reply composed again (a retry, a recovery) reads the same text; one the
        # step wrote again differently (its commit failed, and the step ran again) does not.
        key = (reply.id, request)
        written = self.cache.get(key)
        if written is None:
            written = await self._write(reply)
            if written is None:
                return reply.text
            self.cache.put(key, written)
        return written

    async def _write(self, reply: OutboundReply) -> str | None:
        request = reply.compose
        assert request is not None
        known, event = self.events.cached(request.event_id)
        if not known:
            event = await asyncio.to_thread(self.events.get, request.event_id)
        if event is None or event.responses != "llm":
            return None
        try:
            async with asyncio.timeout(self.deadline_seconds), self.in_flight:
                with metrics.MODEL_LATENCY.time():
                    completion = await self._chat({
                        "model": self.model,
                        "messages": [
                            {"role": "system", "content": prompts.acknowledge(event, request.name, request.language, request.language_name)},
                            {"role": "user", "content": request.text},
                        ],
                        "max_completion_tokens": REPLY_TOKENS,
                        "store": False,
                    })
        except (openai.OpenAIError, TimeoutError) as exc:
            log.warning("acknowledgement failed (%s); sending the template", type(exc).__name__)
            return None
        message = completion.choices[0].message
        if message.refusal or not (message.content or "").strip():
            log.warning("acknowledgement refused or empty; sending the template")
            return None
        written = plain_reply(message.content)
        if written is None:
            log.warning("acknowledgement carried a link, markup or data; sending the template")
        return written

    async def _chat(self, body: dict) -> ChatCompletion:
        """`chat.completions.create` without its walk over the typed parameters
        (`_transform`), which took 30% of a call's CPU under a keynote's burst: this body
        is plain JSON already. The client's own `post`, so the same retries, timeout,
        authentication and parsing of the answer."""
        return await self.client.post(
            "/chat/completions", cast_to=ChatCompletion, body=body, options={"security": {"bearer_auth": True}}
        )
