"""`listener participants forget NUMBER`: delete one person's data, on their request."""

from __future__ import annotations

import argparse

from listener.cli.common import CommandError, opened_store
from listener.masking import mask_phone
from listener.operators.privacy import NumberError, normalise_number

REMOVED_LABELS = {
    "user_event_tracking": "conversation snapshot",
    "event_participants": "event profiles",
    "interactions": "messages in and out",
    "inbox": "inbox entries",
    "outbox": "outbox replies",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("participants", help="act on one participant's data")
    commands = parser.add_subparsers(dest="participants_command", metavar="ACTION", required=True)
    forget = commands.add_parser(
        "forget",
        help="delete a participant's data in every event and print what was removed",
        description="Deletes the snapshot, every event profile, every message in and out, and the "
        "inbox and outbox entries of NUMBER. A block on the number stays.",
    )
    forget.add_argument("number", metavar="NUMBER", help="the phone number, like +15550001111")
    forget.set_defaults(handler=forget_participant)


def parse_number(text: str) -> str:
    try:
        return normalise_number(text)
    except NumberError as exc:
        raise CommandError(str(exc), exit_code=2) from exc


def forget_participant(args: argparse.Namespace) -> int:
    number = parse_number(args.number)
    with opened_store() as store:
        removed = store.forget_participant(number)
    if not any(removed.values()):
        raise CommandError(f"nothing stored for {mask_phone(number)}")
    print(f"forgot {mask_phone(number)}:")
    for kind, count in removed.items():
        print(f"  {REMOVED_LABELS.get(kind, kind)}: {count}")
    return 0
