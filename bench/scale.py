"""Benchmark: memory as participants grow, and export speed and memory at a million rows.

1. Server memory. The real app (`uvicorn app:app`, one worker, SQLite, offline
   extractors, a local fake Twilio) is sent one message from each of N new participants
   (each joins an event); once the worker has processed them all, the server's RSS is
   read. Nothing about a participant is kept in memory between messages, so RSS after
   100,000 participants should be RSS after 1,000, give or take the allocator.
2. Export. A SQLite store is filled with 1,000,000 interactions of one event (10,000
   participants x 100, written with the store's own commit). Then, each in a fresh process
   so its peak RSS is its own: `listener.operators.export.export` to CSV (streamed, the product's
   path), and the obvious baseline, `list(store.iter_interactions(event))` before writing.

Run: python bench/scale.py [--participants 1000,100000] [--interactions 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fake_twilio import FakeTwilio  # noqa: E402
from figures import machine_line, peak_rss_mib, rss_mib  # noqa: E402
from harness import fixture_events  # noqa: E402
from load_client import WebhookClient  # noqa: E402
from reliability_support import ServerProcess, free_port, server_env  # noqa: E402
from webhook_support import message_form, seed_events  # noqa: E402

from listener.models import Interaction, Membership, Outcome, ParticipantSnapshot  # noqa: E402
from listener.store.sqlite import SQLiteStore  # noqa: E402

EVENT_ID = "TOWNHALL"
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


async def send_one_each(port: int, first: int, last: int, in_flight: int = 32) -> None:
    """One message from each participant in [first, last), `in_flight` at a time."""
    client = WebhookClient(port, connections=in_flight)
    gate = asyncio.Semaphore(in_flight)

    async def one(index: int) -> None:
        async with gate:
            form = message_form(f"SM{index:032d}", f"+1444{index:07d}", f"hi, I'm at {EVENT_ID}")
            answer = await client.post_form("/message", form)
            if answer.status != 200:
                raise RuntimeError(f"message {index}: {answer.status}")

    try:
        for start in range(first, last, 5000):  # a bounded number of tasks at a time
            await asyncio.gather(*(one(index) for index in range(start, min(last, start + 5000))))
    finally:
        await client.close()


def wait_processed(store: SQLiteStore, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while (now := datetime.now(timezone.utc)) and (store.pending_inbound(now, 1) or store.pending_replies(now, 1)):
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not finish the backlog")
        time.sleep(0.2)


def server_memory(counts: list[int], workdir: Path) -> None:
    print("\nserver RSS after N participants each sent one message (processed, replies sent)")
    twilio = FakeTwilio().start()
    db = workdir / "scale.db"
    seed_events(db)
    server = ServerProcess(server_env(db, twilio), free_port(), workdir / "server.log").start()
    store = SQLiteStore(db)
    try:
        print(f"{'participants':>12} {'RSS MiB':>8} {'seconds':>8}")
        print(f"{0:12d} {rss_mib(server.pid):8.1f} {'-':>8}")
        sent = 0
        for target in counts:
            started = time.monotonic()
            asyncio.run(send_one_each(server.port, sent, target))
            wait_processed(store)
            sent = target
            print(f"{target:12d} {rss_mib(server.pid):8.1f} {time.monotonic() - started:8.1f}")
    finally:
        server.stop()
        store.close()
        twilio.stop()


def fill(db: Path, interactions: int, per_participant: int = 100) -> float:
    """`interactions` inbound records of one event, through `Store.commit`; seconds taken."""
    store = SQLiteStore(db)
    for event in fixture_events().values():
        store.put_event(event)
    started = time.monotonic()
    for participant_index in range(interactions // per_participant):
        number = f"+1333{participant_index:07d}"
        joined = START + timedelta(seconds=participant_index)
        snapshot = ParticipantSnapshot(
            participant=number, state="listening", current_event_id=EVENT_ID, version=1,
            events={EVENT_ID: Membership(joined_at=joined, last_active_at=joined, messages=per_participant)},
        )
        records = [
            Interaction(id=f"SM{participant_index:016d}{k:016d}", participant=number, event_id=EVENT_ID,
                        direction="in", kind="contribution", text=f"thought {k}: the buses should run later",
                        state="listening", at=joined + timedelta(seconds=k))
            for k in range(per_participant)
        ]
        store.commit(Outcome(message_sid=records[-1].id, snapshot=snapshot, expected_version=0,
                             interactions=records, touched_events=[EVENT_ID]))
    store.close()
    return time.monotonic() - started


def export_child(db: Path, how: str) -> None:
    """In a fresh process: export the event one way; print rows, seconds and peak RSS."""
    from listener.operators.export import ExportRequest, export

    store = SQLiteStore(db)
    event = store.get_event(EVENT_ID)
    baseline = peak_rss_mib()
    started = time.monotonic()
    with open(os.devnull, "w") as out:
        if how == "stream":
            rows = export(store, ExportRequest(event_id=EVENT_ID, format="csv"), event, out)
        else:
            everything = list(store.iter_interactions(EVENT_ID))
            buffer = io.StringIO()
            for interaction in everything:
                buffer.write(interaction.model_dump_json())
            out.write(buffer.getvalue())
            rows = len(everything)
    seconds = time.monotonic() - started
    print(f"{rows} {seconds:.2f} {peak_rss_mib():.1f} {baseline:.1f}")


def export_speed(interactions: int, workdir: Path) -> None:
    db = workdir / "export.db"
    seconds = fill(db, interactions)
    print(f"\nexport: {interactions:,} interactions of one event (written through Store.commit in {seconds:.0f} s)")
    print(f"{'way':<40} {'rows/s':>9} {'seconds':>8} {'peak RSS MiB':>13} {'at start':>9}")
    for how, label in (("stream", "listener.operators.export.export, CSV (streamed)"),
                       ("list", "baseline: list(iter_interactions) first")):
        result = subprocess.run([sys.executable, __file__, "--export-child", how, str(db)],
                                capture_output=True, text=True, check=True)
        rows, secs, peak, start = result.stdout.split()
        print(f"{label:<40} {int(rows) / float(secs):9.0f} {float(secs):8.1f} {float(peak):13.1f} {float(start):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", default="1000,100000", help="comma-separated; empty skips this part")
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--export-child", nargs=2, metavar=("HOW", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(Path(args.export_child[1]), args.export_child[0])
        return
    print(machine_line())
    with tempfile.TemporaryDirectory() as workdir:
        if args.participants:
            server_memory([int(count) for count in args.participants.split(",")], Path(workdir))
        export_speed(args.interactions, Path(workdir))


if __name__ == "__main__":
    main()
