"""Process-wide counters and latency histograms, served by `GET /metrics` for Prometheus.

A registry of a few dozen lines instead of a client library: the app needs counters and
histograms without labels, rendered in Prometheus' text exposition format (version
0.0.4). Each web process keeps its own figures; Prometheus adds them up across dynos.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Counter:
    """A number that only goes up."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name = f"{name}_total"
        self.help_text = help_text
        self._value = 0.0
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self._value += amount

    def render(self) -> list[str]:
        return [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} counter", f"{self.name} {_number(self._value)}"]


class Histogram:
    """Observed durations in cumulative buckets, with their sum and count."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name = name
        self.help_text = help_text
        self.buckets = buckets
        self._counts = [0] * len(buckets)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            self._count += 1
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[index] += 1

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observe how long the block took, whether it returned or raised."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)

    def render(self) -> list[str]:
        with self._lock:
            counts, total, count = list(self._counts), self._sum, self._count
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        lines += [f'{self.name}_bucket{{le="{_number(bound)}"}} {n}' for bound, n in zip(self.buckets, counts)]
        lines += [f'{self.name}_bucket{{le="+Inf"}} {count}', f"{self.name}_sum {_number(total)}", f"{self.name}_count {count}"]
        return lines


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


MESSAGES_RECEIVED = Counter("listener_messages_received", "Inbound messages recorded in the inbox.")
MESSAGES_DUPLICATE = Counter("listener_messages_duplicate", "Repeated deliveries of a MessageSid already recorded.")
MESSAGES_BLOCKED = Counter("listener_messages_blocked", "Inbound messages from blocked numbers, dropped unrecorded.")
MESSAGES_PROCESSED = Counter("listener_messages_processed", "Inbound messages run through the engine and committed.")
MESSAGES_FAILED = Counter("listener_messages_failed", "Inbound messages whose processing failed (left pending for recovery).")
REPLIES_SENT = Counter("listener_replies_sent", "Replies accepted by the sender.")
REPLIES_FAILED = Counter("listener_replies_failed", "Replies that failed for good (such as error 63016).")
MODEL_LATENCY = Histogram("listener_model_latency_seconds", "Time of one language-model call (extraction or reply).")
TRANSCRIPTION_LATENCY = Histogram("listener_transcription_latency_seconds", "Time to transcribe one voice note.")

REGISTRY = (
    MESSAGES_RECEIVED, MESSAGES_DUPLICATE, MESSAGES_BLOCKED, MESSAGES_PROCESSED, MESSAGES_FAILED,
    REPLIES_SENT, REPLIES_FAILED, MODEL_LATENCY, TRANSCRIPTION_LATENCY,
)


def render() -> str:
    """Every metric in the text exposition format, ending with a newline."""
    return "\n".join(line for metric in REGISTRY for line in metric.render()) + "\n"
