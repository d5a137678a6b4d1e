"""Google's Firestore emulator for the tests: found, or started and stopped, else skipped.

`firestore_emulator` (session) uses `FIRESTORE_EMULATOR_HOST` when it is set, else starts
the emulator itself when its launcher is installed and stops it (its whole process group:
the launcher leaves a java child) at the end. Without an emulator the Firestore tests skip
with the way to install one, except under `CI=true`, where that is a failure.

`firestore_store` is a fresh FirestoreStore with the fixture events, like `store` for
SQLite; `any_store` runs a test once on each.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from harness import fixture_events

from listener.store import open_store
from listener.store.firestore import FirestoreStore

EMULATOR_ENV = "FIRESTORE_EMULATOR_HOST"
LAUNCHER = "cloud_firestore_emulator"
SDK_LAUNCHER = Path("platform/cloud-firestore-emulator") / LAUNCHER
DEBIAN_SDK = Path("/usr/lib/google-cloud-sdk")
START_TIMEOUT_SECONDS = 60.0
INSTALL_HINT = (
    "the Firestore emulator is not installed: `gcloud components install cloud-firestore-emulator`"
    " or `apt-get install google-cloud-cli-firestore-emulator` (or set FIRESTORE_EMULATOR_HOST)"
)

# One project per test session, so sessions sharing one emulator never reset each other.
TEST_PROJECT = f"listener-test-{os.getpid()}"


def find_launcher() -> Path | None:
    """The emulator's launcher: on PATH, in the SDK beside `gcloud`, or the Debian package's."""
    on_path = shutil.which(LAUNCHER)
    if on_path:
        return Path(on_path)
    roots = [DEBIAN_SDK]
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(gcloud).resolve().parent.parent)
    return next((root / SDK_LAUNCHER for root in roots if (root / SDK_LAUNCHER).is_file()), None)


def answers(host: str) -> bool:
    try:
        return httpx.get(f"http://{host}/", timeout=1.0).text.strip() == "Ok"
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Stop the launcher and the java server it forked: signal the whole process group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def start_emulator(launcher: Path, log: Path) -> tuple[subprocess.Popen, str]:
    host = f"127.0.0.1:{free_port()}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(launcher), "start", "--host=127.0.0.1", f"--port={host.rsplit(':', 1)[1]}"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if answers(host):
            return process, host
        time.sleep(0.25)
    stop(process)
    raise RuntimeError(f"the Firestore emulator did not start; its log:\n{log.read_text(errors='replace')}")


def unavailable(reason: str) -> None:
    """Skip the Firestore tests, or fail them in CI, where the emulator must be present."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[str]:
    """The emulator's `host:port`, exported as FIRESTORE_EMULATOR_HOST for the session."""
    host = os.environ.get(EMULATOR_ENV)
    if host:
        if not answers(host):
            unavailable(f"{EMULATOR_ENV}={host} does not answer")
        yield host
        return
    launcher = find_launcher()
    if launcher is None:
        unavailable(INSTALL_HINT)
    log = Path(tempfile.mkdtemp(prefix="listener-emulator-")) / "emulator.log"
    process, host = start_emulator(launcher, log)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(EMULATOR_ENV, host)
            yield host
    finally:
        stop(process)


def reset(host: str, project: str) -> None:
    """Delete every document of the project (the emulator's own reset endpoint)."""
    url = f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents"
    httpx.delete(url, timeout=30.0).raise_for_status()


@pytest.fixture
def firestore_store(firestore_emulator: str) -> Iterator[FirestoreStore]:
    """A FirestoreStore on an emptied emulator project, with the fixture events."""
    reset(firestore_emulator, TEST_PROJECT)
    store = open_store(f"firestore://{TEST_PROJECT}")
    assert isinstance(store, FirestoreStore)
    for event in fixture_events().values():
        store.put_event(event)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "firestore"])
def any_store(request: pytest.FixtureRequest):
    """The `store` fixture, then `firestore_store`: one test, every store."""
    return request.getfixturevalue("store" if request.param == "sqlite" else "firestore_store")
