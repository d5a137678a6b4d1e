"""Exports as HTTP downloads: `listener.operators.export` writes to a file object; this turns those
writes into a response body that leaves while the store is still being read.

The export runs in a thread writing into a small bounded queue of chunks; the response
iterates the queue. A client that goes away stops the export at its next write.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from typing import TextIO, cast

from listener.conversation.graph import Graph
from listener.models import EventConfig
from listener.operators.export import ExportRequest, export
from listener.store.base import Store

CHUNK_CHARS = 64 * 1024
QUEUED_CHUNKS = 8
_DONE = object()


class Abandoned(Exception):
    """The client stopped reading; the export thread ends here."""


class _ChunkWriter(io.TextIOBase):
    """A text file whose writes are gathered into chunks and queued for the response."""

    def __init__(self, chunks: queue.Queue, stop: threading.Event) -> None:
        self._chunks = chunks
        self._stop = stop
        self._buffer: list[str] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= CHUNK_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._buffer:
            return
        chunk = "".join(self._buffer).encode("utf-8")
        self._buffer, self._size = [], 0
        while not self._stop.is_set():
            try:
                self._chunks.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue
        raise Abandoned()


def export_body(
    store: Store, request: ExportRequest, event: EventConfig, graph: Graph | None = None
) -> Iterator[bytes]:
    """The export's bytes, produced as they are read (Starlette iterates this in a thread)."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
    stop = threading.Event()

    def produce() -> None:
        writer = _ChunkWriter(chunks, stop)
        try:
            # an io.TextIOBase is a text file; typing's TextIO protocol just does not say so
            export(store, request, event, cast(TextIO, writer), graph=graph)
            writer.flush()
        except Abandoned:
            return
        except Exception as exc:
            chunks.put(exc)
            return
        chunks.put(_DONE)

    thread = threading.Thread(target=produce, name=f"export-{request.event_id}", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
