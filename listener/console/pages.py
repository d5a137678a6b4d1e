"""The organisers' pages: log in, the events, one event (live), its downloads, the flow."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import (
    FileResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from listener.config import Settings
from listener.console.access import (
    COOKIE_NAME,
    SESSION_SECONDS,
    AccessDenied,
    TooManyAttempts,
    check_request,
    check_token,
    session_cookie,
    token_of,
)
from listener.console.rendering import HERE, ConsoleRoute, page
from listener.console.streams import export_body
from listener.console.views import (
    FIRED_WINDOW,
    arrow_rows,
    asked_questions,
    event_summaries,
    feed,
    fired_counts,
    participant_rows,
    state_counts,
    summarise,
)
from listener.diagram.model import drawing
from listener.diagram.svg import FlowNumbers, render
from listener.models import EventConfig
from listener.operators.export import FORMATS, ExportFormat, ExportRequest
from listener.operators.stats import collect_stats
from listener.store.base import Store

if TYPE_CHECKING:
    from listener.channel.service import WebService

STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".txt": "text/plain"}
EXPORT_FILES = {"csv": ("csv", "text/csv"), "jsonl": ("jsonl", "application/x-ndjson"), "tttc": ("csv", "text/csv")}
FEED_WINDOW = timedelta(hours=1)


def service_of(request: Request) -> WebService:
    """The running webhook's service: the store, the settings and the engine's flow."""
    return request.app.state.service


def require_access(request: Request) -> None:
    check_request(request, service_of(request).settings)


public = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
router = APIRouter(
    prefix="/console", route_class=ConsoleRoute, include_in_schema=False, dependencies=[Depends(require_access)]
)


@public.get("/static/{name}")
async def static_file(name: str) -> Response:
    """The console's own stylesheet and scripts (no CDN); nothing else is served."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(404, "There is no such file.")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "max-age=3600"})


def _safe_next(target: str | None) -> str:
    """Only ever back into the console (no open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


@public.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    settings: Settings = service_of(request).settings
    return page(request, "login.html", next=_safe_next(next), token_needed=token_of(settings) is not None)


@public.post("/login")
async def login(request: Request, token: str = Form(""), next: str = Form("/console")) -> Response:
    settings: Settings = service_of(request).settings
    expected = token_of(settings)
    if expected is None:
        return RedirectResponse(_safe_next(next), status_code=303)
    try:
        check_token(request, settings, token)
    except TooManyAttempts as exc:
        refused = page(request, "login.html", 429, next=_safe_next(next), token_needed=True, error=str(exc))
        refused.headers["Retry-After"] = str(exc.seconds)
        return refused
    except AccessDenied:
        return page(
            request, "login.html", 401, next=_safe_next(next), token_needed=True,
            error="That is not the console token. Check it and try again.",
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME, session_cookie(expected), max_age=SESSION_SECONDS, path="/console",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/console")
    return response


@router.get("")
@router.get("/")
async def events_page(request: Request) -> Response:
    summaries = await asyncio.to_thread(event_summaries, service_of(request).store)
    return page(request, "events.html", summaries=summaries)


def _event(store: Store, event_id: str) -> EventConfig:
    event = store.get_event(event_id)
    if event is None:
        raise HTTPException(404, f"There is no event with the ID {event_id!r}.")
    return event


@router.get("/events/{event_id}")
async def event_page(request: Request, event_id: str) -> Response:
    service = service_of(request)
    store = service.store
    event = await asyncio.to_thread(_event, store, event_id)
    summary = await asyncio.to_thread(summarise, store, event, None, service.settings.twilio_mps)
    columns = asked_questions(service.worker.engine.flow.graph.spec.questions, event)
    rows = await asyncio.to_thread(participant_rows, store, event, columns)
    return page(request, "event.html", summary=summary, columns=columns, rows=rows, formats=FORMATS)


@router.get("/events/{event_id}/live")
async def event_live(
    request: Request, event_id: str, since: datetime | None = Query(None)
) -> dict:
    """The figures and the messages since `since` (default: the last hour); polled by the page."""
    service = service_of(request)
    store = service.store
    event = await asyncio.to_thread(_event, store, event_id)
    start = since or datetime.now(timezone.utc) - FEED_WINDOW
    summary = await asyncio.to_thread(summarise, store, event, None, service.settings.twilio_mps)
    items = await asyncio.to_thread(feed, store, event.event_id, start)
    return {
        "stats": summary.stats.model_dump(mode="json"),
        "messages_last_hour": summary.messages_last_hour,
        "messages": [item.model_dump(mode="json") for item in items],
    }


@router.get("/events/{event_id}/export/{format}")
async def event_export(request: Request, event_id: str, format: ExportFormat) -> Response:
    """The same streaming export as `listener export`, participants under their keys."""
    store = service_of(request).store
    event = await asyncio.to_thread(_event, store, event_id)
    extension, media_type = EXPORT_FILES[format]
    suffix = "-tttc" if format == "tttc" else ""
    filename = f"{event.event_id}{suffix}.{extension}"
    graph = service_of(request).worker.engine.flow.graph
    body = export_body(store, ExportRequest(event_id=event.event_id, format=format), event, graph)
    return StreamingResponse(
        body, media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def source_link(line: int) -> str:
    """Where a state's `transitions.yaml:LINE` leads: that line of the loaded flow file."""
    return f"/console/flow/source#L{line}"


@router.get("/flow")
async def flow_page(request: Request) -> Response:
    """The drawing with its numbers: participants resting in each state now, and how often
    each transition fired in the last 24 hours (so a designer sees where people stop)."""
    service = service_of(request)
    graph = service.worker.engine.flow.graph
    picture = drawing(graph)
    since = datetime.now(timezone.utc) - FIRED_WINDOW
    stats = await asyncio.to_thread(collect_stats, service.store)
    fired = await asyncio.to_thread(fired_counts, service.store, since)
    counts = state_counts(graph, stats)
    svg = render(picture, FlowNumbers(resting=dict(counts), fired=fired), link=source_link)
    return page(
        request, "flow.html", counts=counts, svg=svg, arrows=arrow_rows(picture, fired),
        flow_file=Path(service.settings.flow_file).name,
    )


@router.get("/flow/source")
async def flow_source(request: Request) -> Response:
    """The flow file as this server loaded it, each line numbered and linkable (`#L57`)."""
    graph = service_of(request).worker.engine.flow.graph
    return page(request, "flow_source.html", lines=graph.text.splitlines(), flow_file=Path(graph.source).name)
