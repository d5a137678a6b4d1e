"""`listener export EVENT --format csv|jsonl|tttc [-o FILE]`: an event's records, streamed.

Standard output by default; with `-o` the rows go to a temporary file beside FILE that
replaces it only when the export is complete, so a failed export never leaves half a file
where a finished one is expected. A running count goes to standard error on a terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from listener.cli.common import CommandError, opened_store
from listener.cli.events import existing_event
from listener.operators.export import FORMATS, ExportRequest, export

PROGRESS_EVERY_SECONDS = 0.25


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export an event's records (csv, jsonl, or tttc for Talk to the City)",
        description="Participants are named by a stable pseudonymous key unless --raw-numbers is given.",
    )
    parser.add_argument("event_id", metavar="EVENT")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="csv (default), jsonl or tttc")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--since", type=timestamp, help="only records at or after this time (ISO 8601; UTC if no zone)")
    parser.add_argument("--until", type=timestamp, help="only records before this time (ISO 8601; UTC if no zone)")
    parser.add_argument(
        "--raw-numbers", action="store_true", help="name participants by phone number instead of their key"
    )
    parser.set_defaults(handler=run_export)


def timestamp(text: str) -> datetime:
    """`2026-03-02`, `2026-03-02T09:30`, `2026-03-02T09:30:00+01:00`; no zone means UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date or time like 2026-03-02T09:30") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Counter:
    """`exported N rows` on standard error, rewritten in place, at most four times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown_at = 0.0

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.shown_at >= PROGRESS_EVERY_SECONDS:
            self.shown_at = now
            self.stream.write(f"\rexported {rows:,} rows")
            self.stream.flush()

    def finish(self, rows: int) -> None:
        self.stream.write(f"\rexported {rows:,} rows\n")


def run_export(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since >= args.until:
        raise CommandError("--since must be before --until", exit_code=2)
    request = ExportRequest(
        event_id=args.event_id, format=args.format, since=args.since, until=args.until, raw_numbers=args.raw_numbers
    )
    counter = Counter(sys.stderr) if sys.stderr.isatty() else None
    with opened_store() as store:
        event = existing_event(store, request.event_id)
        if args.output is None:
            rows = export(store, request, event, sys.stdout, counter)
        else:
            rows = _export_to_file(
                Path(args.output), lambda out: export(store, request, event, out, counter)
            )
    if counter is not None:
        counter.finish(rows)
    return 0


def _export_to_file(path: Path, write) -> int:
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            rows = write(out)
        os.replace(partial, path)
    except OSError as exc:
        raise CommandError(f"{path}: cannot write: {exc.strerror or exc}", exit_code=1) from exc
    finally:
        partial.unlink(missing_ok=True)
    return rows
