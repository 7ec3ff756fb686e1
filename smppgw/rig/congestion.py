"""The figure an SMPP 5.0 congestion_state TLV (0x0428) carries: the gateway's load, 0-100.

SMPP 5.0 (section 4.8.4.19) reads it as 0 idle, 1-29 low, 30-49 medium, 50-79 high, 80-89 optimum,
90-99 nearing congestion, 100 congested.  The gateway's figure is the highest of three shares,
each in percent (pure: every input is an argument):

* window: the session's requests still unanswered besides the one being answered, of the window
  the scorecard expects a client to keep (``[scorecard] window``, 10 by default);
* throughput: the part of the account's one-second throughput bucket already used (0 without a
  throughput cap), i.e. how close the account is to ESME_RTHROTTLED;
* carrier queue: the fullest carrier queue (jobs waiting for the carrier's throughput or for an
  outage to end) of its ``queue_limit``, beyond which submits get ESME_RMSGQFUL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Load:
    unanswered: int  # requests of the session not answered yet, the one being answered included
    window: int
    bucket_rate: float  # the account's throughput (tokens a second = the bucket's size); 0: no cap
    bucket_tokens: float  # tokens in the bucket now
    queues: tuple[tuple[int, int], ...] = ()  # (depth, limit) of each carrier queue


def bucket_tokens_at(rate: float, tokens: float, last: float, now: float) -> float:
    """What a token bucket refilled at ``rate`` a second (capped at one second's worth) holds at ``now``."""
    return min(rate, tokens + max(now - last, 0.0) * rate)


def congestion_state(load: Load) -> int:
    shares = [100.0 * max(load.unanswered - 1, 0) / max(load.window, 1)]
    if load.bucket_rate > 0:
        shares.append(100.0 * (1.0 - load.bucket_tokens / load.bucket_rate))
    shares.extend(100.0 * depth / limit for depth, limit in _queues(load.queues))
    return max(0, min(100, round(max(shares))))


def _queues(queues: Iterable[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    for depth, limit in queues:
        yield (depth, limit) if limit > 0 else (1 if depth else 0, 1)
