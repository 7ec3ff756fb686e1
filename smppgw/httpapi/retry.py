"""When a webhook that was not acknowledged is tried again, and when it is parked instead."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BACKOFF = (10, 30, 60, 120, 300, 600, 1800, 3600)
DEFAULT_GIVE_UP_AFTER = 86_400


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`[http_api] webhook_backoff` and `webhook_give_up_after`, as a pure schedule."""

    backoff: tuple[int, ...] = DEFAULT_BACKOFF
    give_up_after: int = DEFAULT_GIVE_UP_AFTER

    def __post_init__(self) -> None:
        if not self.backoff or any(step <= 0 for step in self.backoff):
            raise ValueError("webhook_backoff needs at least one delay, each above 0 s")
        if self.give_up_after <= 0:
            raise ValueError("webhook_give_up_after must be above 0 s")

    def delay(self, failures: int) -> int:
        """Seconds to wait after the `failures`-th failed attempt (1 = the first); the last step repeats."""
        if failures < 1:
            return 0
        return self.backoff[min(failures, len(self.backoff)) - 1]

    def next_attempt(self, first_attempt_at: float, failures: int, now: float) -> float | None:
        """When to try again after `failures` failed attempts, or None: park it (still pullable)."""
        at = now + self.delay(failures)
        if at - first_attempt_at > self.give_up_after:
            return None
        return at
