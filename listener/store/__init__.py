"""Stores: where the conversation's records live. `open_store(url)` picks one by URL.

`Store` is every port (`listener.store.ports`: Inbox, Conversations, Outbox, Events,
Records, Privacy) on one database; each part of the program is typed to the ports it uses.
"""

from __future__ import annotations

from urllib.parse import urlparse

from listener.config import Settings
from listener.store.base import Store, StoreError, StoreUnavailable, VersionConflict
from listener.store.ports import Conversations, Events, Inbox, Outbox, Privacy, Records

__all__ = [
    "Conversations", "Events", "Inbox", "Outbox", "Privacy", "Records",
    "Store", "StoreError", "StoreUnavailable", "VersionConflict", "open_store",
]


def open_store(url: str, settings: Settings | None = None) -> Store:
    """Open the store a `STORE_URL` names.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` and `sqlite://:memory:`
    open the embedded store. `firestore://PROJECT?prefix=AOI_` opens Firestore with the
    credentials and emulator address of `settings`. Either store's calls keep the deadline
    of `settings` (`STORE_TIMEOUT_SECONDS`). Settings are read from the environment by default.
    """
    parsed = urlparse(url)
    settings = settings or Settings()
    if parsed.scheme == "firestore":
        from listener.store.firestore import FirestoreStore

        return FirestoreStore.from_url(url, settings)
    if parsed.scheme == "sqlite":
        from listener.store.sqlite import SQLiteStore

        path = url[len("sqlite://"):]
        if path in (":memory:", "/:memory:"):
            return SQLiteStore(":memory:", settings.store_timeout_seconds)
        if not path.startswith("/") or path == "/":
            raise StoreError(f"STORE_URL {url!r}: write sqlite:///file.db or sqlite:////abs/file.db")
        return SQLiteStore(path[1:], settings.store_timeout_seconds)
    raise StoreError(
        f"STORE_URL {url!r}: unknown scheme {parsed.scheme!r} (expected sqlite:///path.db or firestore://project)"
    )
