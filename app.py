"""The web adapter's entry point for `uvicorn app:app` (the Procfile, `listener serve`).

All of it lives in `listener.web`; configuration is read when the app starts.
"""

from __future__ import annotations

from listener.web import create_app

app = create_app()
