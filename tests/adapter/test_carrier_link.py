from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from twisted.internet.task import Clock

from smppgw.carriers.link import CarrierJob, CarrierLink
from smppgw.carriers.model import CarrierProfile, Outcome, profile_from_dict
from smppgw.model import MessageState

HOUR = 3600.0


def make_profile(**overrides: object) -> CarrierProfile:
    data: dict[str, object] = {
        "submit_latency_ms": 20,
        "receipt_median_ms": 2000,
        "receipt_p99_ms": 8000,
        "outcomes": {"DELIVRD": 100},
        "loss_percent": 0,
        "throughput": 0,
        "queue_limit": 100_000,
        "rules": [
            {"pattern": "0000", "state": "UNDELIV", "code": "MK:0001"},
            {"pattern": "0002", "lost": True},
            {"pattern": "0003", "state": "DELIVRD", "delay_s": 10},
        ],
    }
    data.update(overrides)
    return profile_from_dict("CMCC", data, "gateway.toml")


@dataclass
class Recorder:
    batches: list[list[tuple[str, Outcome, float, float]]] = field(default_factory=list)  # id, outcome, at, clock

    @property
    def reports(self) -> list[tuple[str, Outcome, float, float]]:
        return [report for batch in self.batches for report in batch]

    accepts: list[tuple[str, float]] = field(default_factory=list)


def make_link(profile: CarrierProfile, seed: int = 1) -> tuple[CarrierLink, Clock, Recorder]:
    clock = Clock()
    rec = Recorder()
    link = CarrierLink(
        profile,
        clock,
        random.Random(seed),
        on_reports=lambda reports: rec.batches.append([(*report, clock.seconds()) for report in reports]),
        on_accept=lambda mid, at: rec.accepts.append((mid, at)),
    )
    return link, clock, rec


def job(n: int, suffix: str = "5555", *, at: float = 0.0, validity_until: float | None = None) -> CarrierJob:
    return CarrierJob(f"m{n}", f"86138{n % 10_000:04d}{suffix}", at, validity_until)


def run(clock: Clock, seconds: float, step: float = 0.01) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)


def test_accept_then_report_at_planned_times() -> None:
    link, clock, rec = make_link(make_profile())
    assert link.dispatch(job(1, "0003"))
    assert link.pending("m1")
    assert link.in_flight == 1
    run(clock, 0.05)
    [(accepted_id, accepted_at)] = rec.accepts
    assert accepted_id == "m1"
    assert accepted_at == pytest.approx(0.02)
    run(clock, 9.9)
    assert rec.reports == []
    run(clock, 0.1)
    [(mid, outcome, at, fired)] = rec.reports
    assert (mid, outcome) == ("m1", Outcome(MessageState.DELIVERED, 0, ""))
    assert at == pytest.approx(10.02)
    assert at <= fired <= at + 0.011  # coalescing may be late by one bucket, never early
    assert not link.pending("m1")
    stats = link.stats()
    assert (stats.dispatched, stats.accepted, stats.reported, stats.in_flight) == (1, 1, {"DELIVRD": 1}, 0)
    assert clock.getDelayedCalls() == []


def test_scenario_outcomes_through_the_link() -> None:
    link, clock, rec = make_link(make_profile())
    link.dispatch(job(1, "0000"))
    link.dispatch(job(2, "0002", validity_until=600.0))
    run(clock, 60, step=1)
    assert [(m, o.stat, o.code) for m, o, _, _ in rec.reports] == [("m1", "UNDELIV", "MK:0001")]
    clock.advance(600)
    assert rec.reports[-1][:3] == ("m2", Outcome(MessageState.EXPIRED, 8, "MK:0010"), 600.0)
    assert link.stats().lost == 1


def test_throughput_cap_spreads_1000_jobs_over_about_ten_seconds() -> None:
    link, clock, rec = make_link(
        make_profile(throughput=100, rules=[{"pattern": "*", "state": "DELIVRD", "delay_s": 1}])
    )
    assert all(link.dispatch(job(n)) for n in range(1000))
    assert link.queue_depth == 900  # a 1 s burst leaves at once
    run(clock, 12)
    assert len(rec.reports) == 1000
    accepted = sorted(at for _, at in rec.accepts)
    assert 8.8 <= accepted[-1] <= 10.1
    for start in range(10):  # never more than burst + rate in any second
        assert sum(start <= t < start + 1 for t in accepted) <= 200
    assert sum(3 <= t < 8 for t in accepted) == pytest.approx(500, abs=10)
    assert [m for m, _ in rec.accepts] == [f"m{n}" for n in range(1000)]  # FIFO
    assert clock.getDelayedCalls() == []


def test_queue_limit_refuses_and_keeps_nothing() -> None:
    link, clock, rec = make_link(make_profile(throughput=1, queue_limit=5))
    results = [link.dispatch(job(n)) for n in range(7)]
    assert results == [True] * 6 + [False]
    assert link.queue_depth == 5
    assert not link.pending("m6")
    assert link.stats().refused == 1
    run(clock, 30, step=0.5)
    assert sorted(m for m, *_ in rec.reports) == sorted(f"m{n}" for n in range(6))


def test_outage_holds_everything_then_drains() -> None:
    link, clock, rec = make_link(make_profile(queue_limit=100))
    link.dispatch(job(0, "0003"))  # in flight when the outage starts
    run(clock, 1)
    link.set_down(True)
    assert not link.is_up
    for n in range(1, 51):
        assert link.dispatch(job(n, at=clock.seconds()))
    run(clock, 120, step=1)
    assert rec.reports == []
    assert link.queue_depth == 50
    assert link.stats().held == 1
    assert link.stats().down
    link.set_down(False)
    assert rec.reports == []  # released from the reactor, not inside set_down
    run(clock, 60, step=0.5)
    assert len(rec.reports) == 51
    assert rec.reports[0][0] == "m0"
    assert rec.reports[0][2] == pytest.approx(10.02)  # the original time, now in the past
    assert link.queue_depth == 0
    assert link.stats().held == 0


def test_outage_longer_than_validity_expires_queued_jobs() -> None:
    link, clock, rec = make_link(make_profile())
    link.set_down(True)
    link.dispatch(job(1, validity_until=30.0))
    run(clock, 100, step=5)
    link.set_down(False)
    run(clock, 1)
    [(mid, outcome, at, _)] = rec.reports
    assert (mid, outcome.stat, outcome.err) == ("m1", "EXPIRED", 8)
    assert at == rec.accepts[0][1] > 100  # expired before the carrier ever saw it


def test_queue_limit_applies_while_down() -> None:
    link, _clock, _rec = make_link(make_profile(queue_limit=3))
    link.set_down(True)
    assert [link.dispatch(job(n)) for n in range(4)] == [True, True, True, False]


def test_cancel_prevents_the_report() -> None:
    link, clock, rec = make_link(make_profile(throughput=1))
    link.dispatch(job(1, "0003"))  # in flight
    link.dispatch(job(2, "0003"))  # queued behind the throughput cap
    link.dispatch(job(3, "0003"))
    assert link.cancel("m1")
    assert link.cancel("m2")
    assert not link.cancel("m2")
    assert not link.cancel("nope")
    run(clock, 30, step=0.5)
    assert [m for m, *_ in rec.reports] == ["m3"]
    assert not link.cancel("m3")  # already reported
    assert link.stats().cancelled == 2
    assert clock.getDelayedCalls() == []


def test_cancel_of_a_held_report() -> None:
    link, clock, rec = make_link(make_profile())
    link.dispatch(job(1, "0003"))
    link.set_down(True)
    run(clock, 20, step=1)
    assert link.cancel("m1")
    link.set_down(False)
    run(clock, 1)
    assert rec.reports == []


def test_reports_due_together_share_a_handful_of_timers() -> None:
    link, clock, rec = make_link(make_profile(rules=[{"pattern": "*", "state": "DELIVRD", "delay_s": 5}]))
    for n in range(10_000):
        link.dispatch(job(n))
    assert len(clock.getDelayedCalls()) <= 2
    clock.advance(1)
    assert len(rec.accepts) == 10_000
    assert len(clock.getDelayedCalls()) <= 2
    clock.advance(5)
    assert len(rec.reports) == 10_000
    assert clock.getDelayedCalls() == []


def test_stop_cancels_every_timer() -> None:
    link, clock, rec = make_link(make_profile(throughput=10))
    for n in range(100):
        link.dispatch(job(n))
    link.set_down(True)
    link.set_down(False)
    clock.advance(0.5)
    assert clock.getDelayedCalls()
    link.stop()
    assert clock.getDelayedCalls() == []
    count = len(rec.reports)
    clock.advance(1000)
    assert len(rec.reports) == count


def test_set_profile_applies_to_later_jobs() -> None:
    link, clock, rec = make_link(make_profile())
    link.dispatch(job(1, "0003"))
    link.set_profile(make_profile(rules=[{"pattern": "0003", "state": "REJECTD", "code": "MK:0115"}]))
    link.dispatch(job(2, "0003"))
    run(clock, 15, step=0.5)
    assert {m: o.stat for m, o, *_ in rec.reports} == {"m1": "DELIVRD", "m2": "REJECTD"}


def test_resume_keeps_the_recorded_report_time_or_replans() -> None:
    link, clock, rec = make_link(make_profile())
    clock.advance(100)
    link.resume(job(1, "0000", at=50.0), 130.0)
    link.resume(job(2, "0003", at=50.0), None)
    link.resume(job(3, "0000", at=10.0), 20.0)  # due before the restart: reported at once
    assert link.pending("m1")
    clock.advance(0.02)
    assert [(m, at) for m, _, at, _ in rec.reports] == [("m3", 20.0)]
    run(clock, 40, step=0.5)
    assert {m: at for m, _, at, _ in rec.reports} == {"m3": 20.0, "m1": 130.0, "m2": pytest.approx(110.02)}
    assert rec.accepts == []
    with pytest.raises(ValueError, match="already pending"):
        link.dispatch(job(4))
        link.resume(job(4), None)


def test_the_reports_due_in_one_bucket_come_as_one_batch_in_due_order() -> None:
    link, clock, rec = make_link(make_profile(rules=[{"pattern": "*", "state": "DELIVRD", "delay_s": 1}]))
    for n in range(3):
        link.dispatch(job(n))
        clock.advance(0.001)
    run(clock, 2)
    assert [[mid for mid, *_ in batch] for batch in rec.batches] == [["m0", "m1", "m2"]]


def test_a_failing_accept_callback_does_not_lose_the_rest_of_its_bucket() -> None:
    clock = Clock()
    batches: list[list[str]] = []

    def on_accept(mid: str, at: float) -> None:
        if mid == "m0":
            raise RuntimeError("receipt store down")

    link = CarrierLink(
        make_profile(rules=[{"pattern": "*", "state": "DELIVRD", "delay_s": 1}]),
        clock,
        random.Random(1),
        lambda reports: batches.append([mid for mid, _, _ in reports]),
        on_accept,
    )
    for n in range(3):
        link.dispatch(job(n))
    with pytest.raises(RuntimeError):
        clock.advance(0.05)
    run(clock, 2)
    assert batches == [["m0", "m1", "m2"]]  # m0 too: its report was scheduled before its callback failed


def test_same_seed_same_reports() -> None:
    def trace(seed: int) -> list[tuple[str, str, float]]:
        link, clock, rec = make_link(make_profile(outcomes={"DELIVRD": 90, "UNDELIV": 10}), seed=seed)
        for n in range(200):
            link.dispatch(job(n))
        clock.advance(HOUR)
        clock.advance(HOUR)
        return [(m, o.code, at) for m, o, at, _ in rec.reports]

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)
