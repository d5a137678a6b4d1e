"""Another OS process holding SQLite's write lock: the fault a store must survive when a
second writer (an operator's command, a crashed process) keeps the database locked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def write_lock_held(db: Path | str, seconds: float = 120.0) -> Iterator[subprocess.Popen]:
    """Another process takes SQLite's write lock on `db` and keeps it until the block ends
    (it is killed then, and the lock goes with it, as with a crashed writer). Killing the
    yielded process inside the block lets go early."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=10)
