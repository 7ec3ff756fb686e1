"""The runner over the pure core on a ``task.Clock``: commits before answers, receipts after their
commit, one timer for every deadline, suspensions unbound after the response."""

from __future__ import annotations

from collections.abc import Sequence

from core_fakes import NOW, Core, build
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from smppgw.carriers.model import Outcome
from smppgw.model import AccountStatus, Delivery, MessageState
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus
from smppgw.runtime.runner import GatewayRunner, Rejected, Submitted
from smppgw.writes import AccountStatusSet, MessageAccepted, Write


class FakeCommitter:
    """Keeps each batch with its Deferred until the test commits it."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[Write], Deferred[None]]] = []
        self.later: list[Write] = []

    def write(self, writes: Sequence[Write]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self.batches.append((list(writes), d))
        return d

    def write_groups(self, groups: Sequence[Sequence[Write]]) -> Deferred[dict[int, str]]:
        """Several groups, one waiter; this store refuses none of them."""
        refused: Deferred[dict[int, str]] = self.write([w for group in groups for w in group]).addCallback(lambda _: {})
        return refused

    def write_later(self, writes: Sequence[Write]) -> None:
        self.later += writes

    def commit_all(self) -> None:
        batches, self.batches = self.batches, []
        for _, d in batches:
            d.callback(None)


class Rig:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.clock = Clock()
        self.clock.advance(NOW)
        self.committer = FakeCommitter()
        self.delivered: list[Delivery] = []
        self.unbound: list[str] = []
        self.runner = GatewayRunner(
            core.gateway,
            self.committer,  # type: ignore[arg-type]
            self.clock,
            deliver=self.delivered.extend,
            on_suspend=self.unbound.append,
        )

    def submit(self, text: bytes = b"hello", **fields: object) -> Submitted | Rejected:
        pdu = p.SubmitSm(sequence_number=1, source_addr="10690001", destination_addr="13800138000",
                         short_message=text, **fields)  # type: ignore[arg-type]  # fmt: skip
        return self.runner.submit("acme", pdu, self.clock.seconds())


def test_a_message_goes_to_its_carrier_only_once_committed_and_released() -> None:
    rig = Rig(build())
    submitted = rig.submit()
    assert isinstance(submitted, Submitted)
    ((writes, _),) = rig.committer.batches
    assert isinstance(writes[0], MessageAccepted)
    answered: list[str] = []
    submitted.committed.addCallback(lambda _: answered.append(submitted.message.message_id))
    assert answered == []
    rig.committer.commit_all()
    assert answered == [submitted.message.message_id]
    rig.runner.release(submitted.message)
    assert submitted.message.message_id in rig.core.carriers["CMCC"].jobs


def test_a_receipt_is_delivered_after_its_settlement_commits() -> None:
    rig = Rig(build())
    submitted = rig.submit(registered_delivery=1)
    assert isinstance(submitted, Submitted)
    rig.committer.commit_all()
    rig.runner.release(submitted.message)
    rig.runner.on_carrier_reports([(submitted.message.message_id, outcome(MessageState.DELIVERED), NOW + 2)])
    assert rig.delivered == []
    answer = rig.runner.query("acme", submitted.message.message_id)  # final while its commit is in flight
    assert answer is not None and answer.state == int(MessageState.DELIVERED)
    rig.committer.commit_all()
    (receipt,) = rig.delivered
    assert receipt.message_id == submitted.message.message_id
    assert rig.runner.settling == {}


def outcome(state: MessageState) -> Outcome:
    return Outcome(state, 0, "")


def test_every_deadline_shares_one_timer() -> None:
    rig = Rig(build())
    later = rig.submit(schedule_delivery_time="000000000010000R")
    sooner = rig.submit(schedule_delivery_time="000000000005000R")
    assert isinstance(later, Submitted) and isinstance(sooner, Submitted)
    rig.committer.commit_all()
    rig.runner.release(later.message)
    assert [c.getTime() for c in rig.clock.getDelayedCalls()] == [NOW + 10]
    rig.runner.release(sooner.message)
    assert [c.getTime() for c in rig.clock.getDelayedCalls()] == [NOW + 5]
    jobs = rig.core.carriers["CMCC"].jobs
    rig.clock.advance(5)
    assert sooner.message.message_id in jobs and later.message.message_id not in jobs
    assert [c.getTime() for c in rig.clock.getDelayedCalls()] == [NOW + 10]
    rig.clock.advance(5)
    assert later.message.message_id in jobs
    assert rig.clock.getDelayedCalls() == []


def test_a_review_timeout_fires_from_the_timer_and_its_receipt_follows_the_commit() -> None:
    rig = Rig(build())
    held = rig.submit(b"casino night", registered_delivery=1)
    assert isinstance(held, Submitted)
    rig.committer.commit_all()
    rig.runner.release(held.message)
    rig.clock.advance(1800)
    rig.committer.commit_all()
    (receipt,) = rig.delivered
    assert receipt.state == int(MessageState.REJECTED)


def test_a_suspended_accounts_sessions_are_unbound_after_the_response() -> None:
    rig = Rig(build())
    refused = rig.submit("颠覆国家政权".encode("utf-16-be"), data_coding=8)
    assert isinstance(refused, Rejected) and refused.status == CommandStatus.SMPPGW_RCONTENT
    assert AccountStatusSet("acme", AccountStatus.SUSPENDED) in rig.committer.later
    assert rig.unbound == []  # the submit_sm_resp goes out first
    rig.clock.advance(0)
    assert rig.unbound == ["acme"]
