"""The app as Twilio reaches it: does `PUBLIC_URL/healthz` answer, from this machine?

Twilio posts every incoming message to `PUBLIC_URL/message`; if nothing (or something
else) answers at that address, no message arrives. `/healthz` answers 200 only when the
app is up and its store answers. Run on a Heroku one-off dyno, this goes out through
Heroku's router exactly as Twilio's requests come in.
"""

from __future__ import annotations

import httpx

from listener.config import Settings
from listener.operators.doctor.deadline import reason, within
from listener.operators.doctor.findings import Finding

CHECK = "app.public_url"


def check_public_url(settings: Settings, timeout: float) -> list[Finding]:
    if not settings.public_url:
        return [Finding.skipped(CHECK, "PUBLIC_URL is not set: whether Twilio can reach the app was not checked")]
    url = f"{settings.public_url.rstrip('/')}/healthz"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = within(timeout + 1, lambda: client.get(url))
    except Exception as exc:
        return [
            Finding.blocker(
                CHECK,
                f"nothing answers at {url}: {reason(exc)}",
                "start the app (`heroku ps` shows whether the web dyno is up), and check that PUBLIC_URL is its address",
            )
        ]
    if response.status_code == 200:
        return [Finding.ok(CHECK, f"the app answers at {url}")]
    if response.status_code == 503:
        return [
            Finding.blocker(
                CHECK,
                f"the app answers at {url}, but its store does not (503)",
                "see the app's logs (`heroku logs --tail`): its STORE_URL or credentials differ from what works here",
            )
        ]
    if response.is_redirect:
        return [
            Finding.warning(
                CHECK,
                f"{url} redirects to {response.headers.get('location')}: Twilio's requests would not reach the app directly, "
                "and their signatures are checked against PUBLIC_URL",
                "set PUBLIC_URL to the address it redirects to",
            )
        ]
    return [
        Finding.blocker(
            CHECK,
            f"{url} answered {response.status_code}: something other than this app answers there",
            "check that PUBLIC_URL is this app's address",
        )
    ]
