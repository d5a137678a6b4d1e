"""The web adapter: Twilio's webhook in, an empty TwiML answer out (filled by the webhook issue)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="listener")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
