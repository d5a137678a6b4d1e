"""Pages and the one way console requests fail: as a page a person can read.

Every console route is a `ConsoleRoute`: whatever its handler raises (refused access, a
missing event, a bad form, a store outage, a bug) becomes an HTML page with a plain
sentence and the status code, or a redirect to the login form; the details go to the log,
never to the browser.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from listener.console.access import AccessDenied, TooManyAttempts
from listener.store.base import StoreError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

TITLES = {
    400: "That request could not be read",
    401: "Please log in",
    403: "Not open to you",
    404: "Nothing here",
    429: "Too many tries",
    503: "The records are not reachable right now",
    500: "Something went wrong on our side",
}


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def wants_json(request: Request) -> bool:
    """Scripts (the pages' own polling) ask for JSON; browsers navigating ask for HTML."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status_code: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    title = TITLES.get(status_code, "Something went wrong")
    return page(request, "error.html", status_code, title=title, message=message, status=status_code)


def denied(request: Request, exc: AccessDenied) -> Response:
    """A browser asking for a page is sent to log in; anything else (a script, a wrong
    bearer token) gets 401, or 403 when logging in would not help: no token is set and
    the client is not on this machine."""
    navigating = request.method == "GET" and not wants_json(request) and "authorization" not in request.headers
    if exc.login and navigating:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
    return error_response(request, 401 if exc.login else 403, str(exc))


class ConsoleRoute(APIRoute):
    """An API route whose failures are readable pages, never tracebacks."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except AccessDenied as exc:
                return denied(request, exc)
            except TooManyAttempts as exc:
                response = error_response(request, 429, str(exc))
                response.headers["Retry-After"] = str(exc.seconds)
                return response
            except HTTPException as exc:
                return error_response(request, exc.status_code, str(exc.detail))
            except RequestValidationError:
                return error_response(request, 400, "Some of what was sent is missing or not in the expected form.")
            except StoreError as exc:
                log.error("console: store error on %s: %s", request.url.path, exc)
                return error_response(request, 503, "The records could not be read. Try again in a moment.")
            except Exception:
                log.exception("console: unexpected error on %s", request.url.path)
                return error_response(request, 500, "The page could not be shown. The error has been logged.")

        return guarded
