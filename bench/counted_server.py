"""`uvicorn`, with every store request it makes counted where it is billed.

    python bench/counted_server.py COUNTS.json app:app --port 8000 ...

Run in place of `python -m uvicorn`: the product's code is not touched. Before uvicorn
starts, gRPC channels get a client interceptor that counts the Firestore client's RPCs
as Firestore bills them, and SQLite connections get a trace callback that counts their
statements. The counts are written to COUNTS.json (replaced whole) on SIGUSR1 and at exit.

Firestore, per RPC, keyed by method and the collections it touches:
- `Commit`: one commit, its writes (each document written, created, updated, or
  deleted is one billed write);
- `BatchGetDocuments` (every `get`): one read per document asked for, found or not;
- `RunQuery`: one read per document returned, one at least (Firestore's minimum charge);
- `ListCollectionIds`: one read.
SQLite bills nothing: its statements are counted by verb and table, and its write
transactions (`BEGIN IMMEDIATE`) are what serialise on its one write lock.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import sqlite3
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import grpc

DOCUMENTS = re.compile(r"/documents/?(?P<path>.*)$")
LONG_TEXT = re.compile(r"'(?:[^']|'')*'")
NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
SPACE = re.compile(r"\s+")


class Tally:
    """Counters keyed by (kind, label); safe to add to from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, label: str, **figures: int) -> None:
        with self._lock:
            for name, value in figures.items():
                self._counts[label][name] += value

    def write(self, path: Path) -> None:
        with self._lock:
            snapshot = {label: dict(figures) for label, figures in self._counts.items()}
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(snapshot, indent=1, sort_keys=True))
        os.replace(partial, path)


TALLY = Tally()


def collection_of(name: str) -> str:
    """The top-level collection of a document or parent name (`inbox`, `AOI_X`, ...)."""
    match = DOCUMENTS.search(name)
    path = match.group("path") if match else ""
    return path.split("/", 1)[0] if path else "(root)"


def _pb(message: Any) -> Any:
    """The raw protobuf of a proto-plus message (the Firestore client's requests and responses)."""
    to_pb = getattr(type(message), "pb", None)
    return to_pb(message) if to_pb is not None else message


def _filter_fields(where: Any) -> list[str]:
    if where.HasField("field_filter"):
        return [where.field_filter.field.field_path]
    if where.HasField("unary_filter"):
        return [where.unary_filter.field.field_path]
    if where.HasField("composite_filter"):
        return [field for inner in where.composite_filter.filters for field in _filter_fields(inner)]
    return []


def query_label(request: Any) -> str:
    """`query outbox [status, claimed_until]`: collection (`group:` for a collection
    group), then the fields it filters on."""
    query = request.structured_query
    source = query.from_[0] if query.from_ else None
    collection = source.collection_id if source is not None else "?"
    scope = "group:" if source is not None and source.all_descendants else ""
    fields = _filter_fields(query.where) if query.HasField("where") else []
    return f"query {scope}{collection} [{', '.join(fields)}]"


def write_label(request: Any) -> str:
    """`commit inbox` or `commit AOI_X+inbox+outbox+user_event_tracking`."""
    collections = set()
    for write in request.writes:
        target = write.WhichOneof("operation")
        name = write.update.name if target == "update" else write.delete if target == "delete" else write.transform.document
        collections.add(collection_of(name))
    return "commit " + "+".join(sorted(collections))


class _CountedStream:
    """A server stream passed through as it is, counted as each response arrives: a
    caller may stop reading early (a `get` reads one response and leaves the stream)."""

    def __init__(self, inner: Any, method: str, label: str) -> None:
        self._inner = inner
        self._method = method
        self._label = label
        self._minimum = 1 if method == "RunQuery" else 0
        self._responses = 0
        self._documents = 0
        self._billed = 0

    def __iter__(self) -> _CountedStream:
        return self

    def __next__(self) -> Any:
        try:
            response = next(self._inner)
        except StopIteration:
            if self._responses == 0:
                self._count(0)
            raise
        raw = _pb(response)
        if self._method == "RunQuery":
            self._count(1 if raw.HasField("document") else 0)
        elif self._method == "BatchGetDocuments":
            self._count(1 if raw.WhichOneof("result") in ("found", "missing") else 0)
        else:
            self._count(0)
        return response

    def _count(self, documents: int) -> None:
        """Bill what this response adds: a document each, the query's minimum with the first."""
        first = self._responses == 0
        self._responses += 1
        self._documents += documents
        billed = max(self._minimum, self._documents)
        TALLY.add(self._label, calls=int(first), reads=billed - self._billed, documents=documents)
        self._billed = billed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class FirestoreCounter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Counts what a Firestore client's RPCs are billed, as they complete."""

    def intercept_unary_unary(self, continuation, details, request):
        outcome = continuation(details, request)
        method = details.method.rsplit("/", 1)[-1]
        if outcome.exception() is not None:
            TALLY.add(f"failed {method}", calls=1)
            return outcome
        raw = _pb(request)
        if method == "Commit":
            TALLY.add(write_label(raw), calls=1, commits=1, writes=len(raw.writes))
        elif method == "ListCollectionIds":
            TALLY.add(f"list collections of {collection_of(raw.parent)}", calls=1, reads=1)
        else:
            TALLY.add(method, calls=1)
        return outcome

    def intercept_unary_stream(self, continuation, details, request):
        method = details.method.rsplit("/", 1)[-1]
        raw = _pb(request)
        if method == "RunQuery":
            label = query_label(raw)
        elif method == "BatchGetDocuments":
            label = "get " + "+".join(sorted({collection_of(name) for name in raw.documents}))
        else:
            label = method
        return _CountedStream(continuation(details, request), method, label)


def _count_channels() -> None:
    """Every gRPC channel made from now on (the emulator's insecure one, production's
    secure one) passes through the counter."""
    counter = FirestoreCounter()
    insecure, secure = grpc.insecure_channel, grpc.secure_channel

    def counted_insecure(*args: Any, **kwargs: Any) -> grpc.Channel:
        return grpc.intercept_channel(insecure(*args, **kwargs), counter)

    def counted_secure(*args: Any, **kwargs: Any) -> grpc.Channel:
        return grpc.intercept_channel(secure(*args, **kwargs), counter)

    grpc.insecure_channel = counted_insecure
    grpc.secure_channel = counted_secure


def statement_label(sql: str) -> str:
    """The statement with its values taken out (the trace shows them bound): quoted
    values longer than a status word (numbers, times, JSON) and numbers become `?`."""

    def value(match: re.Match[str]) -> str:
        return match.group(0) if len(match.group(0)) <= 12 else "?"

    text = NUMBER.sub("?", LONG_TEXT.sub(value, SPACE.sub(" ", sql.strip())))
    return f"sqlite {text[:110]}"


def _count_sqlite() -> None:
    connect = sqlite3.connect

    def counted_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(lambda sql: TALLY.add(statement_label(sql), statements=1))
        return conn

    sqlite3.connect = counted_connect


def install(path: Path) -> None:
    _count_channels()
    _count_sqlite()
    # Written from a thread of its own: the handler runs on the main thread, which may be
    # inside `Tally.add` holding its lock.
    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=TALLY.write, args=(path,)).start())
    atexit.register(TALLY.write, path)


def main() -> None:
    counts = Path(sys.argv[1])
    install(counts)
    import uvicorn

    sys.argv = ["uvicorn", *sys.argv[2:]]
    uvicorn.main()


if __name__ == "__main__":
    main()
