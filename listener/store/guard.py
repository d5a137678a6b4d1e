"""Driver errors become `StoreError`: the one kind of storage failure a store's caller sees.

A raw `sqlite3.OperationalError` or a Google API error reaching the worker looks like a
flaw in the message being processed, and reaching the webhook it becomes a 500 with a
traceback. `guard_errors` wraps every public method of a store class (the streams that
operators read included) so that whatever the driver raises leaves as `StoreError` or
`StoreUnavailable`, with the driver's error kept as its cause.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from listener.store.base import StoreError

StoreClass = TypeVar("StoreClass", bound=type)
Translate = Callable[[Exception], StoreError | None]
"""The store's own error for a driver error, or None for an error that is not the driver's."""


def guard_errors(translate: Translate) -> Callable[[StoreClass], StoreClass]:
    """A class decorator: every public method raises `translate(error)` instead of `error`."""

    def decorate(cls: StoreClass) -> StoreClass:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, _guarded(member, translate))
        return cls

    return decorate


def _guarded(method: Callable[..., Any], translate: Translate) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                return (yield from method(*args, **kwargs))
            except Exception as exc:
                error = translate(exc)
                if error is None:
                    raise
                raise error from exc

        return stream

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from exc

    return call
