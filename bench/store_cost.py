"""What one inbound message costs the store, in documents read and written, and how fast
an export streams. Run it from the repository root:

    .venv/bin/python bench/store_cost.py                       # SQLite, and Firestore when
    FIRESTORE_EMULATOR_HOST=127.0.0.1:8082 .venv/bin/python bench/store_cost.py   # an emulator runs

Costs are counted at the store boundary, in Firestore's terms (a document read, a document
written, a commit), by a wrapper around the real store that the real engine drives: the
same conversation costs the same on both stores, and the Firestore figures are what a
Firestore bill counts. Event configuration goes through the cache the server uses
(`EVENT_CACHE_SECONDS`), so a listening message reads no event.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from listener.ai.rules import RuleExtractor
from listener.config import Settings
from listener.conversation.engine import Engine
from listener.conversation.events import EventDirectory
from listener.conversation.flow import Flow
from listener.conversation.turn import Services
from listener.models import (
    EventConfig,
    InboundMessage,
    Interaction,
    Outcome,
    ParticipantSnapshot,
)
from listener.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
EVENT = EventConfig(
    event_id="BENCH24",
    event_name="Bench Assembly",
    extraction_settings={"age_extraction": True, "gender_extraction": True, "region_extraction": True},
    responses="template",
)
ONBOARDING = ["hi, I'm at BENCH24", "Alex", "34", "woman", "Bristol"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
BENCH_PROJECT = "listener-bench"


@dataclass
class Cost:
    reads: int = 0
    writes: int = 0
    inbox_creates: int = 0  # the webhook's create-if-absent, before it answers Twilio
    commits: int = 0  # the engine's one atomic commit of the message's outcome


class CountingStore:
    """Forwards every call to a store and tallies what the message path costs."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.cost = Cost()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def record_inbound(self, message: InboundMessage) -> bool:
        self.cost.writes += 1
        self.cost.inbox_creates += 1
        return self.inner.record_inbound(message)

    def inbound_status(self, message_sid: str):
        self.cost.reads += 1
        return self.inner.inbound_status(message_sid)

    def load_participant(self, participant: str) -> ParticipantSnapshot | None:
        self.cost.reads += 1
        return self.inner.load_participant(participant)

    def get_event(self, event_id: str) -> EventConfig | None:
        self.cost.reads += 1
        return self.inner.get_event(event_id)

    def list_events(self) -> list[EventConfig]:
        events = self.inner.list_events()
        self.cost.reads += max(1, len(events))
        return events

    def commit(self, outcome: Outcome) -> None:
        self.inner.commit(outcome)
        profiles = sum(1 for event_id in outcome.touched_events if event_id in outcome.snapshot.events)
        # snapshot + profiles + interactions + outbox replies + the inbox item marked done
        self.cost.writes += 1 + profiles + len(outcome.interactions) + len(outcome.replies) + 1
        self.cost.commits += 1


def per_message(cost: Cost, messages: int) -> dict[str, float]:
    return {key: round(value / messages, 2) for key, value in asdict(cost).items()}


def converse(store: CountingStore, engine: Engine, participant: str, texts: list[str], clock: list[datetime]) -> dict:
    """Deliver messages as the webhook and worker do; their cost per message."""
    store.cost = Cost()
    for n, text in enumerate(texts):
        clock[0] += timedelta(seconds=30)
        message = InboundMessage(
            message_sid=f"SM{participant[-4:]}{clock[0].timestamp():.0f}{n:04d}",
            participant=participant,
            body=text,
            received_at=clock[0],
        )
        if store.record_inbound(message):
            engine.process(message)
    return {"messages": len(texts), **per_message(store.cost, len(texts))}


def measure_messages(inner: Store, listening: int) -> dict[str, dict]:
    settings = Settings(_env_file=None)
    store = CountingStore(inner)
    services = Services(
        extractor=RuleExtractor(),
        events=EventDirectory(store, ttl=settings.event_cache_seconds),
    )
    engine = Engine(Flow.from_file(ROOT / "transitions.yaml"), store, services)  # type: ignore[arg-type]
    clock = [START]
    thoughts = [f"thought number {n}: the buses are late again" for n in range(listening)]
    return {
        "onboarding, first participant (cold event cache)": converse(store, engine, "+15550100001", ONBOARDING, clock),
        "onboarding, next participant (warm event cache)": converse(store, engine, "+15550100002", ONBOARDING, clock),
        "listening": converse(store, engine, "+15550100001", thoughts, clock),
    }


def measure_export(store: Store, count: int) -> dict[str, float]:
    """Seed `count` interactions (400 per commit) and time streaming them back."""
    snapshot: ParticipantSnapshot | None = None
    for start in range(0, count, 400):
        version = snapshot.version if snapshot else 0
        snapshot = ParticipantSnapshot(participant="+15550199999", state="seeded", version=version + 1)
        records = [
            Interaction(
                id=f"SMX{n:08d}", participant=snapshot.participant, event_id=EVENT.event_id, direction="in",
                kind="contribution", text=f"thought number {n}", state="seeded", at=START + timedelta(seconds=n),
            )
            for n in range(start, min(start + 400, count))
        ]
        store.commit(Outcome(message_sid=f"SMX-seed-{start}", snapshot=snapshot, expected_version=version,
                             interactions=records))
    started = time.perf_counter()
    exported = sum(1 for _ in store.iter_interactions(participant="+15550199999"))
    seconds = time.perf_counter() - started
    return {"interactions": exported, "seconds": round(seconds, 2), "per_second": round(exported / seconds)}


def stores() -> list[tuple[str, Store]]:
    """SQLite in a temporary folder, and a reset emulator project when one is reachable."""
    chosen: list[tuple[str, Store]] = [("sqlite", open_store(f"sqlite:///{tempfile.mkdtemp()}/bench.db"))]
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if host:
        httpx.delete(f"http://{host}/emulator/v1/projects/{BENCH_PROJECT}/databases/(default)/documents",
                     timeout=30).raise_for_status()
        chosen.append(("firestore emulator", open_store(f"firestore://{BENCH_PROJECT}")))
    else:
        print("FIRESTORE_EMULATOR_HOST is not set: measuring SQLite only", file=sys.stderr)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listening", type=int, default=20, help="listening messages to send")
    parser.add_argument("--export", type=int, default=10_000, help="interactions to export (0: skip)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    for name, store in stores():
        store.put_event(EVENT)
        figures[name] = {"per message": measure_messages(store, args.listening)}
        if args.export:
            figures[name]["export"] = measure_export(store, args.export)
        store.close()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, results in figures.items():
        print(f"\n{name}")
        for phase, cost in results["per message"].items():
            print(f"  {phase:<50} {cost['messages']:>3} msgs  reads/msg {cost['reads']:>4}"
                  f"  docs written/msg {cost['writes']:>4}  inbox creates/msg {cost['inbox_creates']:>4}"
                  f"  commits/msg {cost['commits']:>4}")
        if "export" in results:
            export = results["export"]
            print(f"  export: {export['interactions']} interactions in {export['seconds']} s"
                  f" ({export['per_second']}/s)")


if __name__ == "__main__":
    main()
