"""Fetching a message's media (voice notes) from Twilio, carefully.

The URL comes from a webhook, so it is only fetched when its host is on the allow-list
(`TWILIO_MEDIA_HOSTS`, Twilio's API host by default). Twilio answers with a redirect to a
signed CDN URL: the redirect is followed, but the account credentials go only to the
host the download started at (and only over HTTPS, or to a loopback test server). The
body is capped (`MEDIA_MAX_BYTES`, 25 MB) and the whole download has a deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress

import httpx

from listener.config import Settings

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024


class MediaError(Exception):
    """The media could not be fetched (not allowed, not found, too big, too slow)."""


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Exact host names, or `*.example.com` for any subdomain of example.com."""
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def download_media(url: str, settings: Settings) -> tuple[bytes, str]:
    """Download one media URL from Twilio: its bytes and content type (without parameters).

    Raises `MediaError` with a reason a log line can show.
    """
    try:
        async with asyncio.timeout(settings.media_timeout_seconds):
            return await _download(url, settings)
    except TimeoutError as exc:
        raise MediaError(f"media download took longer than {settings.media_timeout_seconds:g}s") from exc


async def _download(url: str, settings: Settings) -> tuple[bytes, str]:
    try:
        start = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise MediaError("media URL is not a URL") from exc
    if start.scheme not in ("http", "https") or not host_allowed(start.host, settings.media_hosts):
        raise MediaError(f"media host {start.host or '?'} is not in TWILIO_MEDIA_HOSTS")
    credentials = None
    if settings.twilio_account_sid and settings.twilio_auth_token and (
        start.scheme == "https" or _is_loopback(start.host)
    ):
        credentials = httpx.BasicAuth(settings.twilio_account_sid, settings.twilio_auth_token)

    current = start
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            auth = credentials if _origin(current) == _origin(start) else None
            try:
                async with client.stream("GET", current, auth=auth) as response:
                    if response.is_redirect:
                        current = _redirect_target(current, response)
                        continue
                    if response.status_code != 200:
                        raise MediaError(f"media host answered {response.status_code}")
                    content_type = response.headers.get("content-type", "application/octet-stream")
                    return await _read_capped(response, settings.media_max_bytes), content_type.split(";")[0].strip()
            except httpx.HTTPError as exc:
                raise MediaError(f"media download failed ({type(exc).__name__})") from exc
    raise MediaError(f"media URL redirected more than {MAX_REDIRECTS} times")


def _redirect_target(current: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise MediaError("media host redirected without a Location")
    target = current.join(location)
    if target.scheme not in ("http", "https"):
        raise MediaError("media redirect to a non-HTTP URL")
    if current.scheme == "https" and target.scheme == "http":
        raise MediaError("media redirect from HTTPS to plain HTTP")
    return target


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise MediaError(f"media is {int(declared)} bytes, over the {cap}-byte cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes(CHUNK_BYTES):
        size += len(chunk)
        if size > cap:
            raise MediaError(f"media is over the {cap}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)
