"""The web console at `/console`: organisers follow their events, designers play the flow.

Server-rendered pages (Jinja2), a stylesheet and small scripts served by the app itself,
no build step. `install(app)` adds the routes; `close(app)` stops the simulator when the
app stops. Access rules are in `listener.console.access`.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException

from listener.console.pages import public, router
from listener.console.simulation import close_simulator

__all__ = ["close", "install", "public", "router"]


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def not_found(rest: str) -> None:
    """Any other console address: a readable 404 (after the access check)."""
    raise HTTPException(404, "There is no console page at this address.")


def install(app: FastAPI) -> None:
    app.include_router(public)
    app.include_router(router)


async def close(app: FastAPI) -> None:
    await close_simulator(app)
