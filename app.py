"""The web adapter's entry point for `uvicorn app:app` (the Procfile, `listener serve`).

All of it lives in `listener.web`; configuration is read when the app starts. Logging is
set up here, at the process's entry point, as JSON lines unless `LOG_FORMAT=text`.
"""

from __future__ import annotations

from listener.config import Settings
from listener.logs import configure_logging
from listener.web import create_app

_settings = Settings()
configure_logging(_settings.log_format, _settings.log_level)
app = create_app()
