"""What a message costs the store, counted where it is billed, for the running server.

    .venv/bin/python bench/store_cost.py                       # SQLite, and Firestore when
    FIRESTORE_EMULATOR_HOST=127.0.0.1:8082 .venv/bin/python bench/store_cost.py   # an emulator runs

The server runs as the Procfile runs it (`uvicorn app:app`, a child process, default
settings but for the fakes), launched through `bench/counted_server.py`, which counts the
Firestore client's RPCs at its gRPC layer (documents read by gets and queries, a query
at least one, documents written, commits) and SQLite's statements, inside the server.
Participants talk to it with signed webhooks; replies go to the fake Twilio through the
official client; answers are read offline (no model). Each phase waits until every
message is processed and every reply's send result is recorded, then takes the counts.

Printed per store: per message, for an onboarding with a cold event cache, one with a
warm cache, and listening; per delivery-status callback (`sent`, `delivered`, `read`);
per health probe; and what the server reads in the background when idle (recovery sweeps,
blocklist refresh), per minute. The background requests made during a phase are shown
apart, not divided among its messages. Last, how fast an export streams.

With `--processes 2`, two counted servers share the store (two dynos, `--workers 2`) and
one participant's listening messages alternate between them: each once the previous one
is answered, and in pairs 5 ms apart (the second arriving at the other process while the
first is being processed there); the figures are both servers' together.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fake_twilio import FakeTwilio  # noqa: E402
from figures import machine_line  # noqa: E402
from reliability_support import ServerProcess, free_port, server_env  # noqa: E402
from webhook_support import message_form, signature  # noqa: E402

from listener.config import Settings  # noqa: E402
from listener.models import EventConfig, Interaction, Outcome, ParticipantSnapshot  # noqa: E402
from listener.store import Store, open_store  # noqa: E402

EVENT = EventConfig(
    event_id="BENCH24",
    event_name="Bench Assembly",
    extraction_settings={"age_extraction": True, "gender_extraction": True, "region_extraction": True},
    responses="template",
)
ONBOARDING = ["hi, I'm at BENCH24", "Alex", "34", "woman", "Bristol"]
CALLBACKS = ("sent", "delivered", "read")
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SETTLE_SECONDS = 60.0

BACKGROUND = {
    # Firestore: label prefixes (see counted_server.py)
    "query inbox [status, received_at]": "recovery sweep",
    "query outbox [status]": "recovery sweep",
    "query outbox [status, claimed_until]": "recovery sweep",
    "query blocked_numbers []": "blocklist refresh",
    "get listener_secrets": "secret (once a process)",
    "commit listener_secrets": "secret (once a process)",
    # SQLite: statement prefixes
    "sqlite SELECT data FROM inbox WHERE status = 'pending'": "recovery sweep",
    "sqlite SELECT seq, data FROM outbox WHERE status = 'pending'": "recovery sweep",
    "sqlite SELECT data FROM blocked_numbers": "blocklist refresh",
    "sqlite SELECT value FROM secrets": "secret (once a process)",
    "sqlite INSERT OR IGNORE INTO secrets": "secret (once a process)",
}


def background(label: str) -> str | None:
    return next((purpose for prefix, purpose in BACKGROUND.items() if label.startswith(prefix)), None)


Counts = dict[str, dict[str, int]]


@dataclass
class Cost:
    """What one phase cost, per unit (message, callback, probe)."""

    units: int
    by_label: Counts
    background: Counts = field(default_factory=dict)

    def total(self, figure: str) -> float:
        return sum(figures.get(figure, 0) for figures in self.by_label.values()) / self.units

    def queries(self) -> float:
        return sum(f.get("calls", 0) for label, f in self.by_label.items() if label.startswith("query")) / self.units

    def write_transactions(self) -> float:
        return sum(f["statements"] for label, f in self.by_label.items() if label.startswith("sqlite BEGIN")) / self.units

    def statements(self) -> float:
        return self.total("statements")


def difference(after: Counts, before: Counts) -> Counts:
    changed: Counts = {}
    for label, figures in after.items():
        delta = {name: value - before.get(label, {}).get(name, 0) for name, value in figures.items()}
        if any(delta.values()):
            changed[label] = delta
    return changed


class CountedServer(ServerProcess):
    """The app under `counted_server.py`; `counts()` asks it for its counts so far."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, counts_path: Path) -> None:
        super().__init__(env, port, log_path)
        self.counts_path = counts_path

    def start(self, timeout: float = 30.0) -> CountedServer:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "counted_server.py"), str(self.counts_path), "app:app",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
                cwd=ROOT, env=self.env, stdout=log, stderr=log,
            )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start; its log ends: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        return self

    def counts(self) -> Counts:
        self.counts_path.unlink(missing_ok=True)
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not self.counts_path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not write its counts")
            time.sleep(0.01)
        return json.loads(self.counts_path.read_text())


class Bench:
    """One store, its counted servers, the phases measured one after another."""

    def __init__(self, store: Store, servers: list[CountedServer], twilio: FakeTwilio) -> None:
        self.store = store
        self.servers = servers
        self.twilio = twilio
        self.clients = [httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30, trust_env=False)
                        for server in servers]
        self.http = self.clients[0]
        self.sequence = 0

    def post(self, path: str, form: dict[str, str], to: int = 0) -> None:
        answer = self.clients[to].post(path, data=form, headers={"X-Twilio-Signature": signature(path, form)})
        if answer.status_code not in (200, 204):
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")

    def settled(self, sid: str) -> bool:
        """Processed, and every reply's send result recorded."""
        if self.store.inbound_status(sid) != "done":
            return False
        number = 1
        while (reply := self.store.get_reply(f"{sid}-r{number}")) is not None:
            if reply.status in ("pending", "sending"):
                return False
            number += 1
        return True

    def wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for {what}")
            time.sleep(0.02)

    def converse(self, participant: str, texts: list[str]) -> list[str]:
        """Each message sent once the previous one is settled; their MessageSids."""
        sids = []
        for text in texts:
            self.sequence += 1
            sid = f"SM{self.sequence:032d}"
            self.post("/message", message_form(sid, participant, text))
            self.wait(lambda sid=sid: self.settled(sid), f"{sid} to be processed and answered")
            sids.append(sid)
        return sids

    def alternate(self, participant: str, texts: list[str], gap: float | None) -> None:
        """Messages alternately to each server: each once the previous is answered (`gap`
        None), or in pairs `gap` seconds apart, each pair answered before the next."""
        step = 1 if gap is None else 2
        for start in range(0, len(texts), step):
            sids = []
            for offset, text in enumerate(texts[start:start + step]):
                self.sequence += 1
                sids.append(sid := f"SM{self.sequence:032d}")
                self.post("/message", message_form(sid, participant, text), to=(start + offset) % len(self.servers))
                if gap:
                    time.sleep(gap)
            self.wait(lambda sids=sids: all(self.settled(sid) for sid in sids), "the messages to be answered")

    def counts(self) -> Counts:
        """Every server's counts, added up."""
        total: Counts = {}
        for server in self.servers:
            for label, figures in server.counts().items():
                into = total.setdefault(label, {})
                for name, value in figures.items():
                    into[name] = into.get(name, 0) + value
        return total

    def measure(self, units: int, action: Callable[[], object]) -> Cost:
        before = self.counts()
        action()
        changed = difference(self.counts(), before)
        ours = {label: figures for label, figures in changed.items() if background(label) is None}
        behind = {label: figures for label, figures in changed.items() if background(label) is not None}
        return Cost(units, ours, behind)

    def callbacks(self, sids: list[str]) -> None:
        """Twilio's delivery statuses for every reply to these messages, in order."""
        replies = [reply for sid in sids for n in (1, 2, 3) if (reply := self.store.get_reply(f"{sid}-r{n}"))]
        for status in CALLBACKS:
            for reply in replies:
                assert reply.provider_sid is not None
                self.post("/status", {"MessageSid": reply.provider_sid, "MessageStatus": status,
                                      "AccountSid": "AC" + "0" * 31 + "1"})
        self.wait(lambda: all(self.store.get_reply(reply.id).status == "read" for reply in replies),
                  "the statuses to be recorded")

    def idle(self, seconds: float) -> Cost:
        """What the server reads and writes with nothing to do, per minute."""
        cost = self.measure(1, lambda: time.sleep(seconds))
        minutes = seconds / 60
        scale = {label: {name: round(value / minutes) for name, value in figures.items()}
                 for label, figures in {**cost.by_label, **cost.background}.items()}
        return Cost(1, scale)


def production_env(store_url: str, twilio: FakeTwilio, workdir: Path) -> dict[str, str]:
    """A counted server's settings: the tests' (fakes, store), with production's timings."""
    env = server_env(workdir / "unused.db", twilio, STORE_URL=store_url, LOG_LEVEL="WARNING")
    for production_default in ("RECOVERY_INTERVAL_SECONDS", "RECOVERY_GRACE_SECONDS", "EVENT_CACHE_SECONDS",
                               "SEND_RETRY_MAX_SECONDS", "SEND_RETRY_BASE_SECONDS"):
        env.pop(production_default, None)
    return env


def run_two(store_name: str, store_url: str, twilio: FakeTwilio, workdir: Path, listening: int) -> dict:
    """Two servers on one store: what one participant's listening messages cost when they
    alternate between the processes."""
    store = open_store(store_url, Settings(_env_file=None))
    store.put_event(EVENT)
    env = production_env(store_url, twilio, workdir)
    servers = [CountedServer(env, free_port(), workdir / f"{store_name}-{n}.log", workdir / f"{store_name}-{n}.json")
               for n in (1, 2)]
    for server in servers:
        server.start()
    bench = Bench(store, servers, twilio)
    thoughts = [f"thought number {n}: the buses are late again" for n in range(listening)]
    try:
        bench.alternate("+15550100003", ONBOARDING, None)
        results = {
            "listening, alternating, each after the last was answered": bench.measure(
                listening, lambda: bench.alternate("+15550100003", thoughts, None)),
            "listening, alternating in pairs 5 ms apart": bench.measure(
                listening, lambda: bench.alternate("+15550100003", thoughts, 0.005)),
        }
    finally:
        for server in servers:
            server.stop()
        for client in bench.clients:
            client.close()
    return {"phases": results, "idle": None, "idle_seconds": 0, "store": store, "url": store_url}


def run(store_name: str, store_url: str, twilio: FakeTwilio, workdir: Path, listening: int, idle: float) -> dict:
    store = open_store(store_url, Settings(_env_file=None))
    store.put_event(EVENT)
    env = production_env(store_url, twilio, workdir)
    server = CountedServer(env, free_port(), workdir / f"{store_name}.log", workdir / f"{store_name}.json").start()
    bench = Bench(store, [server], twilio)
    try:
        results: dict[str, Cost] = {}
        results["onboarding, first participant (cold event cache)"] = bench.measure(
            len(ONBOARDING), lambda: bench.converse("+15550100001", ONBOARDING))
        results["onboarding, next participant (warm event cache)"] = bench.measure(
            len(ONBOARDING), lambda: bench.converse("+15550100002", ONBOARDING))
        sids: list[str] = []
        thoughts = [f"thought number {n}: the buses are late again" for n in range(listening)]
        results["listening"] = bench.measure(listening, lambda: sids.extend(bench.converse("+15550100001", thoughts)))
        results[f"a delivery-status callback ({', '.join(CALLBACKS)})"] = bench.measure(
            len(sids) * len(CALLBACKS), lambda: bench.callbacks(sids))
        results["a health probe (GET /healthz)"] = bench.measure(
            1, lambda: bench.http.get("/healthz").raise_for_status())
        idle_cost = bench.idle(idle) if idle else None
    finally:
        server.stop()
        bench.http.close()
    return {"phases": results, "idle": idle_cost, "idle_seconds": idle, "store": store, "url": store_url}


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


def store_urls(workdir: Path, wanted: list[str]) -> list[tuple[str, str]]:
    chosen = []
    if "sqlite" in wanted:
        chosen.append(("sqlite", f"sqlite:///{workdir / 'bench.db'}"))
    if "firestore" in wanted:
        host = os.environ.get("FIRESTORE_EMULATOR_HOST")
        if host:
            chosen.append(("firestore emulator", f"firestore://listener-bench-cost-{os.getpid()}"))
        else:
            print("FIRESTORE_EMULATOR_HOST is not set: measuring SQLite only", file=sys.stderr)
    return chosen


def figures_line(cost: Cost, firestore: bool) -> str:
    if firestore:
        return (f"reads {cost.total('reads'):5.2f}  docs written {cost.total('writes'):5.2f}  "
                f"commits {cost.total('commits'):5.2f}  queries {cost.queries():5.2f}")
    return f"write transactions {cost.write_transactions():5.2f}  statements {cost.statements():6.2f}"


def breakdown(cost: Cost) -> list[str]:
    lines = []
    for label, figures in sorted(cost.by_label.items()):
        shown = "  ".join(f"{name} {value / cost.units:.2f}" for name, value in sorted(figures.items()))
        lines.append(f"      {label[:96]:<96} {shown}")
    return lines


def report(name: str, result: dict, verbose: bool) -> None:
    firestore = name.startswith("firestore")
    print(f"\n{name}: per unit, at the {'RPC layer (as billed)' if firestore else 'SQLite statement layer (not billed)'}")
    for phase, cost in result["phases"].items():
        print(f"  {phase:<52} ({cost.units:>2})  {figures_line(cost, firestore)}")
        if verbose:
            print("\n".join(breakdown(cost)))
        if cost.background:
            purposes = sorted({background(label) for label in cost.background})
            print(f"      (meanwhile, in the background: {', '.join(p for p in purposes if p)})")
    idle = result["idle"]
    if idle is not None:
        print(f"  idle, per minute (measured over {result['idle_seconds']:g} s):")
        print("\n".join(breakdown(idle)) or "      nothing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listening", type=int, default=20, help="listening messages to send")
    parser.add_argument("--idle", type=float, default=65.0, help="seconds of idle server to measure (0: skip)")
    parser.add_argument("--export", type=int, default=10_000, help="interactions to export (0: skip)")
    parser.add_argument("--stores", default="sqlite,firestore")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1,
                        help="2: two servers on one store, a participant's messages alternating between them")
    parser.add_argument("--verbose", action="store_true", help="show every request kind per phase")
    parser.add_argument("--json", action="store_true", help="print the per-message figures as JSON")
    args = parser.parse_args()
    twilio = FakeTwilio().start()
    summary: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name, url in store_urls(Path(scratch), args.stores.split(",")):
                if args.processes == 2:
                    result = run_two(name.split()[0], url, twilio, Path(scratch), args.listening)
                else:
                    result = run(name.split()[0], url, twilio, Path(scratch), args.listening, args.idle)
                if args.export and args.processes == 1:
                    result["export"] = measure_export(result["store"], args.export)
                result["store"].close()
                summary[name] = result
    finally:
        twilio.stop()
    if args.json:
        print(json.dumps({name: {phase: {"reads": c.total("reads"), "writes": c.total("writes"),
                                          "commits": c.total("commits"), "queries": c.queries(),
                                          "write_transactions": c.write_transactions(), "statements": c.statements()}
                                  for phase, c in result["phases"].items()}
                          for name, result in summary.items()}, indent=2))
        return
    print(machine_line())
    for name, result in summary.items():
        report(name, result, args.verbose)
        if "export" in result:
            export = result["export"]
            print(f"  export: {export['interactions']} interactions in {export['seconds']} s ({export['per_second']}/s)")


if __name__ == "__main__":
    main()
