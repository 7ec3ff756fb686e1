"""One submit_sm through credit, routing and a simulated carrier, and its receipt back.

All state changes happen on the reactor thread, so checking and debiting a balance is atomic
without locks; every change is written through the group committer before anyone is told.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..billing.ledger import LedgerEntry, Refused, Wallets
from ..billing.refunds import RefundPolicy
from ..billing.tariff import PriceList
from ..carriers.link import CarrierJob, CarrierLink
from ..carriers.model import Outcome
from ..model import STAT_WORDS, AccountStatus, Delivery, DeliveryKind, Message, MessageState
from ..protocol import pdu as p
from ..protocol.coding import count_segments, decode_text, encode_text, gsm7_encodable
from ..protocol.concat import concat_info
from ..protocol.constants import (
    ESM_CLASS_INTERMEDIATE,
    ESM_CLASS_RECEIPT,
    ESM_CLASS_UDHI,
    CommandStatus,
    Tag,
)
from ..protocol.receipt import format_receipt
from ..protocol.smpptime import format_smpp_time, parse_smpp_time
from ..routing.numbers import mask_msisdn
from ..routing.router import NoRoute, Router
from ..store.ports import CommitRefusedError, Store
from ..writes import DeliveryStored, LedgerAppended, MessageAccepted, MessageReplaced, MessageSettled, Write
from .accounts import AccountBook
from .committer import GroupCommitter
from .compliance import Compliance, Precheck
from .ids import format_message_id

S = CommandStatus

# data_coding values we accept: the SMPP 3.4 table, GBK (15) and the GSM 03.38 coding groups.
_KNOWN_CODINGS = frozenset(range(0x0B)) | {0x0D, 0x0E, 0x0F} | frozenset(range(0xC0, 0x100))
_MAX_PAYLOAD = 255 * 153  # a message of at most 255 parts


@dataclass(frozen=True, slots=True)
class Rejected:
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Accepted:
    message: Message
    committed: Deferred[None]


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    message_id: str
    final_date: str
    state: int
    error_code: int


def _looks_national(digits: str) -> bool:
    """Clients often send mainland numbers with TON 1 (Jasmin's default); 11 digits from 1 are national."""
    return (len(digits) == 11 and digits[0] == "1") or digits.startswith("86")


def _reject(status: int, reason: str) -> Rejected:
    return Rejected(status, reason)


def _refused_topup(failure: Failure) -> Refused:
    """A cluster store refuses a top-up whose reference another node credited first."""
    if not isinstance(failure.value, CommitRefusedError):
        return failure  # type: ignore[return-value]  # passed on: the store failed
    return Refused("duplicate_reference", str(failure.value))


class Gateway:
    log = Logger()

    def __init__(
        self,
        *,
        clock: IReactorTime,
        store: Store,
        committer: GroupCommitter,
        accounts: AccountBook,
        wallets: Wallets,
        router: Router,
        prices: PriceList,
        refunds: RefundPolicy,
        carriers: Mapping[str, CarrierLink],
        deliver: Callable[[Delivery], None],
        next_message_seq: int = 1,
        next_delivery_id: int = 1,
        when_all_down: str = "queue",
        dc0: str = "gsm7",
        utc_offset_minutes: int = 480,
        compliance: Compliance | None = None,
    ) -> None:
        self.clock = clock
        self.store = store
        self.committer = committer
        self.accounts = accounts
        self.wallets = wallets
        self.router = router
        self.prices = prices
        self.refunds = refunds
        self.carriers = dict(carriers)
        self._deliver = deliver
        self._next_seq = next_message_seq
        self._next_delivery = next_delivery_id
        self.when_all_down = when_all_down
        self.dc0 = dc0
        self.utc_offset_minutes = utc_offset_minutes
        self.active: dict[str, Message] = {}  # accepted, not final yet
        self._settling: dict[str, Message] = {}  # final, commit in flight
        self._scheduled: dict[str, float] = {}  # message id -> schedule_delivery_time
        self.submitted = 0
        self.rejected = 0
        # The test rig's per-carrier gate (scripted throttling): a status to refuse with, or 0.
        self.submit_gate: Callable[[str, float], int] | None = None
        self.compliance = compliance

    # ---- carriers ---------------------------------------------------------------------

    def carrier_up(self, code: str) -> bool:
        link = self.carriers.get(code)
        return link is not None and link.is_up

    # ---- submit -------------------------------------------------------------------------

    def _validate(self, pdu: p.SubmitSm | p.DataSm, now: float) -> Rejected | tuple[float | None, float | None]:
        if pdu.data_coding not in _KNOWN_CODINGS:
            return _reject(S.ESME_RSUBMITFAIL, f"data_coding 0x{pdu.data_coding:02X} is not supported")
        if pdu.registered_delivery & 0xE0:
            return _reject(S.ESME_RINVREGDLVFLG, "reserved registered_delivery bits set")
        if pdu.esm_class & 0x3C and pdu.esm_class & ESM_CLASS_RECEIPT:
            return _reject(S.ESME_RINVESMCLASS, "a receipt esm_class cannot be submitted")
        schedule: float | None = None
        validity: float | None = None
        if isinstance(pdu, p.SubmitSm):
            if pdu.priority_flag > 3:
                return _reject(S.ESME_RINVPRTFLG, "priority_flag above 3")
            if pdu.replace_if_present_flag > 1:
                return _reject(S.ESME_RINVREPFLAG, "replace_if_present_flag above 1")
            if pdu.short_message and pdu.tlv(Tag.MESSAGE_PAYLOAD) is not None:
                return _reject(S.ESME_RINVMSGLEN, "both short_message and message_payload given")
            try:
                schedule = parse_smpp_time(pdu.schedule_delivery_time, now)
            except ValueError as err:
                return _reject(S.ESME_RINVSCHED, str(err))
            try:
                validity = parse_smpp_time(pdu.validity_period, now)
            except ValueError as err:
                return _reject(S.ESME_RINVEXPIRY, str(err))
            if validity is not None and validity <= now:
                return _reject(S.ESME_RINVEXPIRY, "validity_period already passed")
        payload = pdu.payload
        if len(payload) > _MAX_PAYLOAD:
            return _reject(S.ESME_RINVMSGLEN, "message longer than 255 parts")
        if pdu.data_coding == 0x08 and len(payload) % 2 and not pdu.esm_class & ESM_CLASS_UDHI:
            return _reject(S.ESME_RINVMSGLEN, "UCS2 text with an odd number of octets")
        return schedule, validity

    def submit(self, account_id: str, pdu: p.SubmitSm | p.DataSm, now: float, peer: str = "") -> Accepted | Rejected:
        result = self._submit(account_id, pdu, now, peer)
        if isinstance(result, Rejected):
            self.rejected += 1
        else:
            self.submitted += 1
        return result

    def _submit(self, account_id: str, pdu: p.SubmitSm | p.DataSm, now: float, peer: str) -> Accepted | Rejected:
        acct = self.accounts.get(account_id)
        if acct is None or acct.status is not AccountStatus.ACTIVE:
            if acct is not None and self.compliance is not None:
                why = f"the account is {acct.status}"
                self.compliance.record_refusal(
                    account_id, pdu.destination_addr, S.SMPPGW_RSUSPENDED, why, now=now, peer=peer, category="account"
                )
            return _reject(S.SMPPGW_RSUSPENDED, "account is suspended")
        checked = self._validate(pdu, now)
        if isinstance(checked, Rejected):
            return checked
        schedule, validity = checked
        cfg = acct.config
        if cfg.source_addrs and not any(pdu.source_addr.startswith(s) for s in cfg.source_addrs):
            return _reject(S.ESME_RINVSRCADR, "source_addr is not one of the account's service numbers")
        destination = pdu.destination_addr
        if pdu.dest_addr_ton == 1 and destination.isdigit() and not _looks_national(destination):
            destination = "+" + destination  # international TON: the digits carry a country code
        decision = self.router.route(destination, self.carrier_up)
        if isinstance(decision, NoRoute):
            return _reject(S.ESME_RINVDSTADR, f"no route: {decision.reason}")
        if decision.all_down and self.when_all_down == "reject":
            return _reject(S.ESME_RSYSERR, f"carrier {decision.carrier} is down")
        if self.submit_gate is not None and (gated := self.submit_gate(decision.carrier, now)):
            return _reject(gated, f"carrier {decision.carrier} refused it (scenario)")
        link = self.carriers.get(decision.carrier)
        if link is not None and link.queue_depth >= link.profile.queue_limit:
            # The carrier's queue is full (it is down or slow): refuse now rather than hold without bound.
            return _reject(S.ESME_RMSGQFUL, f"carrier {decision.carrier} queue is full")
        try:
            concat = concat_info(pdu.esm_class, pdu.payload, pdu.tlvs)
        except ValueError as err:
            return _reject(S.ESME_RINVESMCLASS if pdu.esm_class & ESM_CLASS_UDHI else S.ESME_RINVOPTPARAMVAL, str(err))
        segments = count_segments(pdu.data_coding, pdu.payload, has_udh=concat is not None)
        price = self.prices.price(cfg.rate_plan, decision.carrier, now)
        if price is None:
            return _reject(S.ESME_RSUBMITFAIL, f"no tariff for {decision.carrier} in plan {cfg.rate_plan}")
        if not acct.bucket.take(now):
            return _reject(S.ESME_RTHROTTLED, "over the account's throughput")
        pre: Precheck | None = None
        if self.compliance is not None:
            screened = self.compliance.precheck(acct, pdu, decision.msisdn, concat, now=now, peer=peer)
            if isinstance(screened, tuple):
                return _reject(*screened)
            pre = screened
            if pre.defer_until is not None:
                schedule = max(schedule or 0.0, pre.defer_until)
        seq = self._next_seq
        message_id = format_message_id(seq, cfg.message_id_format)
        # A message refused by a REJECTD receipt is accepted without being charged.
        free = pre is not None and pre.judgement is not None and pre.judgement.refused
        charged = None if free else self.wallets.charge(account_id, message_id, segments, price, now)
        if isinstance(charged, Refused):
            return _reject(S.SMPPGW_RNOBALANCE, charged.reason)
        self._next_seq = seq + 1
        message = Message(
            message_id=message_id,
            account=account_id,
            source_addr=pdu.source_addr,
            source_ton=pdu.source_addr_ton,
            source_npi=pdu.source_addr_npi,
            destination_addr=pdu.destination_addr,
            dest_ton=pdu.dest_addr_ton,
            dest_npi=pdu.dest_addr_npi,
            msisdn=decision.msisdn,
            carrier=decision.carrier,
            home_carrier=decision.home_carrier,
            segments=segments,
            price=price,
            charge=-charged.amount if charged is not None else 0,
            data_coding=pdu.data_coding,
            esm_class=pdu.esm_class,
            body=pdu.payload,
            registered_delivery=pdu.registered_delivery,
            submitted_at=now,
            validity_until=validity,
            seq=seq,
        )
        self.active[message_id] = message
        ops: list[Write] = [MessageAccepted(message)]
        if charged is not None:
            ops.append(LedgerAppended(charged))
        if self.compliance is not None and pre is not None:
            ops += self.compliance.accepted(message, pre, peer, now)
        committed = self.committer.write(ops)
        if schedule is not None and schedule > now:
            self._scheduled[message_id] = schedule
        return Accepted(message, committed)

    def abort(self, message: Message) -> None:
        """The commit of an accepted message failed: forget it and give the money back in memory
        (the store never saw the charge)."""
        self.active.pop(message.message_id, None)
        if self.compliance is not None:
            self.compliance.forget(message.message_id)
        wallet = self.wallets.get(message.account)
        if wallet is not None and message.charge:
            wallet.refund(message.message_id, message.charge, message.submitted_at)
            wallet.settle(message.message_id)

    def abort_failed(self, failure: object, message: Message) -> None:
        self.abort(message)

    @staticmethod
    def commit_failed_status(error: BaseException) -> int:
        """The submit_sm_resp status for an accepted message whose commit failed: a cluster store
        refuses a charge the account's money (on the database) no longer covers, as a node would."""
        if isinstance(error, CommitRefusedError) and error.reason == "insufficient_funds":
            return S.SMPPGW_RNOBALANCE
        return S.ESME_RSYSERR

    def release(self, message: Message) -> None:
        """Hand an accepted message to its carrier, once its submit_sm_resp is on the wire."""
        if message.message_id not in self.active:
            return  # cancelled meanwhile
        if self.compliance is not None and self.compliance.intercept(message):
            return  # held for review or for its other parts, or refused by receipt
        at = self._scheduled.pop(message.message_id, None)
        delay = 0.0 if at is None else max(0.0, at - self.clock.seconds())
        if delay > 0:
            self.clock.callLater(delay, self._dispatch, message.message_id)
        else:
            self._dispatch(message.message_id)

    def dispatch(self, message_id: str) -> None:
        """A message compliance held back goes on (to its carrier, at its scheduled time)."""
        at = self._scheduled.pop(message_id, None)
        delay = 0.0 if at is None else max(0.0, at - self.clock.seconds())
        self.clock.callLater(delay, self._dispatch, message_id)

    def content_reject(self, message: Message, err: int, code: str, at: float) -> None:
        """Refuse an accepted message: a REJECTD receipt, and all of its charge back."""
        if self.active.pop(message.message_id, None) is None:
            return
        self._scheduled.pop(message.message_id, None)
        self._finish(message, MessageState.REJECTED, at, err=err, code=code, stat="REJECTD", refund_all=True)

    def _dispatch(self, message_id: str) -> None:
        message = self.active.get(message_id)
        if message is None:
            return
        link = self.carriers[message.carrier]
        job = CarrierJob(message.message_id, message.msisdn, message.submitted_at, message.validity_until)
        if not link.dispatch(job):
            self.clock.callLater(1.0, self._dispatch, message_id)  # queue full: try again, never drop

    # ---- carrier reports ---------------------------------------------------------------

    def on_carrier_accept(self, message_id: str, at: float) -> None:
        message = self.active.get(message_id)
        if message is not None and message.registered_delivery & 0x10:
            self._send_receipt(replace(message, state=MessageState.ENROUTE), at, intermediate=True)

    def on_carrier_report(self, message_id: str, outcome: Outcome, at: float) -> None:
        message = self.active.pop(message_id, None)
        if message is None:
            return  # a duplicate or a cancelled message: idempotent per (message, state)
        stat = STAT_WORDS.get(MessageState(outcome.state), "UNKNOWN")
        self._finish(message, MessageState(outcome.state), at, err=outcome.err, code=outcome.code, stat=stat)

    def _finish(
        self,
        message: Message,
        state: MessageState,
        at: float,
        *,
        err: int,
        code: str,
        stat: str,
        refund_all: bool = False,
    ) -> None:
        ops: list[Write] = []
        wallet = self.wallets.get(message.account)
        refund = 0
        if wallet is not None:
            left = wallet.refundable(message.message_id) or 0
            refund = left if state is MessageState.DELETED or refund_all else self.refunds.refund_for(stat, left)
            if refund:
                entry = wallet.refund(message.message_id, refund, at, reason=stat)
                if isinstance(entry, LedgerEntry):
                    ops.append(LedgerAppended(entry))
                else:
                    refund = 0
            wallet.settle(message.message_id)
        final = message.settled(state, at, err, code, message.refunded + refund)
        ops.append(MessageSettled(final.message_id, state, at, err, code, final.refunded, final.carrier))
        self._settling[final.message_id] = final
        delivery = self._receipt(final, at) if final.wants_receipt and state is not MessageState.DELETED else None
        if delivery is not None:
            ops.append(DeliveryStored(delivery))
        d = self.committer.write(ops)

        def committed(_: None) -> None:
            self._settling.pop(final.message_id, None)
            if delivery is not None:
                self._deliver(delivery)

        d.addCallback(committed)
        d.addErrback(lambda f: self.log.failure("final state of {id} not stored", f, id=final.message_id))

    # ---- receipts and MO ----------------------------------------------------------------

    def _take_delivery_id(self) -> int:
        delivery_id = self._next_delivery
        self._next_delivery += 1
        return delivery_id

    def _receipt(self, message: Message, at: float, *, intermediate: bool = False) -> Delivery:
        stat = STAT_WORDS.get(message.state, "UNKNOWN")
        text = decode_text(message.data_coding, message.body, dc0=self.dc0)
        body = format_receipt(
            message.message_id,
            submitted_at=message.submitted_at,
            done_at=at,
            stat=stat,
            err=message.err,
            text=text,
            utc_offset_minutes=self.utc_offset_minutes,
        )
        return Delivery(
            delivery_id=self._take_delivery_id(),
            account=message.account,
            kind=DeliveryKind.RECEIPT,
            message_id=message.message_id,
            source_addr=message.destination_addr,  # swapped, as carriers send them
            source_ton=message.dest_ton,
            source_npi=message.dest_npi,
            destination_addr=message.source_addr,
            dest_ton=message.source_ton,
            dest_npi=message.source_npi,
            esm_class=ESM_CLASS_INTERMEDIATE if intermediate else ESM_CLASS_RECEIPT,
            data_coding=0,
            body=body,
            state=int(message.state),
            err=message.err,
            created_at=at,
        )

    def _send_receipt(self, message: Message, at: float, *, intermediate: bool) -> None:
        delivery = self._receipt(message, at, intermediate=intermediate)
        self.committer.write([DeliveryStored(delivery)]).addCallback(lambda _: self._deliver(delivery))

    def account_for_service_number(self, number: str) -> str | None:
        best: tuple[int, str] | None = None
        for state in self.accounts:
            for s in state.config.source_addrs:
                if number.startswith(s) and (best is None or len(s) > best[0]):
                    best = (len(s), state.config.system_id)
        return best[1] if best else None

    def mobile_originated(self, sender: str, to: str, text: str, now: float) -> Deferred[Delivery] | str:
        """A handset's message to a service number; returns an error text when nobody owns the number."""
        account = self.account_for_service_number(to)
        if account is None:
            return f"no account has service number {to}"
        data_coding = 0 if gsm7_encodable(text) else 8
        delivery = Delivery(
            delivery_id=self._take_delivery_id(),
            account=account,
            kind=DeliveryKind.MO,
            message_id=f"mo{self._next_delivery}",
            source_addr=sender,
            source_ton=1 if sender.startswith("+") else 0,
            source_npi=1,
            destination_addr=to,
            dest_ton=0,
            dest_npi=1,
            esm_class=0,
            data_coding=data_coding,
            body=encode_text(text, data_coding, dc0=self.dc0),
            state=0,
            err=0,
            created_at=now,
        )
        d = self.committer.write([DeliveryStored(delivery)])

        def committed(_: None) -> Delivery:
            self._deliver(delivery)
            return delivery

        self.log.info("MO from {sender} to {to} for {account}", sender=mask_msisdn(sender), to=to, account=account)
        if self.compliance is not None:
            self.compliance.mobile_originated(account, sender, text, now)
        return d.addCallback(committed)

    # ---- query / cancel / replace ---------------------------------------------------------

    def settling(self, message_id: str) -> Message | None:
        """The message if it is final and its settlement is being stored right now."""
        return self._settling.get(message_id)

    def find(self, message_id: str) -> Message | None:
        found = self.active.get(message_id) or self._settling.get(message_id)
        return found if found is not None else self.store.get_message(message_id)

    def _owned(self, account: str, message_id: str) -> Message | None:
        message = self.find(message_id) if message_id else None
        # Another account's id is answered exactly as an unknown one.
        return message if message is not None and message.account == account else None

    def query(self, account: str, message_id: str) -> QueryAnswer | None:
        message = self._owned(account, message_id)
        if message is None:
            return None
        final_date = "" if message.final_at is None else format_smpp_time(message.final_at, self.utc_offset_minutes)
        return QueryAnswer(message.message_id, final_date, int(message.state), message.err & 0xFF)

    def cancel(self, account: str, pdu: p.CancelSm, now: float) -> int:
        if pdu.message_id:
            message = self._owned(account, pdu.message_id)
            if message is None:
                return S.ESME_RINVMSGID
            targets = [message]
        else:  # cancel every waiting message from this source to this destination
            targets = [
                m
                for m in self.active.values()
                if m.account == account
                and m.source_addr == pdu.source_addr
                and m.destination_addr == pdu.destination_addr
            ]
        cancelled = 0
        for message in targets:
            link = self.carriers.get(message.carrier)
            if message.message_id in self.active and link is not None and link.cancel(message.message_id):
                del self.active[message.message_id]
                self._finish(message, MessageState.DELETED, now, err=0, code="", stat="DELETED")
                cancelled += 1
        return S.ESME_ROK if cancelled else S.ESME_RCANCELFAIL

    def replace_message(self, account: str, pdu: p.ReplaceSm, now: float) -> int:
        message = self._owned(account, pdu.message_id)
        if message is None:
            return S.ESME_RINVMSGID
        link = self.carriers.get(message.carrier)
        if message.message_id not in self.active or link is None or not link.pending(message.message_id):
            return S.ESME_RREPLACEFAIL
        body = pdu.short_message or pdu.tlv(Tag.MESSAGE_PAYLOAD) or b""
        if count_segments(message.data_coding, body, has_udh=False) > message.segments:
            return S.ESME_RREPLACEFAIL  # the charge covers the original number of segments only
        try:
            validity = parse_smpp_time(pdu.validity_period, now) or message.validity_until
        except ValueError:
            return S.ESME_RINVEXPIRY
        updated = replace(
            message,
            body=body,
            registered_delivery=pdu.registered_delivery or message.registered_delivery,
            validity_until=validity,
        )
        self.active[message.message_id] = updated
        self.committer.write_later(
            [MessageReplaced(message.message_id, body, updated.data_coding, updated.registered_delivery, validity)]
        )
        return S.ESME_ROK

    # ---- money --------------------------------------------------------------------------

    def topup(
        self, account: str, amount: int, reference: str, operator: str | None, now: float
    ) -> Deferred[LedgerEntry | Refused] | Refused:
        wallet = self.wallets.get(account)
        if wallet is None:
            return Refused("unknown_account", f"no account {account}")
        entry = wallet.topup(amount, reference, operator, now)
        if isinstance(entry, Refused):
            return entry
        return self.committer.write([LedgerAppended(entry)]).addCallbacks(lambda _: entry, _refused_topup)

    def reconfigure(
        self,
        *,
        router: Router,
        prices: PriceList,
        refunds: RefundPolicy,
        when_all_down: str,
        carriers: Mapping[str, CarrierLink],
    ) -> None:
        """A reload: routes, tariffs, refund policy and carriers for what is submitted from now on."""
        self.router = router
        self.prices = prices
        self.refunds = refunds
        self.when_all_down = when_all_down
        self.carriers = dict(carriers)

    # ---- restart ------------------------------------------------------------------------

    def resume(self, messages: list[Message]) -> None:
        """Messages that were waiting at a carrier when the gateway stopped go back to it."""
        for message in messages:
            self.active[message.message_id] = message
            if self.compliance is not None and self.compliance.is_held(message.message_id):
                continue
            link = self.carriers.get(message.carrier)
            if link is None:
                continue
            link.resume(
                CarrierJob(message.message_id, message.msisdn, message.submitted_at, message.validity_until), None
            )
        if self.compliance is not None:
            self.compliance.resume()
