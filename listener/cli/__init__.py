"""The `listener` command: one subcommand module per job, each with `register(subparsers)`.

Every command exits 0 on success, 1 when what was asked for does not exist or failed,
2 for bad input; errors are one readable line on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from listener.cli import (
    block,
    chat,
    doctor,
    events,
    export,
    flow,
    participants,
    serve,
    stats,
    transcribe,
)
from listener.cli.common import CommandError
from listener.conversation.graph import FlowError
from listener.errors import describe_validation_error
from listener.store import StoreError

COMMAND_MODULES = (chat, events, export, stats, participants, block, flow, serve, transcribe, doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="listener",
        description="A WhatsApp agent that listens: onboard event participants and record what they say.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"listener: {exc}", file=sys.stderr)
        return exc.exit_code
    except (FlowError, StoreError) as exc:
        print(f"listener: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"listener: {describe_validation_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`listener export ... | head`): stop quietly, as `cat` does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141

