"""Benchmark: one engine step against a raw `transitions` trigger, in the same run.

The engine step binds a participant (a `Turn` over its snapshot) to the process's one
machine, classifies the message, fires the trigger with every guard and action of the
shipped graph, and builds the Outcome to commit. The baseline is raw `transitions` firing
the same trigger from the same state on a bare model of a machine built from the same
graph with no callbacks. No store I/O is timed: this is the cost the engine adds.

Run: python bench/engine_step.py [--messages N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

from transitions import Machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness import Conversation, fixture_events, make_engine, shipped_flow  # noqa: E402
from listener.events import EventDirectory  # noqa: E402
from listener.store.sqlite import SQLiteStore  # noqa: E402


def percentile(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1000


def raw_machine():
    """The graph's states and unguarded transitions, no callbacks: `transitions` alone.

    For a listening message that is the same internal transition the engine takes.
    """
    graph = shipped_flow().graph
    machine = Machine(model=None, states=list(graph.states), initial=graph.spec.initial, auto_transitions=False)
    for transition in graph.spec.transitions:
        if transition.conditions or transition.unless:
            continue
        for source in graph.expand_sources(transition):
            machine.add_transition(transition.trigger, source, transition.dest)
    return machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()

    store = SQLiteStore(":memory:")
    for event in fixture_events().values():
        store.put_event(event)
    engine = make_engine(store)
    engine.services.events = EventDirectory(store, ttl=3600)
    chat = Conversation(engine)
    chat.send("TOWNHALL")
    chat.send("Alex")
    snapshot = chat.snapshot
    listening_state = snapshot.state
    messages = [chat.message(f"thought number {n}") for n in range(args.messages)]

    class Bare:
        state = listening_state

    machine = raw_machine()
    event = machine.events["message"]
    bare = Bare()

    engine_ns, raw_ns = [], []
    for message in messages:  # interleaved, so both see the same machine noise
        start = time.perf_counter_ns()
        event.trigger(bare)
        raw_ns.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        engine.step(snapshot.model_copy(), message)
        engine_ns.append(time.perf_counter_ns() - start)

    raw_median, engine_median = statistics.median(raw_ns) / 1000, statistics.median(engine_ns) / 1000
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, {args.messages} listening messages")
    print(f"raw transitions trigger : median {raw_median:7.2f} us   p99 {percentile(raw_ns, 0.99):7.2f} us")
    print(f"engine step (full)      : median {engine_median:7.2f} us   p99 {percentile(engine_ns, 0.99):7.2f} us")
    print(f"ratio engine/raw (median): {engine_median / raw_median:.1f}x")


if __name__ == "__main__":
    main()
