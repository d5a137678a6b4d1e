"""Benchmark: webhook acknowledgement latency and throughput under rising load.

The real app runs as the Procfile runs it (`uvicorn app:app`, one worker, a child
process) on SQLite with the offline extractors; replies go to a local fake Twilio. A
load generator on loopback sends signed Twilio webhooks for 1,000 participants in
round-robin passes (the event ID, then a name, then contributions), open loop: each
request is sent at its scheduled time whether or not earlier ones were answered.

For each rate it prints the acknowledgement latency (request written to response read,
p50 / p99 / max), the rate the app acknowledged, and how long the worker took to process
that step's messages (the processing rate). After each step the backlog is left to drain.

Then the same steps run again with the model switched on and a fake model that takes
`--slow-llm-seconds` per call: the acknowledgement must not change, since the model
is only called after the 200. (The backlog cannot drain then; it is not waited for.)

The client is `tests/load_client.py`: raw asyncio streams, keep-alive, each request in
one write on a TCP_NODELAY socket (httpx writes headers and body separately, and the
delayed ACK that provokes adds ~40 ms per request on loopback).

Run: python bench/webhook_load.py [--rates 100,200,400] [--per-rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fake_openai import Answer, FakeOpenAI  # noqa: E402
from fake_twilio import FakeTwilio  # noqa: E402
from figures import machine_line, percentile  # noqa: E402
from load_client import ConnectionLost, WebhookClient  # noqa: E402
from reliability_support import NAMES, ServerProcess, free_port, server_env  # noqa: E402
from webhook_support import message_form, seed_events  # noqa: E402

PARTICIPANTS = 1000


def messages(participants: int):
    """Round-robin passes over the participants: join, name, then contributions."""
    sids = count()
    for turn in count():
        for index in range(participants):
            number = f"+1555{index:07d}"
            if turn == 0:
                body = "hi, I'm at TOWNHALL"
            elif turn == 1:
                body = NAMES[index % len(NAMES)]
            else:
                body = f"thought {turn} from participant {index}"
            yield message_form(f"SM{next(sids):032d}", number, body)


async def step(client: WebhookClient, forms, rate: float, total: int) -> tuple[list[float], Counter[str], float]:
    """Send `total` forms at `rate` per second; latencies (s), failures by kind, elapsed (s)."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()

    async def send(form) -> None:
        try:
            answer = await client.post_form("/message", form)
        except ConnectionLost as exc:
            failures[str(exc).split(":")[0]] += 1
            return
        if answer.status != 200:
            failures[f"{answer.status} {answer.body[:80].decode(errors='replace')}"] += 1
        latencies.append(answer.seconds)

    started = time.perf_counter()
    tasks = []
    for index in range(total):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(next(forms))))
    await asyncio.gather(*tasks)
    return latencies, failures, time.perf_counter() - started


def pending(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM inbox WHERE status = 'pending'").fetchone()[0]


async def run(label: str, db: Path, port: int, rates: list[float], per_rate: int, drain: bool) -> None:
    client = WebhookClient(port, connections=256)
    forms = messages(PARTICIPANTS)
    print(f"\n{label}")
    print(f"{'rate/s':>7} {'sent':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'acked/s':>8} {'failed':>6} {'processed/s':>12}")
    try:
        for rate in rates:
            started = time.perf_counter()
            latencies, failures, elapsed = await step(client, forms, rate, per_rate)
            processed = "-"
            if drain:
                deadline = time.perf_counter() + 600
                while pending(db) and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                processed = f"{per_rate / (time.perf_counter() - started):.0f}"
            ms = [value * 1000 for value in latencies] or [float("nan")]
            print(f"{rate:7.0f} {per_rate:6d} {statistics.median(ms):7.2f} {percentile(ms, 0.99):7.2f} "
                  f"{max(ms):7.1f} {len(latencies) / elapsed:8.0f} {sum(failures.values()):6d} {processed:>12}")
            for kind, number in failures.items():
                print(f"        failed: {number} x {kind}")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,200,400", help="messages per second, comma-separated")
    parser.add_argument("--per-rate", type=int, default=2000, help="messages sent at each rate")
    parser.add_argument("--slow-llm-seconds", type=float, default=5.0)
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]

    print(machine_line())
    print(f"{PARTICIPANTS} participants, one uvicorn worker, SQLite, local fake Twilio; client: raw asyncio streams")
    twilio = FakeTwilio().start()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            db = Path(workdir) / "offline.db"
            seed_events(db)
            port = free_port()
            server = ServerProcess(server_env(db, twilio), port, Path(workdir) / "offline.log").start()
            try:
                asyncio.run(run("offline extractors and templates", db, port, rates, args.per_rate, drain=True))
            finally:
                server.stop()

            with FakeOpenAI() as model:
                model.always(Answer.sleep(args.slow_llm_seconds, Answer.text("Thank you, noted.")))
                db = Path(workdir) / "slow.db"
                seed_events(db)
                server = ServerProcess(server_env(db, twilio, model.base_url), port,
                                       Path(workdir) / "slow.log").start()
                try:
                    asyncio.run(run(f"model on, every model call takes {args.slow_llm_seconds:g} s", db, port,
                                    rates, args.per_rate, drain=False))
                finally:
                    server.kill()
                print(f"(model calls made while the steps ran: {len(model.requests)})")
    finally:
        twilio.stop()


if __name__ == "__main__":
    main()
