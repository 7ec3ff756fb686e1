"""The clock the carrier links and the delivery queue are given: the part of Twisted's IReactorTime
they use, as a Protocol.  The reactor, ``twisted.internet.task.Clock`` and the rig's scaled clock
all satisfy it; naming it here rather than importing Twisted's interface lets mypyc compile the
modules that take it (their import closure stays in the standard library)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Clock", "Timer"]


class Timer(Protocol):
    """A call that ``Clock.callLater`` scheduled."""

    def active(self) -> bool:
        """True until it has run or been cancelled."""

    def cancel(self) -> None:
        """Never run it (only while active)."""


class Clock(Protocol):
    def seconds(self) -> float:
        """Now, in seconds since the epoch (or the test's chosen origin)."""

    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any) -> Timer:  # noqa: N802
        """Call ``callable(*args, **kw)`` once, ``delay`` seconds from now."""
