"""The Heroku files agree with the code: every config var `app.json` asks for is a setting
the app reads, production's required ones are asked for, and the Python is one we support."""

from __future__ import annotations

import json
import tomllib

from harness import ROOT

from listener.config import Settings


def test_app_json_asks_for_settings_the_app_reads():
    manifest = json.loads((ROOT / "app.json").read_text())
    aliases = {field.validation_alias for field in Settings.model_fields.values()}
    assert set(manifest["env"]) <= aliases
    required = {name for name, var in manifest["env"].items() if var.get("required", True)}
    assert {"STORE_URL", "FIREBASE_CREDENTIALS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER",
            "PUBLIC_URL", "ENVIRONMENT"} <= required
    assert manifest["env"]["STORE_URL"]["value"].startswith("firestore://")


def test_python_version_is_one_the_package_supports():
    version = (ROOT / ".python-version").read_text().strip()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"
    assert tuple(int(part) for part in version.split(".")[:2]) >= (3, 11)


def test_the_procfile_serves_the_app_on_herokus_port():
    assert (ROOT / "Procfile").read_text().startswith("web: uvicorn app:app --host 0.0.0.0 --port $PORT")
