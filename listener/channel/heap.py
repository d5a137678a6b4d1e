"""The garbage collector out of a burst's way.

CPython's cyclic collector stops every thread while it walks the objects it tracks. A
started server holds a few hundred thousand long-lived ones (the flow, the libraries'
modules, pydantic's schemas, the store clients), and a full collection walked them all:
measured under a keynote's burst on the bench VM, full collections of 150-390 ms each, two
or three a burst, during which no webhook was answered. Once the server has started, those
objects are moved out of the collector's sight (`gc.freeze`): they live as long as the
process anyway, and a full collection then walks only what the traffic created. The
young generation is also collected less often, so the objects a request creates and
drops are mostly freed by reference counting before a collection ever looks at them.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations between young collections (CPython's default: 700)."""


def settle_after_startup() -> None:
    """Collect once, then keep what startup built out of later collections."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
