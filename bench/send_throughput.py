"""Benchmark: replies handed to Twilio per second by one process, at a concurrency.

Replies for distinct participants are committed to a fresh SQLite outbox already claimed
by the sending process (as the engine writes them), then handed to the real sending path
(`Sending` lanes, `Delivery`, `TwilioSender` with the official `twilio` client) against a
fake Twilio that answers every send after `--latency` seconds (Twilio's API takes time
too). The fake runs in a child process, as Twilio is not in ours. Each concurrency runs
`--runs` times, interleaved; the baseline is concurrency 1 (one request in flight, as a
sender without concurrency would send), measured in the same run.

Run: python bench/send_throughput.py [--concurrency 1,50] [--latency 0.05] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from figures import machine_line  # noqa: E402
from webhook_support import make_settings  # noqa: E402

from listener.channel.sender import TwilioSender  # noqa: E402
from listener.models import OutboundReply, Outcome, ParticipantSnapshot  # noqa: E402
from listener.processing.delivery import Delivery, RetryPolicy  # noqa: E402
from listener.processing.sending import Sending  # noqa: E402
from listener.store.sqlite import SQLiteStore  # noqa: E402

FAKE = """
import sys
sys.path.insert(0, {tests!r})
from fake_twilio import FakeTwilio
fake = FakeTwilio(latency={latency}).start()
print(fake.url, flush=True)
sys.stdin.read()
print(len(fake.messages), flush=True)
"""


class FakeTwilioProcess:
    """The fake Twilio in a child process; `stop()` returns how many messages it accepted."""

    def __init__(self, latency: float) -> None:
        code = FAKE.format(tests=str(ROOT / "tests"), latency=latency)
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> int:
        out, _ = self.process.communicate("", timeout=30)
        return int(out.strip())


class UrlOnly:
    """What `make_settings` needs of a fake: its URL."""

    def __init__(self, url: str) -> None:
        self.url = url


def commit_replies(store: SQLiteStore, delivery: Delivery, count: int, prefix: str) -> list[OutboundReply]:
    now = datetime.now(timezone.utc)
    until = now + timedelta(seconds=delivery.policy.claim_seconds)
    replies = []
    for index in range(count):
        participant = f"+1555{index:07d}"
        sid = f"SM{prefix}{index:030d}"
        # Claimed by the sending process, as the worker commits a reply.
        reply = OutboundReply(id=f"{sid}-r1", participant=participant, text="Thank you, that is noted.",
                              in_reply_to=sid, created_at=now, status="sending",
                              claimed_by=delivery.claimant, claimed_until=until)
        snapshot = ParticipantSnapshot(participant=participant, state="listening", version=1)
        store.commit(Outcome(message_sid=sid, snapshot=snapshot, expected_version=0, replies=[reply]))
        replies.append(reply)
    return replies


async def one_run(url: str, workdir: Path, concurrency: int, count: int, label: str) -> float:
    """Replies sent per second at this concurrency."""
    db = workdir / f"{label}.db"
    settings = make_settings(db, UrlOnly(url), send_concurrency=concurrency)
    store = SQLiteStore(db)
    sender = TwilioSender(settings)
    try:
        delivery = Delivery(store, sender, RetryPolicy.from_settings(settings))
        replies = await asyncio.to_thread(commit_replies, store, delivery, count, label)
        sending = Sending(delivery)
        started = time.perf_counter()
        for reply in replies:
            sending.submit(reply)
        assert await sending.drain(600)
        elapsed = time.perf_counter() - started
        sent = sum(1 for reply in replies if store.get_reply(reply.id).status == "sent")
        assert sent == count, f"{sent} of {count} sent"
        return count / elapsed
    finally:
        await sender.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,50",
                        help="requests in flight, comma-separated; the first is the baseline")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake Twilio takes to answer a send")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="about how long each run sends")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]

    print(machine_line())
    print(f"fake Twilio answering each send after {args.latency * 1000:.0f} ms (a child process); SQLite outbox; "
          f"replies already claimed by the sender; {args.runs} runs per concurrency, interleaved")
    fake = FakeTwilioProcess(args.latency)
    rates: dict[int, list[float]] = {level: [] for level in levels}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for run in range(args.runs):
                for level in levels:
                    # Sized so each run takes about --seconds at the ideal rate.
                    count = max(50, int(args.seconds * level / args.latency))
                    rate = asyncio.run(one_run(fake.url, Path(workdir), level, count, f"c{level}r{run}"))
                    rates[level].append(rate)
    finally:
        accepted = fake.stop()
    baseline = statistics.median(rates[levels[0]])
    print(f"{'concurrency':>11} {'sends/s (median)':>17} {'runs':>24} {'vs baseline':>12} {'ideal':>7}")
    for level in levels:
        median = statistics.median(rates[level])
        runs = ", ".join(f"{rate:.0f}" for rate in rates[level])
        print(f"{level:>11} {median:>17.0f} {runs:>24} {median / baseline:>11.1f}x {level / args.latency:>7.0f}")
    print(f"(the fake accepted {accepted} messages in all)")


if __name__ == "__main__":
    main()
