"""The web adapter's entry point for `uvicorn app:app` (the Procfile, `listener serve`).

All of it lives in `listener.channel`; configuration is read when the app starts. Logging is
set up here, at the process's entry point, as JSON lines unless `LOG_FORMAT=text`.
"""

from __future__ import annotations

from listener.channel.app import create_app
from listener.config import Settings
from listener.logs import configure_logging

_settings = Settings()
configure_logging(_settings.log_format, _settings.log_level)
app = create_app()
