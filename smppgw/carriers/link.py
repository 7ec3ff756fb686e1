"""One simulated carrier link: runs the profile's plans on an injected clock.

Jobs pass a token-bucket throughput cap (1 s burst) or wait in a bounded FIFO queue; once handed to
the carrier they are accepted after the submit latency and reported at the planned time.  Timed events
are grouped into 10 ms buckets that share one delayed call, so a burst of thousands of receipts due
together costs a handful of timers; the reports of one bucket are handed on as one batch.  While the
link is down nothing leaves the queue and receipts that come due are held back, then released (with
their original times, as one batch) when it comes up again.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from smppgw.model import STAT_WORDS
from smppgw.timers import Clock, Timer

from .model import CarrierJob, CarrierPlan, CarrierProfile, CarrierReport, plan, validity_end

__all__ = ["CarrierJob", "CarrierLink", "CarrierLinkStats", "DrawSource"]


class DrawSource(Protocol):
    """Where a message's plan may draw from other than the link's own generator (the test rig's
    per-bind outcomes, smppgw.rig.draws)."""

    def rng_for(self, message_id: str) -> random.Random | None:
        """The generator for this message's plan, or None for the link's own."""


BUCKET = 0.01  # s: events due within the same 10 ms share one delayed call
_ACCEPT, _REPORT = 0, 1


@dataclass(frozen=True, slots=True)
class CarrierLinkStats:
    code: str
    dispatched: int  # jobs taken by dispatch() or resume()
    refused: int  # dispatch() answered False: queue full
    accepted: int  # on_accept calls
    reported: Mapping[str, int]  # STAT word -> receipts reported
    lost: int  # reported as EXPIRED because the carrier never answered
    cancelled: int
    queued: int  # waiting for throughput or for the link to come up
    in_flight: int  # handed to the carrier, not reported yet
    held: int  # reports due while down, waiting for the link
    down: bool


class _Flight:
    """A job handed to the carrier: its plan and the event it waits for next."""

    __slots__ = ("bucket", "job", "plan", "seq", "stage")

    def __init__(self, job: CarrierJob, plan: CarrierPlan, stage: int, seq: int) -> None:
        self.job = job
        self.plan = plan
        self.stage = stage
        self.seq = seq
        self.bucket: int | None = None

    @property
    def due(self) -> float:
        return self.plan.accept_at if self.stage == _ACCEPT else self.plan.report_at


class CarrierLink:
    def __init__(
        self,
        profile: CarrierProfile,
        clock: Clock,
        rng: random.Random,
        on_reports: Callable[[list[CarrierReport]], None],
        on_accept: Callable[[str, float], None] | None = None,
        *,
        draws: DrawSource | None = None,
    ) -> None:
        self._profile = profile
        self._draws = draws
        self._clock = clock
        self._rng = rng
        self._on_reports = on_reports
        self._on_accept = on_accept
        self._down = False
        # FIFO of ids; _queued holds the live entries so cancel() is O(1) and stale ids are skipped.
        self._order: deque[str] = deque()
        self._queued: dict[str, tuple[CarrierJob, CarrierProfile]] = {}
        self._tokens = self._capacity(profile)
        self._refilled_at = clock.seconds()
        self._drain_call: Timer | None = None
        self._flights: dict[str, _Flight] = {}
        self._buckets: dict[int, set[str]] = {}
        self._bucket_calls: dict[int, Timer] = {}
        self._held: dict[str, _Flight] = {}  # insertion order = due order
        self._release_call: Timer | None = None
        self._seq = 0
        self._dispatched = self._refused = self._accepted = self._lost = self._cancelled = 0
        self._reported: dict[str, int] = {}

    # ---- public API ----------------------------------------------------------------------

    @property
    def profile(self) -> CarrierProfile:
        return self._profile

    @property
    def is_up(self) -> bool:
        return not self._down

    @property
    def queue_depth(self) -> int:
        return len(self._queued)

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def set_profile(self, profile: CarrierProfile) -> None:
        """Hot reload: jobs dispatched from now on use `profile`; queued and in-flight jobs keep theirs."""
        self._refill(self._clock.seconds())
        self._profile = profile
        self._tokens = min(self._tokens, self._capacity(profile))
        self._schedule_drain()

    def reseed(self, rng: random.Random) -> None:
        """Draw outcomes from `rng` from now on (a scenario's seed makes its run reproducible)."""
        self._rng = rng

    def dispatch(self, job: CarrierJob) -> bool:
        """Hand `job` to the carrier, or queue it; False when the queue is full (nothing is kept)."""
        if self.pending(job.message_id):
            raise ValueError(f"message {job.message_id} is already pending on carrier {self._profile.code}")
        now = self._clock.seconds()
        if not self._down and not self._queued and self._take_token(now):
            self._dispatched += 1
            self._start(job, self._profile, now)
            return True
        if len(self._queued) >= self._profile.queue_limit:
            self._refused += 1
            return False
        self._dispatched += 1
        self._order.append(job.message_id)
        self._queued[job.message_id] = (job, self._profile)
        self._schedule_drain()
        return True

    def resume(self, job: CarrierJob, plan_report_at: float | None) -> None:
        """Re-adopt a job the carrier already accepted before a restart, bypassing queue and throughput.

        The outcome is drawn afresh (scenario rules still apply); `plan_report_at` keeps the report time
        recorded before the restart, None re-plans it from now.  on_accept is not called again.
        """
        if self.pending(job.message_id):
            raise ValueError(f"message {job.message_id} is already pending on carrier {self._profile.code}")
        now = self._clock.seconds()
        planned = self._plan(job, self._profile, now)
        if plan_report_at is not None:
            planned = CarrierPlan(planned.accept_at, plan_report_at, planned.outcome, planned.lost)
        self._dispatched += 1
        self._seq += 1
        flight = _Flight(job, planned, _REPORT, self._seq)
        self._flights[job.message_id] = flight
        self._schedule(flight)

    def pending(self, message_id: str) -> bool:
        """True while the message is queued, with the carrier, or held, and not reported yet."""
        return message_id in self._queued or message_id in self._flights

    def cancel(self, message_id: str) -> bool:
        """Forget a message that has not been reported; it will never be reported.  False if unknown."""
        if self._queued.pop(message_id, None) is not None:
            self._cancelled += 1
            return True
        flight = self._flights.pop(message_id, None)
        if flight is None:
            return False
        self._cancelled += 1
        if flight.bucket is not None:
            self._unbucket(flight)
        else:
            self._held.pop(message_id, None)
        return True

    def set_down(self, down: bool) -> None:
        """Simulate an outage: nothing leaves the queue and no receipts come out until it ends."""
        if down == self._down:
            return
        self._down = down
        now = self._clock.seconds()
        if down:
            self._refill(now)
            self._cancel_call(self._drain_call)
            self._drain_call = None
            return
        self._refill(now)
        self._schedule_drain()
        if self._held and self._release_call is None:
            # Released from the reactor, not from inside the caller's set_down(False).
            self._release_call = self._clock.callLater(0, self._release_held)

    def stats(self) -> CarrierLinkStats:
        return CarrierLinkStats(
            code=self._profile.code,
            dispatched=self._dispatched,
            refused=self._refused,
            accepted=self._accepted,
            reported=dict(self._reported),
            lost=self._lost,
            cancelled=self._cancelled,
            queued=len(self._queued),
            in_flight=len(self._flights),
            held=len(self._held),
            down=self._down,
        )

    def stop(self) -> None:
        """Cancel every timer (shutdown, tests); pending jobs stay pending and are never reported."""
        self._cancel_call(self._drain_call)
        self._cancel_call(self._release_call)
        self._drain_call = self._release_call = None
        for call in self._bucket_calls.values():
            self._cancel_call(call)
        self._bucket_calls.clear()
        for flight in self._flights.values():
            flight.bucket = None
        self._buckets.clear()

    # ---- throughput and queue -------------------------------------------------------------

    @staticmethod
    def _capacity(profile: CarrierProfile) -> float:
        return max(profile.throughput, 1.0)

    def _refill(self, now: float) -> None:
        rate = self._profile.throughput
        if rate > 0:
            elapsed = max(now - self._refilled_at, 0.0)
            self._tokens = min(self._capacity(self._profile), self._tokens + elapsed * rate)
        self._refilled_at = now

    def _take_token(self, now: float) -> bool:
        if self._profile.throughput <= 0:
            return True
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _schedule_drain(self) -> None:
        if self._down or not self._queued or self._drain_call is not None:
            return
        rate = self._profile.throughput
        wait = 0.0 if rate <= 0 else max((1.0 - self._tokens) / rate, 0.0)
        # Drain in steps of at least one bucket so high rates move many jobs per timer.
        self._drain_call = self._clock.callLater(max(wait, BUCKET) if wait > 0 else 0.0, self._drain)

    def _drain(self) -> None:
        self._drain_call = None
        now = self._clock.seconds()
        while self._order and not self._down:
            message_id = self._order[0]
            entry = self._queued.get(message_id)
            if entry is None:  # cancelled while queued
                self._order.popleft()
                continue
            if not self._take_token(now):
                break
            self._order.popleft()
            del self._queued[message_id]
            self._start(entry[0], entry[1], now)
        if not self._queued:
            self._order.clear()
        self._schedule_drain()

    # ---- timed events ---------------------------------------------------------------------

    def _plan(self, job: CarrierJob, profile: CarrierProfile, now: float) -> CarrierPlan:
        # Validity counts from the client's submission, not from when the job left the queue.
        until = validity_end(profile, job.submitted_at, job.validity_until)
        own = self._draws.rng_for(job.message_id) if self._draws is not None else None
        rng = self._rng if own is None else own
        return plan(profile, msisdn=job.msisdn, now=now, validity_until=until, rng=rng, script=job.script)

    def _start(self, job: CarrierJob, profile: CarrierProfile, now: float) -> None:
        self._seq += 1
        flight = _Flight(job, self._plan(job, profile, now), _ACCEPT, self._seq)
        self._flights[job.message_id] = flight
        self._schedule(flight)

    def _schedule(self, flight: _Flight) -> None:
        key = math.floor(flight.due / BUCKET)
        flight.bucket = key
        members = self._buckets.get(key)
        if members is None:
            members = self._buckets[key] = set()
            # Fire at the bucket's end so no event is ever early; at most 10 ms late.
            delay = max((key + 1) * BUCKET - self._clock.seconds(), 0.0)
            self._bucket_calls[key] = self._clock.callLater(delay, self._fire, key)
        members.add(flight.job.message_id)

    def _unbucket(self, flight: _Flight) -> None:
        key = flight.bucket
        flight.bucket = None
        if key is None:
            return
        members = self._buckets.get(key)
        if members is None:
            return
        members.discard(flight.job.message_id)
        if not members:
            del self._buckets[key]
            self._cancel_call(self._bucket_calls.pop(key, None))

    def _fire(self, key: int) -> None:
        self._bucket_calls.pop(key, None)
        members = self._buckets.pop(key, set())
        live = (self._flights.get(m) for m in members)
        flights = sorted((f for f in live if f is not None and f.bucket == key), key=lambda f: (f.due, f.seq))
        errors: list[Exception] = []
        reports: list[CarrierReport] = []
        for flight in flights:
            flight.bucket = None
            # An on_accept callback may have cancelled a later member of this bucket.
            if self._flights.get(flight.job.message_id) is not flight:
                continue
            try:
                report = self._step(flight)
            except Exception as exc:  # one failing callback must not swallow the rest of the bucket
                errors.append(exc)
            else:
                if report is not None:
                    reports.append(report)
        if reports:
            self._on_reports(reports)
        if errors:
            raise errors[0]

    def _step(self, flight: _Flight) -> CarrierReport | None:
        """The flight's next event; its report when that event is the carrier's final report."""
        if flight.stage == _ACCEPT:
            flight.stage = _REPORT
            self._accepted += 1
            if math.floor(flight.plan.report_at / BUCKET) > math.floor(flight.plan.accept_at / BUCKET):
                self._schedule(flight)
                if self._on_accept is not None:
                    self._on_accept(flight.job.message_id, flight.plan.accept_at)
                return None
            if self._on_accept is not None:
                self._on_accept(flight.job.message_id, flight.plan.accept_at)
            if self._flights.get(flight.job.message_id) is not flight:  # cancelled by on_accept
                return None
        if self._down:
            self._held[flight.job.message_id] = flight
            return None
        return self._report(flight)

    def _report(self, flight: _Flight) -> CarrierReport:
        del self._flights[flight.job.message_id]
        outcome = flight.plan.outcome
        word = STAT_WORDS[outcome.state]
        self._reported[word] = self._reported.get(word, 0) + 1
        if flight.plan.lost:
            self._lost += 1
        return (flight.job.message_id, outcome, flight.plan.report_at)

    def _release_held(self) -> None:
        self._release_call = None
        held, self._held = self._held, {}  # taken whole: popping a dict's first key again and again is quadratic
        reports = [self._report(flight) for flight in held.values()]
        if reports:
            self._on_reports(reports)

    def _cancel_call(self, call: Timer | None) -> None:
        if call is not None and call.active():
            call.cancel()
