"""Why is a client slow: what bounds one session's throughput, from the times of its PDUs.

Pure (no Twisted, no sockets): ``Tally`` is fed the times of the session's submits, their answers,
the gateway's deliver_sm and their answers; ``bound_of`` turns its ``Counters`` and the ``LinkFacts``
the shell read off the connection into a ``Bound``: the name of what held the session back, the
evidence, and the rate the session could reach without it.

The active time of the session (from its first submit, or first deliver_sm, to its last answer; the
idle time after the last answer does not count) is split, moment by moment, into:

- ``window``: every submit slot the client ever used (its peak) is taken, waiting on the gateway;
- ``unread``: a deliver_sm has been unanswered longer than ``unread_after`` (or the gateway's writes
  are paused by back-pressure): the client is not reading its socket;
- ``throttle``: after a throttled answer (ESME_RTHROTTLED / ESME_RMSGQFUL), until the next submit;
- ``idle``: the client has a free slot and sends nothing.  Of each such gap, one round trip is the
  network's (the TCP round trip the kernel measured, else the shortest gap the client ever showed);
  the rest is the client's own pause.

The bound is the part that took the most time; a throttled submit's time in the window counts to
the throttle.  A session that only receives is bound by its reading, or by nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNREAD_FLOOR_S = 0.05  # a deliver_sm unanswered longer than this (or 4 round trips) is not being read
BOUNDS = ("window", "throttle", "pauses", "unread", "network")


@dataclass(frozen=True, slots=True)
class Counters:
    """What a Tally saw, up to a moment."""

    submits: int = 0
    accepted: int = 0
    throttled: int = 0
    latency_s: float = 0.0  # sum over accepted submits: request read to answer written
    peak: int = 0  # most submits outstanding at once
    deliveries: int = 0  # deliver_sm / data_sm the gateway sent
    delivery_answers: int = 0
    delivery_open: int = 0  # still unanswered
    slowest_answer_s: float = 0.0  # the longest a deliver_sm waited for its answer (open ones too)
    window_s: float = 0.0
    unread_s: float = 0.0
    throttle_s: float = 0.0
    idle_s: float = 0.0
    gaps: int = 0  # idle gaps closed by a submit
    shortest_gap_s: float | None = None
    delivery_span_s: float = 0.0  # from the first deliver_sm to the last answer (or now, if one is open)


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What the shell read off the connection (all optional: a test, or not Linux, has none)."""

    rate_limit: float = 0.0  # the account's configured throughput, messages/s (0: none)
    rtt_s: float | None = None  # the kernel's shortest round trip (TCP_INFO)
    rwnd_limited_s: float | None = None  # time the client's receive window held the gateway's sending (TCP_INFO)
    buffered: int = 0  # octets waiting in the gateway's transport for the client to read
    writes_paused: bool = False  # back-pressure: the gateway stopped reading the client
    queued: int = 0  # receipts and MO waiting in the gateway for the account


@dataclass(frozen=True, slots=True)
class Bound:
    bound: str | None  # one of BOUNDS, or None when there is too little to tell
    rate: float  # what the session reached, messages/s
    lifted_rate: float | None  # what it could reach with that bound lifted
    evidence: tuple[str, ...]
    shares: dict[str, float]  # seconds of the active time per bound

    def to_json(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "rate_per_s": round(self.rate, 1),
            "lifted_rate_per_s": None if self.lifted_rate is None else round(self.lifted_rate, 1),
            "evidence": list(self.evidence),
            "seconds": {name: round(seconds, 4) for name, seconds in self.shares.items()},
        }


class Tally:
    """Accumulates the session's time by what it was waiting on; every call takes the time."""

    __slots__ = (
        "_after_throttle",
        "_first_delivery",
        "_gap_idle",
        "_gap_throttle",
        "_last",
        "_last_answer",
        "_out",
        "_outstanding",
        "accepted",
        "deliveries",
        "delivery_answers",
        "gaps",
        "idle_s",
        "latency_s",
        "paused",
        "peak",
        "rtt_s",
        "shortest_gap_s",
        "slowest_answer_s",
        "submits",
        "throttle_s",
        "throttled",
        "unread_s",
        "window_s",
    )

    def __init__(self) -> None:
        self.submits = self.accepted = self.throttled = self.peak = 0
        self.deliveries = self.delivery_answers = self.gaps = 0
        self.latency_s = self.window_s = self.unread_s = self.throttle_s = self.idle_s = 0.0
        self.slowest_answer_s = 0.0
        self.shortest_gap_s: float | None = None
        self.rtt_s: float | None = None  # set by the shell when it knows the round trip
        self.paused = False  # set by the shell while back-pressure holds the gateway's writes
        self._outstanding: dict[int, float] = {}  # submit sequence -> read at
        self._out: dict[int, float] = {}  # deliver_sm sequence -> sent at (oldest first)
        self._last: float | None = None
        self._gap_idle = self._gap_throttle = 0.0  # the open gap: counted once a submit closes it
        self._after_throttle = False
        self._first_delivery: float | None = None
        self._last_answer = 0.0

    def unread_after(self) -> float:
        return max(UNREAD_FLOOR_S, 4 * self.rtt_s) if self.rtt_s is not None else UNREAD_FLOOR_S

    def _advance(self, now: float) -> None:
        start, self._last = self._last, now
        if start is None or now <= start:
            return
        n = len(self._outstanding)
        if n and n >= self.peak:
            self.window_s += now - start
            return
        end = now
        if self.paused:
            unread_from = start
        elif self._out:
            unread_from = max(start, next(iter(self._out.values())) + self.unread_after())
        else:
            unread_from = end
        if unread_from < end:
            self.unread_s += end - unread_from
            end = unread_from
        if end <= start or not self.submits:
            return
        if self._after_throttle:
            self._gap_throttle += end - start
        else:
            self._gap_idle += end - start

    def submit_in(self, seq: int, now: float) -> None:
        self._advance(now)
        gap = self._gap_idle + self._gap_throttle
        if gap > 0:
            self.gaps += 1
            self.idle_s += self._gap_idle
            self.throttle_s += self._gap_throttle
            if not self._after_throttle:
                self.shortest_gap_s = gap if self.shortest_gap_s is None else min(self.shortest_gap_s, gap)
        self._gap_idle = self._gap_throttle = 0.0
        self._after_throttle = False
        self.submits += 1
        self._outstanding[seq] = now
        self.peak = max(self.peak, len(self._outstanding))

    def submit_out(self, seq: int, throttled: bool, now: float) -> None:
        self._advance(now)
        read_at = self._outstanding.pop(seq, None)
        if read_at is None:
            return
        if throttled:
            self.throttled += 1
            self._after_throttle = True
        else:
            self.accepted += 1
            self.latency_s += now - read_at

    def deliver_out(self, seq: int, now: float) -> None:
        self._advance(now)
        self._out[seq] = now
        self.deliveries += 1
        if self._first_delivery is None:
            self._first_delivery = now

    def deliver_in(self, seq: int, now: float) -> None:
        self._advance(now)
        sent = self._out.pop(seq, None)
        if sent is None:
            return
        self.delivery_answers += 1
        self.slowest_answer_s = max(self.slowest_answer_s, now - sent)
        self._last_answer = now

    def counters(self, now: float) -> Counters:
        """The figures up to ``now`` (an open deliver_sm counts as unread up to now)."""
        self._advance(now)
        slowest = self.slowest_answer_s
        if self._out:
            slowest = max(slowest, now - next(iter(self._out.values())))
        span = 0.0
        if self._first_delivery is not None:
            span = (now if self._out else self._last_answer) - self._first_delivery
        return Counters(
            submits=self.submits,
            accepted=self.accepted,
            throttled=self.throttled,
            latency_s=self.latency_s,
            peak=self.peak,
            deliveries=self.deliveries,
            delivery_answers=self.delivery_answers,
            delivery_open=len(self._out),
            slowest_answer_s=slowest,
            window_s=self.window_s,
            unread_s=self.unread_s,
            throttle_s=self.throttle_s,
            idle_s=self.idle_s,
            gaps=self.gaps,
            shortest_gap_s=self.shortest_gap_s,
            delivery_span_s=max(0.0, span),
        )


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.2f} ms" if round(ms, 2) < 10 else f"{ms:.0f} ms"


def _unread_evidence(c: Counters, link: LinkFacts, unread: float) -> list[str]:
    found = [f"deliver_sm unanswered for {unread:.2f} s in all (slowest answer {c.slowest_answer_s:.2f} s)"]
    if c.delivery_open:
        found.append(f"{c.delivery_open} deliver_sm still unanswered")
    if link.queued:
        found.append(f"{link.queued} receipts/MO for the account not yet acknowledged (sent or queued)")
    if link.writes_paused:
        found.append("the gateway's writes are paused: the client does not read its socket (back-pressure)")
    if link.buffered:
        found.append(f"{link.buffered} octets waiting in the gateway's transport buffer")
    if link.rwnd_limited_s:
        found.append(f"TCP: the client's receive window held the gateway's sending for {link.rwnd_limited_s:.2f} s")
    return found


def bound_of(c: Counters, link: LinkFacts, allowed_window: int) -> Bound:
    """What bounds the session, with its evidence and the rate it could reach without that bound.
    ``allowed_window``: the window the gateway grades clients by (the scorecard's ``window``)."""
    limit = link.rate_limit
    rtt_source = "TCP round trip" if link.rtt_s is not None else "shortest gap"
    rtt = link.rtt_s if link.rtt_s is not None else (c.shortest_gap_s or 0.0)
    network = min(c.idle_s, c.gaps * rtt)
    pauses = c.idle_s - network
    unread = c.unread_s
    extra = max(0.0, min(link.rwnd_limited_s or 0.0, pauses) - unread)  # the kernel saw it: not a pause
    unread += extra
    pauses -= extra
    total = c.window_s + c.unread_s + c.throttle_s + c.idle_s
    if not c.submits:  # only receives: bound by its reading, or by what there is to deliver
        span = c.delivery_span_s
        rate = c.delivery_answers / span if span > 0 else 0.0
        if c.deliveries and span > 0 and unread > span / 2:
            rest = max(span - unread, 1e-6)
            evidence = tuple(_unread_evidence(c, link, unread))
            return Bound("unread", rate, c.deliveries / rest, evidence, {"unread": unread})
        return Bound(None, rate, None, ("no submits: it takes what the gateway has to deliver",), {"unread": unread})
    if total <= 0:
        return Bound(None, 0.0, None, ("too little traffic to tell",), {})
    throttled_share = c.throttled / c.submits
    shares = {
        "window": c.window_s * (1 - throttled_share),
        "throttle": c.throttle_s + c.window_s * throttled_share,
        "pauses": pauses,
        "unread": unread,
        "network": network,
    }
    bound = max(BOUNDS, key=lambda name: shares[name])
    rate = c.accepted / total

    def capped(seconds_left: float, messages: int) -> float:
        lifted = messages / max(seconds_left, 1e-6)
        return min(lifted, limit) if limit > 0 else lifted

    latency = c.latency_s / c.accepted if c.accepted else 0.0
    found: list[str] = []
    if bound == "window":
        wider = allowed_window if c.peak < allowed_window else 2 * c.peak
        lifted = capped(total - c.window_s + c.window_s * c.peak / wider, c.accepted)
        ceiling = f": at most {c.peak / latency:.0f}/s" if latency > 0 else ""
        found.append(f"peak {c.peak} submits outstanding x {_ms(latency)} gateway latency{ceiling}")
        found.append(f"window full {c.window_s / total:.0%} of the time; with a window of {wider}: ~{lifted:.0f}/s")
    elif bound == "throttle":
        lifted = c.submits / max(total - c.throttle_s, 1e-6)
        found.append(f"{c.throttled} of {c.submits} submits answered ESME_RTHROTTLED/ESME_RMSGQFUL")
        no_rate = "the account has no rate: the rig's faults throttle it"
        found.append(f"the account's rate is {limit:g}/s" if limit > 0 else no_rate)
        if c.throttle_s:
            found.append(f"{c.throttle_s:.2f} s waited after throttled answers")
    elif bound == "pauses":
        lifted = capped(total - pauses, c.accepted)
        found.append(
            f"{c.gaps} gaps with a free window, {pauses:.2f} s ({pauses / total:.0%}) beyond the round trip"
            f" ({_ms(rtt)}, {rtt_source})"
        )
        if c.gaps:
            found.append(f"{pauses / c.gaps * 1000:.1f} ms of its own between sends, on average")
    elif bound == "unread":
        lifted = capped(total - unread, c.accepted)
        found += _unread_evidence(c, link, unread)
    else:
        lifted = capped(total - network, c.accepted)
        found.append(
            f"{c.gaps} round trips from an answer written to the next request, {_ms(rtt)} each ({rtt_source}):"
            f" {network / total:.0%} of the time"
        )
    if limit > 0 and bound != "throttle" and lifted >= limit:
        found.append(f"lifted, the account's rate ({limit:g}/s) would bound it")
    return Bound(bound, rate, lifted, tuple(found), shares)


def bound_text(bound: dict[str, Any]) -> str:
    """One line of a Bound's JSON for the scorecard's text."""
    if bound["bound"] is None:
        return f"throughput {bound['rate_per_s']}/s: {'; '.join(bound['evidence'])}"
    return f"throughput {bound['rate_per_s']}/s, bound by {bound['bound']} (without it ~{bound['lifted_rate_per_s']}/s)"
