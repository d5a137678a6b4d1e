"""`listener block NUMBER` / `unblock NUMBER` / `block --list`: numbers the webhook ignores.

A blocked number's messages get no reply and leave no record. The store keeps the
number's key, not the number (see `listener.operators.privacy`); web processes see a change within
`BLOCKLIST_CACHE_SECONDS`.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from listener.cli.common import CommandError, opened_store
from listener.cli.participants import parse_number
from listener.masking import mask_phone
from listener.operators.privacy import KEY_SECRET_NAME, BlockedNumber, participant_key


def register(subparsers: argparse._SubParsersAction) -> None:
    block = subparsers.add_parser("block", help="drop a number's messages at the webhook (no reply, no record)")
    block.add_argument("number", metavar="NUMBER", nargs="?", help="the phone number, like +15550001111")
    block.add_argument("--list", action="store_true", help="list the blocked numbers (masked)")
    block.set_defaults(handler=block_number)
    unblock = subparsers.add_parser("unblock", help="accept a blocked number's messages again")
    unblock.add_argument("number", metavar="NUMBER", help="the phone number, like +15550001111")
    unblock.set_defaults(handler=unblock_number)


def block_number(args: argparse.Namespace) -> int:
    if args.list:
        return list_blocked()
    if args.number is None:
        raise CommandError("give a NUMBER to block, or --list", exit_code=2)
    number = parse_number(args.number)
    with opened_store() as store:
        entry = BlockedNumber.of(store.secret(KEY_SECRET_NAME), number, datetime.now(timezone.utc))
        added = store.add_block(entry)
    print(f"{'blocked' if added else 'already blocked:'} {mask_phone(number)}")
    return 0


def unblock_number(args: argparse.Namespace) -> int:
    number = parse_number(args.number)
    with opened_store() as store:
        removed = store.remove_block(participant_key(store.secret(KEY_SECRET_NAME), number))
    if not removed:
        raise CommandError(f"{mask_phone(number)} is not blocked")
    print(f"unblocked {mask_phone(number)}")
    return 0


def list_blocked() -> int:
    with opened_store() as store:
        entries = store.list_blocks()
    if not entries:
        print("no blocked numbers")
    for entry in entries:
        print(f"{entry.masked}\t{entry.key}\tblocked {entry.blocked_at.isoformat(timespec='seconds')}")
    return 0
