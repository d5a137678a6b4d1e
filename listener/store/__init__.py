"""Stores: where the conversation's records live. `open_store(url)` picks one by URL."""

from __future__ import annotations

from urllib.parse import urlparse

from listener.config import Settings
from listener.store.base import Store, StoreError, VersionConflict

__all__ = ["Store", "StoreError", "VersionConflict", "open_store"]


def open_store(url: str, settings: Settings | None = None) -> Store:
    """Open the store a `STORE_URL` names.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` and `sqlite://:memory:`
    open the embedded store. `firestore://PROJECT?prefix=AOI_` opens Firestore with the
    credentials and emulator address of `settings` (read from the environment by default).
    """
    parsed = urlparse(url)
    if parsed.scheme == "firestore":
        from listener.store.firestore import FirestoreStore

        return FirestoreStore.from_url(url, settings or Settings())
    if parsed.scheme == "sqlite":
        from listener.store.sqlite import SQLiteStore

        path = url[len("sqlite://"):]
        if path in (":memory:", "/:memory:"):
            return SQLiteStore(":memory:")
        if not path.startswith("/") or path == "/":
            raise StoreError(f"STORE_URL {url!r}: write sqlite:///file.db or sqlite:////abs/file.db")
        return SQLiteStore(path[1:])
    raise StoreError(
        f"STORE_URL {url!r}: unknown scheme {parsed.scheme!r} (expected sqlite:///path.db or firestore://project)"
    )
