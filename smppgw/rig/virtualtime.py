"""Virtual time: the gateway's clock running ``factor`` times faster than the wall clock, so that
validity periods, scheduled deliveries, receipts hours away and quiet hours pass in seconds.

Everything the gateway times (carrier delays, receipt dates, SMPP timers, retries) reads this clock;
everything else (listening, threads) goes to the real reactor.  SMPP timers shrink with the factor
too: at 60x a 60 s response timeout is one real second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _ScaledCall:
    """A delayed call of the real reactor, in virtual seconds."""

    def __init__(self, clock: VirtualClock, call: Any) -> None:
        self._clock = clock
        self._call = call

    def getTime(self) -> float:  # noqa: N802 (Twisted's name)
        return self._clock.virtual(float(self._call.getTime()))

    def cancel(self) -> None:
        self._call.cancel()

    def delay(self, secondsLater: float) -> None:  # noqa: N803
        self._call.delay(secondsLater / self._clock.factor)

    def reset(self, secondsFromNow: float) -> None:  # noqa: N803
        self._call.reset(secondsFromNow / self._clock.factor)

    def active(self) -> bool:
        active: bool = self._call.active()
        return active


class VirtualClock:
    """The real reactor with ``seconds``/``callLater`` scaled by ``factor`` (from now on)."""

    def __init__(self, reactor: Any, factor: float) -> None:
        if not factor > 0:
            raise ValueError(f"--clock-factor must be a number > 0, not {factor:g}")
        self._reactor = reactor
        self.factor = float(factor)
        self._real0 = float(reactor.seconds())

    def virtual(self, real: float) -> float:
        return self._real0 + (real - self._real0) * self.factor

    def seconds(self) -> float:
        return self.virtual(float(self._reactor.seconds()))

    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any) -> _ScaledCall:  # noqa: N802
        return _ScaledCall(self, self._reactor.callLater(delay / self.factor, callable, *args, **kw))

    def getDelayedCalls(self) -> list[Any]:  # noqa: N802
        return [_ScaledCall(self, call) for call in self._reactor.getDelayedCalls()]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)
