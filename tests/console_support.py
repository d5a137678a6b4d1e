"""What the console tests share: a real headless Chromium (Debian's `chromium`, driven by
Playwright through `executable_path`), screenshots kept as test artifacts, and the app
served on loopback with a console token."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_twilio import FakeTwilio
from webhook_support import AppServer, make_settings, seed_events

from listener.channel.app import create_app
from listener.config import PROJECT_ROOT

CONSOLE_TOKEN = "console-test-token-not-a-secret"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", PROJECT_ROOT / "test-artifacts")) / "console"
INSTALL_HINT = "install it with `apt-get install chromium` (and `pip install -e '.[test]'` for playwright)"


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return f"playwright is not installed: {INSTALL_HINT}"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}: {INSTALL_HINT}"
    return None


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Outside CI a machine without it skips these tests
    (saying how to install it); under CI=true its absence fails them."""
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot(page, name: str) -> Path:
    """Save the whole page under test-artifacts/console/ (kept for people to look at)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def console_app(tmp_path_factory) -> Iterator[AppServer]:
    """The app with a console token, its own copy of the flow file (the designer's test
    edits it), the fixture events, and a fake Twilio to send replies to."""
    folder = tmp_path_factory.mktemp("console")
    db_path = folder / "listener.db"
    seed_events(db_path)
    flow_file = folder / "transitions.yaml"
    shutil.copy(PROJECT_ROOT / "transitions.yaml", flow_file)
    twilio = FakeTwilio().start()
    settings = make_settings(db_path, twilio, console_token=CONSOLE_TOKEN, flow_file=flow_file)
    server = AppServer(create_app(settings), db_path).start()
    server.flow_file = flow_file
    yield server
    server.stop()
    twilio.stop()
