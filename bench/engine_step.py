"""Benchmark: one engine step against a raw `transitions` trigger, in the same run.

The engine step binds a participant (a `Turn` over its snapshot) to the process's one
machine, classifies the message, fires the trigger with every guard and action of the
shipped graph, and builds the Outcome to commit. The baseline is raw `transitions` firing
the same trigger from the same state on a bare model of a machine built from the same
graph with no callbacks. No store I/O is timed: this is the cost the engine adds.

Three figures come from one interleaved loop, so they see the same machine noise:

* raw: `machine.events["message"].trigger(bare_model)`, the baseline;
* raw with behaviour: the process's own machine firing the same trigger with the graph's
  guards and actions on one model made beforehand (what `transitions` plus `states/`
  cost, so the engine's own share is what the full step adds to it);
* bind + fire: `Turn(...)` and `Flow.run` (trigger chosen, guards, the acknowledgement
  action with its reply and interaction records);
* full step: `Engine.step`, the above plus the snapshot bookkeeping and the `Outcome`.

Every message is 30 s after the participant's last one, so each takes the same path (a
listening message, no return-after-silence check firing).

Run: python bench/engine_step.py [--messages N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from transitions import Machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from figures import machine_line, percentile  # noqa: E402
from harness import Conversation, fixture_events, make_engine, shipped_flow  # noqa: E402

from listener.conversation.events import EventDirectory  # noqa: E402
from listener.conversation.turn import Turn  # noqa: E402
from listener.store.sqlite import SQLiteStore  # noqa: E402


def raw_machine() -> Machine:
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


def line(label: str, samples: list[int]) -> str:
    median = statistics.median(samples) / 1000
    return f"{label:<28}: median {median:7.2f} us   p99 {percentile(samples, 0.99) / 1000:7.2f} us"


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
    for message in messages:
        message.received_at = snapshot.last_message_at + timedelta(seconds=30)

    class Bare:
        state = listening_state

    machine = raw_machine()
    event = machine.events["message"]
    bare = Bare()
    flow, services = engine.flow, engine.services

    raw_ns: list[int] = []
    behaviour_ns: list[int] = []
    fire_ns: list[int] = []
    step_ns: list[int] = []
    own_event = flow.machine.events["message"]
    for message in messages:  # interleaved, so all of them see the same machine noise
        start = time.perf_counter_ns()
        event.trigger(bare)
        raw_ns.append(time.perf_counter_ns() - start)
        model = Turn(flow, services, snapshot.model_copy(), message)
        start = time.perf_counter_ns()
        own_event.trigger(model, model)
        behaviour_ns.append(time.perf_counter_ns() - start)
        working = snapshot.model_copy()
        start = time.perf_counter_ns()
        flow.run(Turn(flow, services, working, message))
        fire_ns.append(time.perf_counter_ns() - start)
        working = snapshot.model_copy()
        start = time.perf_counter_ns()
        engine.step(working, message)
        step_ns.append(time.perf_counter_ns() - start)

    raw = statistics.median(raw_ns)
    print(machine_line())
    print(f"{args.messages} listening messages, each timed four ways in one interleaved loop")
    print(line("raw transitions trigger", raw_ns))
    print(line("raw trigger + behaviour", behaviour_ns))
    print(line("engine bind + fire", fire_ns))
    print(line("engine full step (Outcome)", step_ns))
    print(f"ratio bind+fire / raw (median) : {statistics.median(fire_ns) / raw:.1f}x")
    print(f"ratio full step / raw (median) : {statistics.median(step_ns) / raw:.1f}x")
    behaviour = statistics.median(behaviour_ns)
    print(f"ratio full step / raw trigger + behaviour (median): {statistics.median(step_ns) / behaviour:.1f}x")


if __name__ == "__main__":
    main()
