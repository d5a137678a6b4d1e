"""`listener stats [EVENT] [--json]`: how an event (or every event) is going."""

from __future__ import annotations

import argparse

from listener.cli.common import opened_store
from listener.cli.events import existing_event
from listener.config import Settings
from listener.operators.stats import EventStats, collect_stats


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="participants per state, completions, messages in/out, voice notes, failed sends, Twilio's queue",
    )
    parser.add_argument("event_id", metavar="EVENT", nargs="?", help="one event (default: every event)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(handler=show_stats)


def show_stats(args: argparse.Namespace) -> int:
    settings = Settings()
    with opened_store(settings) as store:
        event_id = existing_event(store, args.event_id).event_id if args.event_id else None
        stats = collect_stats(store, event_id, mps=settings.twilio_mps)
    print(stats.model_dump_json(indent=2) if args.json else describe(stats, settings.twilio_mps))
    return 0


def describe(stats: EventStats, mps: float) -> str:
    states = ", ".join(f"{state} {count}" for state, count in stats.by_state.items()) or "none"
    lines = [
        f"event: {stats.event_id or 'all events'}",
        f"participants: {stats.participants}",
        f"  by state: {states}",
    ]
    if stats.event_id:
        lines.append(f"  now in another event: {stats.in_other_event}")
    lines += [
        f"completed: {stats.completed}",
        f"messages in: {stats.messages_in} (voice notes: {stats.voice_notes})",
        f"messages out: {stats.messages_out} (failed sends: {stats.failed_sends})",
        f"twilio queue: about {stats.twilio_queue_seconds:g} s before a reply sent now goes out "
        f"(estimated at TWILIO_MPS={mps:g}, every event)",
    ]
    return "\n".join(lines)
