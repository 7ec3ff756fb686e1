"""The runner: the core (``pipeline.gateway.Gateway``) on the reactor.

It hands the core's writes to the group committer and waits for their commit (the Deferreds live
here), carries out what the core left in its ``Effects`` after each call (writes nobody waits for,
settlements to commit then deliver, suspended accounts to unbind), logs, and arms the one timer
the core's ``next_deadline`` asks for.  The SMPP adapter, the admin API and the rig call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..billing.ledger import LedgerEntry, Refused
from ..billing.refunds import RefundPolicy
from ..billing.tariff import PriceList
from ..carriers.model import CarrierReport
from ..model import Delivery, Message
from ..pipeline.accounts import AccountBook
from ..pipeline.compliance import Compliance
from ..pipeline.gateway import Gateway, commit_failed_status
from ..pipeline.outcomes import Accepted, QueryAnswer, Rejected, Settlement
from ..pipeline.ports import CarrierPort
from ..protocol import pdu as p
from ..routing.numbers import mask_msisdn
from ..routing.router import Router
from ..store.ports import CommitRefusedError
from ..writes import DeliveryStored, LedgerAppended
from .committer import GroupCommitter

__all__ = ["AcceptedObserver", "Batch", "GatewayRunner", "Rejected", "Submitted"]


class AcceptedObserver(Protocol):
    """Told of each accepted message once it is committed, whichever front submitted it (the test
    rig's handset inbox).  ``tlvs``: the submit's own, which the message record does not keep."""

    def accepted(self, message: Message, tlvs: Sequence[p.Tlv], at: float) -> None: ...


class Submitted:
    """An accepted submit: answer OK once ``committed`` fires, then ``release`` the message."""

    __slots__ = ("committed", "message")

    def __init__(self, message: Message, committed: Deferred[None]) -> None:
        self.message = message
        self.committed = committed


class Batch:
    """The submits of one socket read that were accepted: their writes are committed as one group
    with one waiter; ``committed`` fires with the indices of the messages a cluster store refused."""

    __slots__ = ("committed", "messages")

    def __init__(self, messages: list[Message], committed: Deferred[dict[int, str]]) -> None:
        self.messages = messages
        self.committed = committed


def _refused_topup(failure: Failure) -> Refused | Failure:
    """A cluster store refuses a top-up whose reference another node credited first."""
    if isinstance(failure.value, CommitRefusedError):
        return Refused("duplicate_reference", str(failure.value))
    return failure  # passed on: the store failed


class GatewayRunner:
    log = Logger()

    def __init__(
        self,
        core: Gateway,
        committer: GroupCommitter,
        clock: IReactorTime,
        *,
        deliver: Callable[[list[Delivery]], None],
        on_suspend: Callable[[str], None],
        observer: AcceptedObserver | None = None,
    ) -> None:
        self.core = core
        self._observer = observer
        self.committer = committer
        self.clock = clock
        self._deliver = deliver
        self._on_suspend = on_suspend
        self._effects = core.effects
        self._timer: IDelayedCall | None = None
        self._armed_at: float | None = None

    # ---- what the core holds, as the adapter and the admin API read it ---------------------

    @property
    def accounts(self) -> AccountBook:
        return self.core.accounts

    @property
    def active(self) -> dict[str, Message]:
        return self.core.active

    @property
    def settling(self) -> dict[str, Message]:
        """Messages in their final state whose commit is in flight."""
        return self.core.settling

    @property
    def compliance(self) -> Compliance | None:
        return self.core.compliance

    @property
    def prices(self) -> PriceList:
        return self.core.prices

    @property
    def dc0(self) -> str:
        return self.core.dc0

    @property
    def submitted(self) -> int:
        return self.core.submitted

    @property
    def rejected(self) -> int:
        return self.core.rejected

    def reconfigure(
        self,
        *,
        router: Router,
        prices: PriceList,
        refunds: RefundPolicy,
        carriers: Mapping[str, CarrierPort],
        when_all_down: str,
    ) -> None:
        self.core.reconfigure(
            router=router, prices=prices, refunds=refunds, carriers=carriers, when_all_down=when_all_down
        )

    def find(self, message_id: str) -> Message | None:
        return self.core.find(message_id)

    def account_for_service_number(self, number: str) -> str | None:
        return self.core.account_for_service_number(number)

    # ---- submit ---------------------------------------------------------------------------

    def submit(
        self, account_id: str, pdu: p.SubmitSm | p.DataSm, now: float, peer: str = "", message_id: str = ""
    ) -> Submitted | Rejected:
        result = self.core.submit(account_id, pdu, now, peer, message_id)
        if self._effects.pending:  # refusals recorded, an account suspended: before the message's writes
            self._carry_out()
        if isinstance(result, Rejected):
            return result
        committed = self.committer.write(result.writes)
        if self._observer is not None:
            committed.addCallback(self._observe, result.message, pdu.tlvs)
        return Submitted(result.message, committed)

    def _observe(self, _: None, message: Message, tlvs: Sequence[p.Tlv]) -> None:
        assert self._observer is not None
        try:
            self._observer.accepted(message, tlvs, self.clock.seconds())
        except Exception:  # the message is committed: an observer's fault must not fail its answer
            self.log.failure("observer of accepted message {id} failed", id=message.message_id)

    def accept(self, account_id: str, pdu: p.SubmitSm | p.DataSm, now: float, peer: str = "") -> Accepted | Rejected:
        """One submit of a batch, through the core; its writes wait for ``commit_batch``."""
        result = self.core.submit(account_id, pdu, now, peer)
        if self._effects.pending:  # refusals recorded, an account suspended: before the messages' writes
            self._carry_out()
        return result

    def commit_batch(self, accepted: list[Accepted], tlvs: Sequence[Sequence[p.Tlv]] = ()) -> Batch:
        """Commit what ``accept`` accepted in one read: one group of writes, one waiter.  ``tlvs``:
        each submit's own TLVs, for the observer of accepted messages."""
        d = self.committer.write_groups([a.writes for a in accepted])
        messages = [a.message for a in accepted]
        if self._observer is not None:
            d.addCallback(self._observe_batch, messages, tlvs)
        return Batch(messages, d)

    def _observe_batch(
        self, refused: dict[int, str], messages: list[Message], tlvs: Sequence[Sequence[p.Tlv]]
    ) -> dict[int, str]:
        for i, message in enumerate(messages):
            if i not in refused:
                self._observe(None, message, tlvs[i] if i < len(tlvs) else ())
        return refused

    def release_all(self, messages: list[Message]) -> None:
        """``release`` for a batch whose submit_sm_resp went out together."""
        now = self.clock.seconds()
        core = self.core
        for message in messages:
            core.release(message, now)
        if self._effects.pending:
            self._carry_out()
        self._rearm()

    def release(self, message: Message) -> None:
        """Once the submit_sm_resp is on the wire: the message goes on to its carrier."""
        self.core.release(message, self.clock.seconds())
        if self._effects.pending:
            self._carry_out()
        self._rearm()

    def abort(self, message: Message) -> None:
        self.core.abort(message)

    def abort_failed(self, failure: object, message: Message) -> None:
        self.core.abort(message)

    @staticmethod
    def commit_failed_status(error: BaseException) -> int:
        return commit_failed_status(error)

    # ---- query / cancel / replace ---------------------------------------------------------

    def query(self, account: str, message_id: str) -> QueryAnswer | None:
        return self.core.query(account, message_id)

    def cancel(self, account: str, pdu: p.CancelSm, now: float) -> int:
        status = self.core.cancel(account, pdu, now)
        self._carry_out()
        return status

    def replace_message(self, account: str, pdu: p.ReplaceSm, now: float) -> int:
        status = self.core.replace_message(account, pdu, now)
        self._carry_out()
        return status

    # ---- carrier reports ------------------------------------------------------------------

    def on_carrier_accept(self, message_id: str, at: float) -> None:
        delivery = self.core.on_carrier_accept(message_id, at)
        if delivery is not None:
            d = self.committer.write([DeliveryStored(delivery)])
            d.addCallbacks(
                self._delivery_committed, self._delivery_failed, callbackArgs=(delivery,), errbackArgs=(delivery,)
            )

    def on_carrier_reports(self, reports: Sequence[CarrierReport]) -> None:
        """A carrier's reports of one timer tick: settled by the core, committed as one group."""
        settlements = self.core.on_carrier_reports(reports)
        if settlements:
            self._commit(settlements)

    def _commit(self, settlements: list[Settlement]) -> None:
        d = self.committer.write_groups([s.writes for s in settlements])
        d.addCallbacks(self._settled, self._settle_failed, callbackArgs=(settlements,), errbackArgs=(settlements,))

    def _settled(self, refused: dict[int, str], settlements: list[Settlement]) -> None:
        core = self.core
        deliveries: list[Delivery] = []
        for i, settlement in enumerate(settlements):
            if i in refused:  # a cluster store: another node settled it first
                self.log.warn("final state of {id} not stored: {why}", id=settlement.message.message_id, why=refused[i])
                continue
            core.settled(settlement)
            if settlement.delivery is not None:
                deliveries.append(settlement.delivery)
        if deliveries:
            self._deliver(deliveries)

    def _settle_failed(self, failure: Failure, settlements: list[Settlement]) -> None:
        self.log.failure(
            "final state of {n} messages ({id}, ...) not stored",
            failure,
            n=len(settlements),
            id=settlements[0].message.message_id,
        )

    def _delivery_committed(self, _: None, delivery: Delivery) -> Delivery:
        self._deliver([delivery])
        return delivery

    def _delivery_failed(self, failure: Failure, delivery: Delivery) -> Failure:
        self.log.failure("delivery {id} not stored", failure, id=delivery.delivery_id)
        return failure

    # ---- MO and money ---------------------------------------------------------------------

    def mobile_originated(self, sender: str, to: str, text: str, now: float) -> Deferred[Delivery] | str:
        """A handset's message to a service number; an error text when nobody owns the number."""
        delivery = self.core.mobile_originated(sender, to, text, now)
        if isinstance(delivery, str):
            return delivery
        d = self.committer.write([DeliveryStored(delivery)])
        self.log.info(
            "MO from {sender} to {to} for {account}", sender=mask_msisdn(sender), to=to, account=delivery.account
        )
        self.core.mo_optout(delivery, text, now)
        self._carry_out()
        stored: Deferred[Delivery] = d.addCallback(self._delivery_committed, delivery)
        return stored

    def topup(
        self, account: str, amount: int, reference: str, operator: str | None, now: float
    ) -> Deferred[LedgerEntry | Refused] | Refused:
        entry = self.core.topup(account, amount, reference, operator, now)
        if isinstance(entry, Refused):
            return entry
        credited: Deferred[LedgerEntry | Refused] = self.committer.write([LedgerAppended(entry)]).addCallbacks(
            lambda _: entry, _refused_topup
        )
        return credited

    # ---- compliance: what an operator decides --------------------------------------------------

    def decide(self, message_id: str, approve: bool, who: str) -> list[str] | None:
        done = self.core.decide(message_id, approve, who, self.clock.seconds())
        self._carry_out()
        self._rearm()
        return done

    def suspend(self, account: str, now: float, why: str) -> None:
        if self.core.compliance is not None:
            self.core.compliance.suspend(account, why)
            self._carry_out()

    def reinstate(self, account: str, who: str) -> None:
        if self.core.compliance is not None:
            self.core.compliance.reinstate(account)
            self._carry_out()
            self.log.info("account {account} reinstated by {who}", account=account, who=who)

    def add_optout(self, account: str, number: str, source: str, now: float) -> str:
        """Raises InvalidNumber (see Compliance.add_optout)."""
        assert self.core.compliance is not None
        msisdn = self.core.compliance.add_optout(account, number, source, now)
        self._carry_out()
        return msisdn

    def remove_optout(self, account: str, number: str) -> str:
        assert self.core.compliance is not None
        msisdn = self.core.compliance.remove_optout(account, number)
        self._carry_out()
        return msisdn

    # ---- restart ------------------------------------------------------------------------

    def resume(self, messages: list[Message]) -> None:
        self.core.resume(messages, self.clock.seconds())
        self._carry_out()
        self._rearm()

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = self._armed_at = None

    # ---- effects and the timer ------------------------------------------------------------

    def _carry_out(self) -> None:
        if not self._effects.pending:
            return
        writes, settlements, suspended = self._effects.take()
        if writes:
            self.committer.write_later(writes)
        if settlements:
            self._commit(settlements)
        for suspension in suspended:
            self.log.warn("account {account} suspended: {why}", account=suspension.account, why=suspension.why)
            # After the current submit is answered: its submit_sm_resp goes out before the unbind.
            self.clock.callLater(0, self._on_suspend, suspension.account)

    def _rearm(self) -> None:
        deadline = self.core.next_deadline()
        if deadline == self._armed_at:
            return
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._armed_at = deadline
        if deadline is not None:
            self._timer = self.clock.callLater(max(0.0, deadline - self.clock.seconds()), self.handle_timer)

    def handle_timer(self) -> None:
        """The core's deadline has come (the one delayed call)."""
        due = self._armed_at
        self._timer = self._armed_at = None
        now = self.clock.seconds()
        # A delayed call may land a rounding error before the deadline it was armed for.
        self.core.handle_deadlines(now if due is None or now >= due else due)
        self._carry_out()
        self._rearm()
