"""Waiting for something to become true, the one way the tests do it: ask again and again until it
holds or a deadline passes, then fail naming what was awaited.

``wait_until`` blocks (a test run in a thread, or one driving subprocesses); ``until`` waits on the
reactor, so the in-process gateway keeps running while the test waits.  Both return the first
truthy answer of ``probe``, so a probe can hand back what it found (a match, a response body)."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from twisted.internet import reactor
from twisted.internet.task import deferLater

T = TypeVar("T")


def _timed_out(what: str, timeout: float, detail: Callable[[], str] | None) -> AssertionError:
    message = f"{what} not met in {timeout} s"
    if detail is not None:
        message += "\n" + detail()
    return AssertionError(message)


def wait_until(
    probe: Callable[[], T],
    timeout: float = 10.0,
    *,
    what: str = "condition",
    interval: float = 0.05,
    detail: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` every ``interval`` seconds until it answers something truthy; return that.
    After ``timeout`` seconds fail, adding ``detail()`` (a log, say) to the message."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, detail)
        time.sleep(interval)
    return value


async def until(
    probe: Callable[[], T | Awaitable[T]],
    timeout: float = 10.0,
    *,
    what: str = "condition",
    interval: float = 0.02,
    detail: Callable[[], str] | None = None,
) -> T:
    """``wait_until`` on the reactor: between two calls of ``probe`` (which may be a coroutine
    function) the reactor runs, so the gateway under test makes progress."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        value: T = await answer if inspect.isawaitable(answer) else answer  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, detail)
        await deferLater(reactor, interval, lambda: None)
