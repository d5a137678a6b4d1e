"""The web adapter's entry point for `uvicorn app:app` (the Procfile, `listener serve`).

All of it lives in `listener.channel`. The settings are read and checked here, when uvicorn
imports this module: settings production must not run with stop the process with one line
on standard error and exit status 2, before uvicorn starts the app. Logging is set up here
too, at the process's entry point, as JSON lines unless `LOG_FORMAT=text`.
"""

from __future__ import annotations

from listener.channel.app import create_app
from listener.channel.startup import startup_settings
from listener.logs import configure_logging

_settings = startup_settings()
configure_logging(_settings.log_format, _settings.log_level)
app = create_app(_settings, settle_heap=True)
