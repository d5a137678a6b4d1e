"""The HTTP surface Twilio and operators see: `/message`, `/status`, `/healthz`, `/metrics`.

The message route does the least it can before answering: read the form, check the
signature, validate, drop it if the number is blocked, record in the inbox. The engine,
transcription and sending all happen after the 200, in the worker.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import ImmutableMultiDict

from listener import metrics
from listener.channel.form import (
    TwilioMessageForm,
    TwilioStatusForm,
    describe,
    repeated_field,
)
from listener.channel.service import WebService
from listener.console.access import bearer_token, tokens_match
from listener.logs import message_context
from listener.masking import mask_phone
from listener.store.base import StoreError

FormModel = TypeVar("FormModel", bound=BaseModel)

log = logging.getLogger(__name__)

router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FORM_TYPE = "application/x-www-form-urlencoded"
MESSAGE_PATHS = ("/message", "/message/")
"""Where Twilio posts incoming messages (`ListenerApp` answers these before routing)."""
# Generous for Twilio's forms (4,096 characters of text, ten media URLs) and no more.
MAX_FORM_BYTES = 128 * 1024
MAX_FORM_FIELDS = 200


def _service(request: Request) -> WebService:
    return request.app.state.service


async def read_signed_form(request: Request, service: WebService) -> ImmutableMultiDict:
    """The POSTed form, once it is known to be a readable form that Twilio signed."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise HTTPException(415, f"expected {FORM_TYPE}, as Twilio sends")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise HTTPException(413, f"form over {MAX_FORM_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, f"form over {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(
            bytes(body).decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise HTTPException(400, "form is not valid UTF-8") from None
    except ValueError:
        raise HTTPException(400, f"form has more than {MAX_FORM_FIELDS} fields") from None
    repeated = repeated_field(pairs)
    if repeated is not None:
        log.warning("rejected %s: the field %r appears more than once", request.url.path, repeated[:64])
        raise HTTPException(400, f"the field {repeated[:64]!r} appears more than once; Twilio sends each field once")
    form = ImmutableMultiDict(pairs)
    if not service.signature.valid(request, form):
        log.warning("rejected %s: missing or invalid X-Twilio-Signature", request.url.path)
        raise HTTPException(403, "missing or invalid X-Twilio-Signature")
    return form


def validated(model: type[FormModel], form: ImmutableMultiDict) -> FormModel:
    """The form as `model`, or 422 naming each field at fault."""
    try:
        return model.model_validate(dict(form))
    except ValidationError as exc:
        raise HTTPException(422, describe(exc)) from None


@router.post("/message", include_in_schema=False)
@router.post("/message/", include_in_schema=False)
async def receive_message(request: Request) -> Response:
    """Twilio's incoming-message webhook: 200 with empty TwiML once the message is in the
    inbox; 503 (the app's `StoreError` handler) when the store cannot record it in time."""
    service = _service(request)
    with service.answering_first.answering():
        return await _receive_message(request, service)


async def _receive_message(request: Request, service: WebService) -> Response:
    message = validated(TwilioMessageForm, await read_signed_form(request, service))
    with message_context(message.message_sid, message.sender):
        async with service.arrival.within_deadline():
            blocked = service.blocklist.known(message.sender)
            if blocked is None:
                blocked = await service.arrival.call(service.blocklist.blocked, message.sender)
            if blocked:
                metrics.MESSAGES_BLOCKED.inc()
                log.info("message %s from a blocked number dropped", message.message_sid)
                return Response(EMPTY_TWIML, media_type="text/xml")
            recorded = await service.arrival.accept(message.sender, message.to_inbound)
        (metrics.MESSAGES_RECEIVED if recorded else metrics.MESSAGES_DUPLICATE).inc()
        log.info(
            "message %s from %s %s (%d characters, %d media)",
            message.message_sid,
            mask_phone(message.sender),
            "recorded" if recorded else "already recorded (or forgotten)",
            len(message.body),
            len(message.media),
        )
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", include_in_schema=False)
@router.post("/status/", include_in_schema=False)
async def receive_status(request: Request) -> Response:
    """Twilio's status callback for a reply we sent: record delivered / read / failed."""
    service = _service(request)
    status = validated(TwilioStatusForm, await read_signed_form(request, service))
    reply_status = status.reply_status
    if reply_status is not None:
        known = await asyncio.to_thread(
            service.store.update_reply_by_provider_sid, status.message_sid, reply_status, status.error
        )
        log.info(
            "status %s for %s%s%s",
            reply_status,
            status.message_sid,
            f" (error {status.error_code})" if status.error_code else "",
            "" if known else " (no such reply)",
        )
    return Response(status_code=204)


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    """200 when the store takes a write (one tiny one) in time, 503 when it does not: a
    store that answers reads but refuses writes (a full disk, a held lock) loses deliveries."""
    arrival = _service(request).arrival
    try:
        async with arrival.within_deadline():
            await arrival.call(_service(request).store.ping)
    except StoreError as exc:
        log.warning("health check: the store cannot take a write (%s: %s)", type(exc).__name__, exc)
        return JSONResponse({"status": "store unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """This process's counters and latencies in Prometheus' text format: to holders of
    `METRICS_TOKEN` as a bearer token when it is set; to no one in production while it is
    not; to anyone otherwise (development, tests)."""
    settings = _service(request).settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if token:
        given = bearer_token(request)
        if given is None or not tokens_match(given, token):
            return JSONResponse(
                {"detail": "send METRICS_TOKEN as Authorization: Bearer <token>"},
                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif settings.production:
        return JSONResponse({"detail": "set METRICS_TOKEN to read /metrics in production"}, status_code=403)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
