"""The web adapter: Twilio's WhatsApp webhooks in, the engine's replies out through Twilio.

`create_app()` builds the FastAPI app; everything it needs is opened when the app starts
(so importing `app` has no side effects) and can be passed in instead, which tests do.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from listener import console
from listener.ai.transcription import Transcriber
from listener.channel.heap import settle_after_startup
from listener.channel.routes import MESSAGE_PATHS, receive_message, router
from listener.channel.sender import Sender
from listener.channel.service import WebService
from listener.config import Settings
from listener.runtime import Runtime
from listener.store.base import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

__all__ = ["create_app"]


class ListenerApp(FastAPI):
    """FastAPI, with Twilio's incoming-message webhook handed to its endpoint directly.

    At a keynote that webhook comes a thousand times a second, and every one waits for
    the CPU the others use. Profiled under `bench/burst.py`, FastAPI's layers between the
    server and the endpoint (route matching, the exit stack, the endpoint's wrapping) took
    as much CPU as the endpoint itself. So a `POST /message` goes straight to the route's
    function, and its errors to the same handlers the app has for them; every other
    request takes FastAPI's path.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in MESSAGE_PATHS:
            scope["app"] = self
            request = Request(scope, receive)
            response = await self._answer_message(request)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _answer_message(self, request: Request) -> Response:
        try:
            return await receive_message(request)
        except HTTPException as exc:
            return await http_exception_handler(request, exc)
        except StoreError as exc:
            return await self.exception_handlers[StoreError](request, exc)
        except Exception as exc:
            return await self.exception_handlers[Exception](request, exc)


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    sender: Sender | None = None,
    transcriber: Transcriber | None = None,
    *,
    settle_heap: bool = False,
) -> FastAPI:
    """The app; settings default to the environment, the rest to what settings describe.
    `settle_heap`: once started, keep what startup built out of the garbage collector's
    way (`heap.settle_after_startup`), for a process that serves this one app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = settings or (runtime.settings if runtime is not None else Settings())
        service = await WebService.start(chosen, runtime, sender, transcriber)
        app.state.service = service
        if settle_heap:
            settle_after_startup()
        try:
            yield
        finally:
            await console.close(app)
            await service.stop()

    app = ListenerApp(title="listener", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    console.install(app)

    @app.exception_handler(StoreError)
    async def store_unavailable(request: Request, exc: StoreError) -> JSONResponse:
        """Storage trouble is not the request's fault: 503, which Twilio retries (with the
        connection overrides in the README), and one log line, no traceback."""
        level = logging.WARNING if isinstance(exc, StoreUnavailable) else logging.ERROR
        log.log(level, "%s answered 503: %s", request.url.path, exc)
        return JSONResponse({"detail": "store unavailable, try again"}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    return app
