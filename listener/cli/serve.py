"""`listener serve`: run the web app (the Twilio webhook) with uvicorn."""

from __future__ import annotations

import argparse
import os

from listener.cli.common import CommandError
from listener.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the webhook server (POST /message, /status)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port (default $PORT or 8000)"
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    # The web stack is imported only to serve, so other commands start quickly.
    import uvicorn

    from listener.channel.startup import ConfigurationError, check_settings
    from listener.console.access import ConsoleExposed, check_exposure

    # The app checks again when it starts; checking here turns a refusal into one line.
    settings = Settings()
    try:
        check_settings(settings)
        check_exposure(settings, args.host)
    except (ConfigurationError, ConsoleExposed) as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    # Forwarded headers are trusted from FORWARDED_ALLOW_IPS (uvicorn's default: 127.0.0.1).
    uvicorn.run("app:app", host=args.host, port=args.port, proxy_headers=True, log_level="info", access_log=False)
    return 0
