"""Benchmark: a keynote's burst. Every participant sends one message within one second.

The real app runs as the Procfile runs it (`uvicorn app:app`, one worker, a child
process), on SQLite and on the Firestore emulator, with the OpenAI SDK talking to a fake
model that takes `--model-seconds` to write each acknowledgement, and replies going to a
local fake Twilio through the official client. The participants are onboarded before
the burst (written through the engine, their onboarding replies left out), so every
burst message is a contribution whose acknowledgement the model composes.

Printed per store: webhook acknowledgement latency (request written to response read:
p50, p99, max, non-200s), when every reply had been accepted by the fake Twilio
(seconds from the burst's first request), throughput in replies per second, a time
series of replies accepted per second, and the accounting (messages recorded once,
replies per participant: lost 0, doubled 0). The baseline, in the same run, is the
same burst to participants of an event whose acknowledgements are templates: what the
server does when no model call is on the path.

Run: python bench/burst.py [--participants 1000] [--model-seconds 1] [--stores sqlite,firestore]
     python bench/burst.py --participants 20 --window 0   (the concurrency figure: 20 at once)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fake_openai import Answer, FakeOpenAI  # noqa: E402
from fake_twilio import FakeTwilio  # noqa: E402
from figures import machine_line, percentile  # noqa: E402
from firestore_fixtures import answers, find_launcher, free_port as free_emulator_port, stop  # noqa: E402
from load_client import ConnectionLost, WebhookClient  # noqa: E402
from reliability_support import ServerProcess, free_port, server_env  # noqa: E402
from webhook_support import message_form  # noqa: E402

from listener.ai.language_id import LangidIdentifier  # noqa: E402
from listener.ai.rules import RuleExtractor  # noqa: E402
from listener.config import Settings  # noqa: E402
from listener.conversation.engine import Engine  # noqa: E402
from listener.conversation.events import EventDirectory  # noqa: E402
from listener.conversation.flow import Flow  # noqa: E402
from listener.conversation.turn import Services  # noqa: E402
from listener.models import EventConfig, ExtractionSettings, InboundMessage  # noqa: E402
from listener.store import Store, open_store  # noqa: E402

BURST_SECONDS = 1.0
EVENTS = {
    "model": EventConfig(event_id="KEYNOTE", event_name="Keynote", responses="llm",
                         extraction_settings=ExtractionSettings(name_extraction=False)),
    "template": EventConfig(event_id="KEYNOTE-T", event_name="Keynote (templates)", responses="template",
                            extraction_settings=ExtractionSettings(name_extraction=False)),
}


class TimedTwilio(FakeTwilio):
    """The fake Twilio, noting when it accepted each message."""

    def create_message(self, form: dict[str, str]) -> tuple[int, dict]:
        return super().create_message({**form, "accepted_at": time.time()})


def _serve_twilio(conn) -> None:
    twilio = TimedTwilio().start()
    conn.send(twilio.url)
    while (command := conn.recv()) != "stop":
        conn.send(len(twilio.messages) if command == "count" else list(twilio.messages))
    twilio.stop()


def _serve_model(conn, seconds: float) -> None:
    with FakeOpenAI() as model:
        model.always(Answer.sleep(seconds, Answer.text("Thank you, that is noted.")))
        conn.send(model.base_url)
        while (command := conn.recv()) != "stop":
            conn.send(len(model.chat_requests()))


class ChildFake:
    """A fake server in a process of its own: in the load generator's process, its
    threads would compete with the client for one interpreter lock and slow both."""

    def __init__(self, target, *args: object) -> None:
        self._conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=target, args=(child, *args), daemon=True)
        self.process.start()
        self.url = self._conn.recv()

    def ask(self, command: str):
        self._conn.send(command)
        return self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self.process.join(timeout=10)


def participant(run: str, index: int) -> str:
    return f"+1555{'1' if run == 'model' else '2'}{index:06d}"


def onboard(store: Store, run: str, count: int) -> None:
    """Join every participant to the run's event, as the engine would, without sending
    the onboarding replies (they are not what the burst measures)."""
    flow = Flow.from_file(ROOT / "transitions.yaml")
    engine = Engine(flow, store, Services(extractor=RuleExtractor(), events=EventDirectory(store, ttl=60),
                                          languages=LangidIdentifier(flow.languages)))
    event_id = EVENTS[run].event_id

    def join(index: int) -> None:
        message = InboundMessage(message_sid=f"SMjoin{run[0]}{index:026d}", participant=participant(run, index),
                                 body=event_id, received_at=datetime.now(timezone.utc))
        outcome = engine.step(None, message)
        outcome.replies.clear()
        outcome.interactions = [i for i in outcome.interactions if i.direction == "in"]
        store.commit(outcome)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(join, range(count)))


async def burst(port: int, forms: list[dict[str, str]], window: float) -> tuple[list[tuple[float, float]], Counter[str]]:
    """Send the forms spread evenly over `window` seconds (0: all at once), open loop;
    each answer's (seconds after the burst's start it was sent, latency), and failures."""
    client = WebhookClient(port, connections=512, timeout=30)
    latencies: list[tuple[float, float]] = []
    failures: Counter[str] = Counter()

    async def send(form: dict[str, str]) -> None:
        sent = time.perf_counter() - started
        try:
            answer = await client.post_form("/message", form)
        except ConnectionLost as exc:
            failures[str(exc).split(":")[0]] += 1
            return
        if answer.status != 200:
            failures[str(answer.status)] += 1
        latencies.append((sent, answer.seconds))

    started = time.perf_counter()
    tasks = []
    for index, form in enumerate(forms):
        delay = started + index * window / len(forms) - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(form)))
    await asyncio.gather(*tasks)
    await client.close()
    return latencies, failures


@contextmanager
def collector_paused() -> Iterator[None]:
    """The load generator's own garbage collector kept out of the burst: after the
    onboarding and an earlier run its heap is large, and a full collection stalls the
    sending for a tenth of a second, which the server sees as a pause in the burst and
    the latencies measured here as slow answers."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def run_burst(label: str, run: str, count: int, store_url: str, env_extra: dict[str, str], model: ChildFake,
              twilio: ChildFake, workdir: Path, timeout: float, window: float = BURST_SECONDS) -> dict:
    store = open_store(store_url, Settings(_env_file=None))
    for event in EVENTS.values():
        store.put_event(event)
    onboard(store, run, count)
    db = Path(workdir) / "unused.db"
    env = server_env(db, twilio, model.url, STORE_URL=store_url, OPENAI_MAX_RETRIES="0",
                     OPENAI_TIMEOUT_SECONDS="30", EVENT_CACHE_SECONDS="300", LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "INFO"), **env_extra)
    # Recovery as in production (the test settings sweep every second with no grace).
    for name in ("RECOVERY_GRACE_SECONDS", "RECOVERY_INTERVAL_SECONDS"):
        env.pop(name, None)
    port = free_port()
    server = ServerProcess(env, port, Path(workdir) / f"{run}.log").start(timeout=60)
    try:
        sent_before = twilio.ask("count")
        forms = [message_form(f"SMburst{run[0]}{index:025d}", participant(run, index),
                              f"thought from participant {index}") for index in range(count)]
        wall_started = time.time()
        with collector_paused():
            answers, failures = asyncio.run(burst(port, forms, window))
        deadline = time.monotonic() + timeout
        while twilio.ask("count") - sent_before < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # anything doubled arrives now
        accepted = twilio.ask("messages")[sent_before:]
    finally:
        server.stop()
    times = sorted(message["accepted_at"] - wall_started for message in accepted)
    per_participant = Counter(message["To"] for message in accepted)
    expected = {f"whatsapp:{participant(run, index)}" for index in range(count)}
    recorded = sum(1 for sid in (form["MessageSid"] for form in forms) if _recorded_once(store, sid))
    store.close()
    ms = [latency * 1000 for _, latency in answers] or [float("nan")]
    by_tenth: dict[int, list[float]] = {}
    for sent, latency in answers:
        by_tenth.setdefault(int(sent * 10), []).append(latency * 1000)
    return {
        "label": label,
        "ack_p50": statistics.median(ms), "ack_p99": percentile(ms, 0.99), "ack_max": max(ms),
        "non_200": sum(failures.values()), "failures": failures,
        "replies": len(accepted), "last_reply_s": times[-1] if times else float("nan"),
        "lost": len(expected - set(per_participant)),
        "doubled": sum(number - 1 for number in per_participant.values() if number > 1),
        "recorded": recorded, "sent": count,
        "series": Counter(int(t) for t in times),
        "ack_series": {tenth: percentile(values, 0.99) for tenth, values in sorted(by_tenth.items())},
        "model_calls": model.ask("count"),
    }


def _recorded_once(store: Store, sid: str) -> bool:
    return store.inbound_status(sid) == "done"


def report(result: dict) -> None:
    replies, last = result["replies"], result["last_reply_s"]
    print(f"  {result['label']}")
    print(f"    acks: p50 {result['ack_p50']:.1f} ms, p99 {result['ack_p99']:.1f} ms, max {result['ack_max']:.0f} ms, "
          f"non-200 {result['non_200']} {dict(result['failures']) or ''}")
    print(f"    replies at Twilio: {replies}/{result['sent']}, the last {last:.2f} s after the burst began "
          f"({replies / last if last else float('nan'):.0f} replies/s); lost {result['lost']}, "
          f"doubled {result['doubled']}; messages recorded and processed once: {result['recorded']}/{result['sent']}")
    acks = " ".join(f"{tenth / 10:.1f}s:{value:.0f}" for tenth, value in result["ack_series"].items())
    print(f"    acks' p99 (ms) by when the request was sent: {acks}")
    series = " ".join(f"{second}s:{result['series'][second]}" for second in range(int(last) + 1 if last == last else 0))
    print(f"    replies accepted per second: {series}")


class Emulator:
    """A Firestore emulator of the benchmark's own (the one in FIRESTORE_EMULATOR_HOST when set)."""

    def __init__(self) -> None:
        self.process = None
        self.host = os.environ.get("FIRESTORE_EMULATOR_HOST")

    def __enter__(self) -> Emulator:
        if self.host:
            return self
        import subprocess

        launcher = find_launcher()
        if launcher is None:
            raise SystemExit("the Firestore emulator is not installed (see README, Firestore)")
        port = free_emulator_port()
        self.process = subprocess.Popen([str(launcher), "start", "--host=127.0.0.1", f"--port={port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.host = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not answers(self.host):
            if time.monotonic() > deadline:
                raise SystemExit("the Firestore emulator did not start")
            time.sleep(0.5)
        os.environ["FIRESTORE_EMULATOR_HOST"] = self.host
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--model-seconds", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=BURST_SECONDS,
                        help="seconds the messages are spread over (0: all at once)")
    parser.add_argument("--stores", default="sqlite,firestore")
    parser.add_argument("--timeout", type=float, default=120.0, help="how long to wait for the replies")
    parser.add_argument("--keep", type=Path, help="keep the servers' logs and databases in this folder")
    args = parser.parse_args()

    print(machine_line())
    print(f"{args.participants} participants, one message each within {args.window:g} s; one uvicorn worker; "
          f"the model takes {args.model_seconds:g} s per acknowledgement")
    twilio = ChildFake(_serve_twilio)
    model = ChildFake(_serve_model, args.model_seconds)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            workdir = args.keep or scratch
            Path(workdir).mkdir(parents=True, exist_ok=True)
            for store_name in args.stores.split(","):
                print(f"\n{store_name}")
                with Emulator() if store_name == "firestore" else _nothing() as emulator:
                    for run in ("template", "model"):
                        if store_name == "firestore":
                            store_url = f"firestore://bench-burst-{os.getpid()}-{run}"
                            extra = {"FIRESTORE_EMULATOR_HOST": emulator.host}
                        else:
                            store_url = f"sqlite:///{Path(workdir) / f'{run}.db'}"
                            extra = {}
                        label = ("baseline: acknowledgements are templates (no model on the path)" if run == "template"
                                 else f"acknowledgements composed by the model ({args.model_seconds:g} s each)")
                        report(run_burst(label, run, args.participants, store_url, extra, model, twilio,
                                         Path(workdir), args.timeout, args.window))
    finally:
        twilio.stop()
        model.stop()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
