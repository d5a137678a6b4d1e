"""The embedded default store: one SQLite file in WAL mode.

Tables mirror the Firestore collections of the brief (`user_event_tracking`, the events'
`info` documents, the per-event participant profiles, interactions, inbox, outbox), each
row holding the model as JSON beside the columns that queries need. One message's outcome
is one `BEGIN IMMEDIATE` transaction guarded by the snapshot's version, so two processes
on one database file never lose an update.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from listener.models import (
    EventConfig,
    InboundMessage,
    InboxStatus,
    Interaction,
    OutboundReply,
    Outcome,
    ParticipantSnapshot,
    ReplyStatus,
    status_moves_forward,
)
from listener.operators.privacy import BlockedNumber
from listener.store.base import StoreError, VersionConflict
from listener.store.documents import profile_document

SCHEMA = """
CREATE TABLE IF NOT EXISTS user_event_tracking (
    participant TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_info (
    event_key TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_participants (
    event_key TEXT NOT NULL,
    participant TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (event_key, participant)
);
CREATE TABLE IF NOT EXISTS interactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    participant TEXT NOT NULL,
    event_key TEXT,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS interactions_by_event ON interactions (event_key, seq);
CREATE INDEX IF NOT EXISTS interactions_by_participant ON interactions (participant, seq);
CREATE TABLE IF NOT EXISTS inbox (
    message_sid TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (status, received_at);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    participant TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq);
CREATE INDEX IF NOT EXISTS outbox_provider_sid ON outbox (json_extract(data, '$.provider_sid'));
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocked_numbers (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"""


def _event_key(event_id: str) -> str:
    """Event IDs are matched without regard to case; the key is their folded form."""
    return event_id.casefold()


class SQLiteStore:
    """`Store` on one SQLite database file (or `:memory:` for a single process)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._memory_conn: sqlite3.Connection | None = None
        self._write_lock = threading.RLock()
        if self.path == ":memory:":
            self._memory_conn = self._connect()
        with self._write_lock:
            self._conn().executescript(SCHEMA)

    # connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise StoreError(f"cannot open SQLite store {self.path}: folder {parent} does not exist")
        try:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from exc
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._memory_conn is not None:
            return self._memory_conn
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    class _Transaction:
        def __init__(self, store: SQLiteStore, mode: str) -> None:
            self.store = store
            self.mode = mode

        def __enter__(self) -> sqlite3.Connection:
            self.store._write_lock.acquire()
            self.conn = self.store._conn()
            self.conn.execute(f"BEGIN {self.mode}")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                if exc_type is None:
                    self.conn.execute("COMMIT")
                else:
                    self.conn.execute("ROLLBACK")
            finally:
                self.store._write_lock.release()

    def _write(self) -> _Transaction:
        return self._Transaction(self, "IMMEDIATE")

    def _read(self) -> sqlite3.Connection:
        return self._conn()

    # inbox -------------------------------------------------------------------------------

    def record_inbound(self, message: InboundMessage) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO inbox (message_sid, participant, status, received_at, data)"
                " VALUES (?, ?, 'pending', ?, ?)",
                (
                    message.message_sid,
                    message.participant,
                    message.received_at.isoformat(),
                    message.model_dump_json(),
                ),
            )
            return cursor.rowcount == 1

    def inbound_status(self, message_sid: str) -> InboxStatus | None:
        row = self._read().execute(
            "SELECT status FROM inbox WHERE message_sid = ?", (message_sid,)
        ).fetchone()
        return row[0] if row else None

    def pending_inbound(self, limit: int = 100) -> list[InboundMessage]:
        rows = self._read().execute(
            "SELECT data FROM inbox WHERE status = 'pending' ORDER BY received_at, rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return [InboundMessage.model_validate_json(row[0]) for row in rows]

    # snapshot ----------------------------------------------------------------------------

    def load_participant(self, participant: str) -> ParticipantSnapshot | None:
        row = self._read().execute(
            "SELECT data FROM user_event_tracking WHERE participant = ?", (participant,)
        ).fetchone()
        return ParticipantSnapshot.model_validate_json(row[0]) if row else None

    def commit(self, outcome: Outcome) -> None:
        snapshot = outcome.snapshot
        with self._write() as conn:
            self._write_snapshot(conn, snapshot, outcome.expected_version)
            for event_id in outcome.touched_events:
                membership = snapshot.events.get(event_id)
                if membership is None:
                    continue
                conn.execute(
                    "INSERT INTO event_participants (event_key, participant, data) VALUES (?, ?, ?)"
                    " ON CONFLICT (event_key, participant) DO UPDATE SET data = excluded.data",
                    (
                        _event_key(event_id),
                        snapshot.participant,
                        json.dumps(profile_document(event_id, snapshot.participant, membership)),
                    ),
                )
            for interaction in outcome.interactions:
                conn.execute(
                    "INSERT OR IGNORE INTO interactions (id, participant, event_key, at, data)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        interaction.id,
                        interaction.participant,
                        _event_key(interaction.event_id) if interaction.event_id else None,
                        interaction.at.isoformat(),
                        interaction.model_dump_json(),
                    ),
                )
            for reply in outcome.replies:
                conn.execute(
                    "INSERT OR IGNORE INTO outbox (id, participant, status, data) VALUES (?, ?, ?, ?)",
                    (reply.id, reply.participant, reply.status, reply.model_dump_json()),
                )
            conn.execute(
                "UPDATE inbox SET status = 'done' WHERE message_sid = ?", (outcome.message_sid,)
            )

    @staticmethod
    def _write_snapshot(
        conn: sqlite3.Connection, snapshot: ParticipantSnapshot, expected_version: int
    ) -> None:
        data = snapshot.model_dump_json()
        if expected_version == 0:
            try:
                conn.execute(
                    "INSERT INTO user_event_tracking (participant, version, data) VALUES (?, ?, ?)",
                    (snapshot.participant, snapshot.version, data),
                )
            except sqlite3.IntegrityError as exc:
                raise VersionConflict(snapshot.participant) from exc
            return
        cursor = conn.execute(
            "UPDATE user_event_tracking SET version = ?, data = ? WHERE participant = ? AND version = ?",
            (snapshot.version, data, snapshot.participant, expected_version),
        )
        if cursor.rowcount != 1:
            raise VersionConflict(snapshot.participant)

    # events ------------------------------------------------------------------------------

    def put_event(self, event: EventConfig) -> None:
        """Add or replace; an event keeps the spelling of its ID it was first stored with,
        since participants' snapshots refer to it by that spelling."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT event_id FROM event_info WHERE event_key = ?", (_event_key(event.event_id),)
            ).fetchone()
            if row is not None:
                event = event.model_copy(update={"event_id": row[0]})
            conn.execute(
                "INSERT INTO event_info (event_key, event_id, data) VALUES (?, ?, ?)"
                " ON CONFLICT (event_key) DO UPDATE SET data = excluded.data",
                (_event_key(event.event_id), event.event_id, event.model_dump_json()),
            )

    def get_event(self, event_id: str) -> EventConfig | None:
        row = self._read().execute(
            "SELECT data FROM event_info WHERE event_key = ?", (_event_key(event_id),)
        ).fetchone()
        return EventConfig.model_validate_json(row[0]) if row else None

    def list_events(self) -> list[EventConfig]:
        rows = self._read().execute("SELECT data FROM event_info ORDER BY event_key").fetchall()
        return [EventConfig.model_validate_json(row[0]) for row in rows]

    def delete_event(self, event_id: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM event_info WHERE event_key = ?", (_event_key(event_id),)
            )
            return cursor.rowcount == 1

    def get_profile(self, event_id: str, participant: str) -> dict | None:
        row = self._read().execute(
            "SELECT data FROM event_participants WHERE event_key = ? AND participant = ?",
            (_event_key(event_id), participant),
        ).fetchone()
        return json.loads(row[0]) if row else None

    # interactions ------------------------------------------------------------------------

    def iter_interactions(
        self,
        event_id: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Interaction]:
        clauses, params = [], []
        if event_id is not None:
            clauses.append("event_key = ?")
            params.append(_event_key(event_id))
        if participant is not None:
            clauses.append("participant = ?")
            params.append(participant)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since.isoformat())
        if until is not None:
            clauses.append("at < ?")
            params.append(until.isoformat())
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # A fresh connection per stream: a long export must not hold the thread's connection.
        conn = self._memory_conn or self._connect()
        try:
            last_seq = 0
            while True:
                page_where = f"{where} {'AND' if where else 'WHERE'} seq > ?"
                rows = conn.execute(
                    f"SELECT seq, data FROM interactions {page_where} ORDER BY seq LIMIT 500",
                    (*params, last_seq),
                ).fetchall()
                if not rows:
                    return
                for seq, data in rows:
                    last_seq = seq
                    yield Interaction.model_validate_json(data)
        finally:
            if conn is not self._memory_conn:
                conn.close()

    def save_transcript(
        self, interaction_id: str, text: str, model: str | None, language: str | None
    ) -> bool:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
            if row is None:
                return False
            interaction = Interaction.model_validate_json(row[0])
            interaction.transcript = text
            interaction.transcription_model = model
            interaction.transcript_language = language
            conn.execute(
                "UPDATE interactions SET data = ? WHERE id = ?",
                (interaction.model_dump_json(), interaction_id),
            )
            return True

    # outbox ------------------------------------------------------------------------------

    def pending_replies(self, limit: int = 100) -> list[OutboundReply]:
        now = datetime.now(timezone.utc)
        rows = self._read().execute(
            "SELECT data FROM outbox WHERE status IN ('pending', 'sending') ORDER BY seq"
        )
        replies: list[OutboundReply] = []
        for (data,) in rows:
            reply = OutboundReply.model_validate_json(data)
            if reply.claimable(now):
                replies.append(reply)
                if len(replies) == limit:
                    break
        return replies

    def claim_reply(self, reply_id: str, lease_seconds: float, claimant: str) -> OutboundReply | None:
        now = datetime.now(timezone.utc)
        with self._write() as conn:
            row = conn.execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
            if row is None:
                return None
            reply = OutboundReply.model_validate_json(row[0])
            if not reply.claimable(now, claimant):
                return None
            reply.status = "sending"
            reply.claimed_by = claimant
            reply.claimed_until = now + timedelta(seconds=lease_seconds)
            conn.execute(
                "UPDATE outbox SET status = ?, data = ? WHERE id = ?",
                (reply.status, reply.model_dump_json(), reply_id),
            )
            return reply

    def get_reply(self, reply_id: str) -> OutboundReply | None:
        row = self._read().execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
        return OutboundReply.model_validate_json(row[0]) if row else None

    def update_reply(
        self,
        reply_id: str,
        status: ReplyStatus,
        provider_sid: str | None = None,
        error: str | None = None,
        composed: OutboundReply | None = None,
    ) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
            if row is None:
                return
            reply = OutboundReply.model_validate_json(row[0])
            if composed is not None and composed.text != reply.text:
                reply.text = composed.text
                conn.execute(
                    "UPDATE interactions SET data = json_set(data, '$.text', ?) WHERE id = ?", (composed.text, reply_id)
                )
            reply.status = status
            reply.claimed_by = reply.claimed_until = None
            reply.attempts += 1 if status in ("sent", "failed") else 0
            if provider_sid is not None:
                reply.provider_sid = provider_sid
            if error is not None:
                reply.error = error
            conn.execute(
                "UPDATE outbox SET status = ?, data = ? WHERE id = ?",
                (status, reply.model_dump_json(), reply_id),
            )

    def record_reply_part(self, reply_id: str, parts_sent: int, provider_sid: str | None) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT data FROM outbox WHERE id = ?", (reply_id,)).fetchone()
            if row is None:
                return
            reply = OutboundReply.model_validate_json(row[0])
            reply.parts_sent = parts_sent
            reply.provider_sid = provider_sid
            conn.execute("UPDATE outbox SET data = ? WHERE id = ?", (reply.model_dump_json(), reply_id))

    def update_reply_by_provider_sid(
        self, provider_sid: str, status: ReplyStatus, error: str | None = None
    ) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, data FROM outbox WHERE json_extract(data, '$.provider_sid') = ?",
                (provider_sid,),
            ).fetchone()
            if row is None:
                return False
            reply = OutboundReply.model_validate_json(row[1])
            if not status_moves_forward(reply.status, status):
                return True
            reply.status = status
            if error is not None:
                reply.error = error
            conn.execute(
                "UPDATE outbox SET status = ?, data = ? WHERE id = ?",
                (status, reply.model_dump_json(), row[0]),
            )
            return True

    # privacy -----------------------------------------------------------------------------

    def forget_participant(self, participant: str) -> dict[str, int]:
        removed: dict[str, int] = {}
        with self._write() as conn:
            for table in ("user_event_tracking", "event_participants", "interactions", "inbox", "outbox"):
                cursor = conn.execute(f"DELETE FROM {table} WHERE participant = ?", (participant,))
                removed[table] = cursor.rowcount
        return removed

    def secret(self, name: str) -> str:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, secrets.token_hex(32))
            )
            return conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()[0]

    def add_block(self, entry: BlockedNumber) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO blocked_numbers (key, data) VALUES (?, ?)", (entry.key, entry.model_dump_json())
            )
            return cursor.rowcount == 1

    def remove_block(self, key: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM blocked_numbers WHERE key = ?", (key,)).rowcount == 1

    def list_blocks(self) -> list[BlockedNumber]:
        rows = self._read().execute("SELECT data FROM blocked_numbers ORDER BY key").fetchall()
        return [BlockedNumber.model_validate_json(row[0]) for row in rows]

    # operators' reading ------------------------------------------------------------------

    def _pages(self, table: str, key: str, where: str = "", params: tuple = ()) -> Iterator[str]:
        """The `data` of every matching row, ordered by `key`, 500 rows a query."""
        conn = self._memory_conn or self._connect()
        try:
            last = None
            while True:
                after = f"{' AND ' if where else ''}{key} > ?" if last is not None else ""
                clause = f"WHERE {where}{after}" if where or after else ""
                rows = conn.execute(
                    f"SELECT {key}, data FROM {table} {clause} ORDER BY {key} LIMIT 500",
                    (*params, *(() if last is None else (last,))),
                ).fetchall()
                if not rows:
                    return
                for last, data in rows:
                    yield data
        finally:
            if conn is not self._memory_conn:
                conn.close()

    def iter_participants(self) -> Iterator[ParticipantSnapshot]:
        for data in self._pages("user_event_tracking", "participant"):
            yield ParticipantSnapshot.model_validate_json(data)

    def iter_profiles(self, event_id: str) -> Iterator[dict]:
        for data in self._pages("event_participants", "participant", "event_key = ?", (_event_key(event_id),)):
            yield json.loads(data)

    def iter_replies(self, statuses: Sequence[ReplyStatus]) -> Iterator[OutboundReply]:
        marks = ", ".join("?" for _ in statuses)
        for data in self._pages("outbox", "seq", f"status IN ({marks})", tuple(statuses)):
            yield OutboundReply.model_validate_json(data)

    # lifecycle ---------------------------------------------------------------------------

    def ping(self) -> None:
        self._read().execute("SELECT 1").fetchone()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._memory_conn is not None:
            self._memory_conn.close()
            self._memory_conn = None

