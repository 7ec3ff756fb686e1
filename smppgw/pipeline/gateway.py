"""The business core: one submit_sm through credit, routing and compliance to a carrier, and its
receipt back; query, cancel and replace; top-ups and mobile-originated messages.

Pure: time is an argument and every change to store is returned as typed writes (``Accepted``,
``Settlement``) or left in the shared ``Effects``; deadlines (scheduled delivery, a full carrier
queue's retry, compliance's reviews and long messages) are data, read by ``next_deadline`` and
acted on by ``handle_deadlines``, as aioquic's ``get_timer``/``handle_timer``.  The shell
(``runtime.runner``) commits the writes, waits for the commit and arms the one timer.  All state
lives on one thread, so checking and debiting a balance is atomic without locks.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..billing.ledger import LedgerEntry, Refused, Wallets
from ..billing.refunds import RefundPolicy
from ..billing.tariff import PriceList
from ..carriers.model import CarrierJob, CarrierReport, Outcome, Script
from ..model import STAT_WORDS, AccountStatus, Delivery, DeliveryKind, Message, MessageState, receipt_of
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
from ..routing.router import NoRoute, Router
from ..store.ports import CommitRefusedError
from ..writes import MessageAccepted, MessageReplaced, MessageSettled, Write
from .accounts import AccountBook
from .compliance import Compliance, Precheck, Refusal, Ruling
from .directives import MALFORMED_STATUS, DirectiveError, take_directive
from .ids import format_message_id
from .outcomes import Accepted, Effects, QueryAnswer, Rejected, Settlement
from .ports import CarrierPort, StoredMessages, SubmitGate, open_gate

__all__ = ["Accepted", "Gateway", "QueryAnswer", "Rejected", "Settlement", "commit_failed_status"]

# data_coding values we accept: the SMPP 3.4 table, GBK (15) and the GSM 03.38 coding groups.
_KNOWN_CODINGS = frozenset(range(0x0B)) | {0x0D, 0x0E, 0x0F} | frozenset(range(0xC0, 0x100))
_MAX_PAYLOAD = 255 * 153  # a message of at most 255 parts
RETRY_FULL_QUEUE = 1.0  # s: a message whose carrier queue was full is offered again this much later
RECENT_SETTLED = 4096  # settled messages kept at hand for their receipts (see Gateway.settled)


def _looks_national(digits: str) -> bool:
    """Clients often send mainland numbers with TON 1 (Jasmin's default); 11 digits from 1 are national."""
    return (len(digits) == 11 and digits[0] == "1") or digits.startswith("86")


def commit_failed_status(error: BaseException) -> int:
    """The submit_sm_resp status for an accepted message whose commit failed: a cluster store
    refuses a charge the account's money (on the database) no longer covers, as a node would."""
    if isinstance(error, CommitRefusedError) and error.reason == "insufficient_funds":
        return CommandStatus.SMPPGW_RNOBALANCE
    return CommandStatus.ESME_RSYSERR


class Gateway:
    def __init__(
        self,
        *,
        store: StoredMessages,
        accounts: AccountBook,
        wallets: Wallets,
        router: Router,
        prices: PriceList,
        refunds: RefundPolicy,
        carriers: Mapping[str, CarrierPort],
        effects: Effects,
        compliance: Compliance | None = None,
        submit_gate: SubmitGate = open_gate,
        next_message_seq: int = 1,
        next_delivery_id: int = 1,
        when_all_down: str = "queue",
        dc0: str = "gsm7",
        utc_offset_minutes: int = 480,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.wallets = wallets
        self.router = router
        self.prices = prices
        self.refunds = refunds
        self.carriers = carriers  # the caller's mapping: carriers it adds later are seen here
        self.effects = effects
        self.compliance = compliance
        self.submit_gate = submit_gate
        self._next_seq = next_message_seq
        self._next_delivery = next_delivery_id
        self.when_all_down = when_all_down
        self.dc0 = dc0
        self.utc_offset_minutes = utc_offset_minutes
        self.active: dict[str, Message] = {}  # accepted, not final yet
        self.settling: dict[str, Message] = {}  # final, commit in flight
        # The last settled messages, oldest first: their receipts go out just after the commit, and
        # reading each back from the store cost CMPP's status reports about a tenth of their time.
        # An OrderedDict: dropping a plain dict's oldest key costs ~5 us at this size (the scan
        # past the deleted slots), popitem(last=False) ~1.
        self._recent: OrderedDict[str, Message] = OrderedDict()
        self._scheduled: dict[str, float] = {}  # message id -> schedule_delivery_time
        # Accepted per carrier and not released yet (their commit is in flight): they count against a
        # carrier queue that is filling, or a window's worth of submits would slip past its limit.
        self._unreleased: dict[str, int] = {}
        self._dispatches: list[tuple[float, str]] = []  # heap: (when, message id) to offer a carrier
        # Outcomes messages scripted for themselves (directives), until they settle; not kept over a restart.
        self._scripts: dict[str, Script] = {}
        self.submitted = 0
        self.rejected = 0

    @property
    def next_message_seq(self) -> int:
        return self._next_seq

    def reconfigure(
        self,
        *,
        router: Router,
        prices: PriceList,
        refunds: RefundPolicy,
        carriers: Mapping[str, CarrierPort],
        when_all_down: str,
    ) -> None:
        """A reload: the next submit is routed, priced and refunded by the new settings."""
        self.router, self.prices, self.refunds, self.carriers = router, prices, refunds, carriers
        self.when_all_down = when_all_down

    # ---- carriers ---------------------------------------------------------------------

    def carrier_up(self, code: str) -> bool:
        link = self.carriers.get(code)
        return link is not None and link.is_up

    # ---- submit -------------------------------------------------------------------------

    def _validate(self, pdu: p.SubmitSm | p.DataSm, now: float) -> Rejected | tuple[float | None, float | None]:
        if pdu.data_coding not in _KNOWN_CODINGS:
            return Rejected(CommandStatus.ESME_RSUBMITFAIL, f"data_coding 0x{pdu.data_coding:02X} is not supported")
        if pdu.registered_delivery & 0xE0:
            return Rejected(CommandStatus.ESME_RINVREGDLVFLG, "reserved registered_delivery bits set")
        if pdu.esm_class & 0x3C and pdu.esm_class & ESM_CLASS_RECEIPT:
            return Rejected(CommandStatus.ESME_RINVESMCLASS, "a receipt esm_class cannot be submitted")
        schedule: float | None = None
        validity: float | None = None
        if isinstance(pdu, p.SubmitSm):
            if pdu.priority_flag > 3:
                return Rejected(CommandStatus.ESME_RINVPRTFLG, "priority_flag above 3")
            if pdu.replace_if_present_flag > 1:
                return Rejected(CommandStatus.ESME_RINVREPFLAG, "replace_if_present_flag above 1")
            if pdu.short_message and pdu.tlv(Tag.MESSAGE_PAYLOAD) is not None:
                return Rejected(CommandStatus.ESME_RINVMSGLEN, "both short_message and message_payload given")
            try:
                schedule = parse_smpp_time(pdu.schedule_delivery_time, now)
            except ValueError as err:
                return Rejected(CommandStatus.ESME_RINVSCHED, str(err))
            try:
                validity = parse_smpp_time(pdu.validity_period, now)
            except ValueError as err:
                return Rejected(CommandStatus.ESME_RINVEXPIRY, str(err))
            if validity is not None and validity <= now:
                return Rejected(CommandStatus.ESME_RINVEXPIRY, "validity_period already passed")
        payload = pdu.payload
        if len(payload) > _MAX_PAYLOAD:
            return Rejected(CommandStatus.ESME_RINVMSGLEN, "message longer than 255 parts")
        if pdu.data_coding == 0x08 and len(payload) % 2 and not pdu.esm_class & ESM_CLASS_UDHI:
            return Rejected(CommandStatus.ESME_RINVMSGLEN, "UCS2 text with an odd number of octets")
        return schedule, validity

    def submit(
        self, account_id: str, pdu: p.SubmitSm | p.DataSm, now: float, peer: str = "", message_id: str = ""
    ) -> Accepted | Rejected:
        """Check, route, price, throttle, screen and charge one submit; an accepted message is
        answered once ``Accepted.writes`` are committed, then ``release``d.  ``message_id``: the id
        another protocol gave it (a CMPP Msg_Id's decimal form), instead of one of the account's form."""
        result = self._submit(account_id, pdu, now, peer, message_id)
        if isinstance(result, Rejected):
            self.rejected += 1
        else:
            self.submitted += 1
        return result

    def _submit(
        self, account_id: str, pdu: p.SubmitSm | p.DataSm, now: float, peer: str, given_id: str
    ) -> Accepted | Rejected:
        acct = self.accounts.get(account_id)
        if acct is None or acct.status is not AccountStatus.ACTIVE:
            if acct is not None and self.compliance is not None:
                why = f"the account is {acct.status}"
                self.compliance.record_refusal(
                    account_id,
                    pdu.destination_addr,
                    CommandStatus.SMPPGW_RSUSPENDED,
                    why,
                    now=now,
                    peer=peer,
                    category="account",
                )
            return Rejected(CommandStatus.SMPPGW_RSUSPENDED, "account is suspended")
        script: Script | None = None
        if acct.config.scripted_outcomes:
            # Stripped before anything counts, prices or screens the text.
            try:
                pdu, directive = take_directive(pdu, dc0=self.dc0)
            except DirectiveError as err:
                return Rejected(MALFORMED_STATUS, str(err))
            if directive is not None:
                if directive.status:
                    return Rejected(directive.status, "scripted by the message's directive")
                script = directive.script
        checked = self._validate(pdu, now)
        if isinstance(checked, Rejected):
            return checked
        schedule, validity = checked
        cfg = acct.config
        if cfg.source_addrs and not pdu.source_addr.startswith(cfg.source_addrs):
            return Rejected(CommandStatus.ESME_RINVSRCADR, "source_addr is not one of the account's service numbers")
        destination = pdu.destination_addr
        if pdu.dest_addr_ton == 1 and destination.isdigit() and not _looks_national(destination):
            destination = "+" + destination  # international TON: the digits carry a country code
        decision = self.router.route(destination, self.carrier_up)
        if isinstance(decision, NoRoute):
            return Rejected(CommandStatus.ESME_RINVDSTADR, f"no route: {decision.reason}")
        if decision.all_down and self.when_all_down == "reject":
            return Rejected(CommandStatus.ESME_RSYSERR, f"carrier {decision.carrier} is down")
        if gated := self.submit_gate(decision.carrier, now):
            return Rejected(gated, f"carrier {decision.carrier} refused it (scenario)")
        link = self.carriers.get(decision.carrier)
        if link is not None and self._queue_full(link, decision.carrier):
            # The carrier's queue is full (it is down or slow): refuse now rather than hold without bound.
            return Rejected(CommandStatus.ESME_RMSGQFUL, f"carrier {decision.carrier} queue is full")
        try:
            concat = concat_info(pdu.esm_class, pdu.payload, pdu.tlvs)
        except ValueError as err:
            return Rejected(
                CommandStatus.ESME_RINVESMCLASS
                if pdu.esm_class & ESM_CLASS_UDHI
                else CommandStatus.ESME_RINVOPTPARAMVAL,
                str(err),
            )
        segments = count_segments(pdu.data_coding, pdu.payload, has_udh=concat is not None)
        price = self.prices.price(cfg.rate_plan, decision.carrier, now)
        if price is None:
            return Rejected(CommandStatus.ESME_RSUBMITFAIL, f"no tariff for {decision.carrier} in plan {cfg.rate_plan}")
        if not acct.bucket.take(now):
            return Rejected(CommandStatus.ESME_RTHROTTLED, "over the account's throughput")
        pre: Precheck | None = None
        if self.compliance is not None:
            screened = self.compliance.precheck(acct, pdu, decision.msisdn, concat, now=now, peer=peer)
            if isinstance(screened, Refusal):
                return Rejected(screened.status, screened.reason)
            pre = screened
            if pre.defer_until is not None:
                schedule = max(schedule or 0.0, pre.defer_until)
        seq = self._next_seq
        message_id = given_id or format_message_id(seq, cfg.message_id_format)
        # A message refused by a REJECTD receipt is accepted without being charged.
        free = pre is not None and pre.judgement is not None and pre.judgement.refused
        charged = None if free else self.wallets.charge(account_id, message_id, segments, price, now)
        if isinstance(charged, Refused):
            return Rejected(CommandStatus.SMPPGW_RNOBALANCE, charged.reason)
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
        unreleased = self._unreleased
        unreleased[decision.carrier] = unreleased.get(decision.carrier, 0) + 1
        if script is not None:
            self._scripts[message_id] = script
        if pre is None:
            writes: list[Write] = [MessageAccepted(message, charged)]
        else:
            assert self.compliance is not None
            judged, held = self.compliance.accepted(message, pre, peer, now)
            writes = [MessageAccepted(message, charged, judged), *held]
        if schedule is not None and schedule > now:
            self._scheduled[message_id] = schedule
        return Accepted(message, writes)

    def _queue_full(self, link: CarrierPort, carrier: str) -> bool:
        """The carrier's queue is full, counting what is accepted for it and not released yet while
        it queues (down, or already behind); a link that takes messages at once has no queue to fill."""
        depth = link.queue_depth
        if depth or not link.is_up:
            depth += self._unreleased.get(carrier, 0)
        return depth >= link.profile.queue_limit

    def _released(self, message: Message) -> None:
        left = self._unreleased.get(message.carrier, 0) - 1
        if left > 0:
            self._unreleased[message.carrier] = left
        else:
            self._unreleased.pop(message.carrier, None)

    def abort(self, message: Message) -> None:
        """The commit of an accepted message failed: forget it and give the money back in memory
        (the store never saw the charge)."""
        self._released(message)
        self.active.pop(message.message_id, None)
        self._scripts.pop(message.message_id, None)
        if self.compliance is not None:
            self.compliance.forget(message.message_id)
        wallet = self.wallets.get(message.account)
        if wallet is not None and message.charge:
            wallet.refund(message.message_id, message.charge, message.submitted_at)
            wallet.settle(message.message_id)

    def release(self, message: Message, now: float) -> None:
        """Hand an accepted message to its carrier, once its submit_sm_resp is on the wire."""
        self._released(message)
        message_id = message.message_id
        if message_id not in self.active:
            return  # cancelled meanwhile
        if self.compliance is not None:
            rulings = self.compliance.intercept(message, now, self.active)
            if rulings is not None:  # held for review or for its other parts, or refused by receipt
                self._rule(rulings, now)
                return
        self._go(message_id, now)

    def _go(self, message_id: str, now: float) -> None:
        """To the carrier now, or at the message's scheduled time."""
        at = self._scheduled.pop(message_id, None)
        if at is not None and at > now:
            heapq.heappush(self._dispatches, (at, message_id))
        else:
            self._dispatch(message_id, now)

    def _dispatch(self, message_id: str, now: float) -> None:
        message = self.active.get(message_id)
        if message is None:
            return
        if not self.carriers[message.carrier].dispatch(self._job(message)):
            # The queue is full: offer it again later, never drop it.
            heapq.heappush(self._dispatches, (now + RETRY_FULL_QUEUE, message_id))

    def _job(self, message: Message) -> CarrierJob:
        return CarrierJob(
            message.message_id,
            message.msisdn,
            message.submitted_at,
            message.validity_until,
            self._scripts.get(message.message_id),
        )

    def _rule(self, rulings: list[Ruling], now: float) -> None:
        """Carry out what compliance decided about messages it held."""
        for ruling in rulings:
            if ruling.refused is None:
                self._go(ruling.message.message_id, now)
            else:
                err, code = ruling.refused
                self._content_reject(ruling.message, err, code, now)

    def _content_reject(self, message: Message, err: int, code: str, now: float) -> None:
        """Refuse an accepted message: a REJECTD receipt, and all of its charge back."""
        if self.active.pop(message.message_id, None) is None:
            return
        self._scheduled.pop(message.message_id, None)
        self.effects.settle(self._finish(message, MessageState.REJECTED, now, err=err, code=code, refund_all=True))

    # ---- deadlines ------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``handle_deadlines`` next has something to do, or None."""
        own = self._dispatches[0][0] if self._dispatches else None
        held = self.compliance.next_deadline() if self.compliance is not None else None
        if own is None or (held is not None and held < own):
            return held
        return own

    def handle_deadlines(self, now: float) -> None:
        """Everything due by ``now``: scheduled messages and retries go to their carrier, reviews and
        long messages time out (their settlements and writes are left in ``effects``)."""
        heap = self._dispatches
        while heap and heap[0][0] <= now:
            self._dispatch(heapq.heappop(heap)[1], now)
        if self.compliance is not None:
            self._rule(self.compliance.handle_deadlines(now, self.active), now)

    # ---- compliance's operator decisions -----------------------------------------------------

    def decide(self, message_id: str, approve: bool, who: str, now: float) -> list[str] | None:
        """An operator approves or rejects a held message (and the rest of its long message);
        the ids decided, or None when it is not held for review."""
        if self.compliance is None:
            return None
        rulings = self.compliance.decide(message_id, approve, who, now, self.active)
        if rulings is None:
            return None
        self._rule(rulings, now)
        return [r.message.message_id for r in rulings]

    # ---- carrier reports ---------------------------------------------------------------

    def on_carrier_accept(self, message_id: str, at: float) -> Delivery | None:
        """The carrier took the message: an intermediate (ENROUTE) receipt, when the client asked for one."""
        message = self.active.get(message_id)
        if message is None or not message.registered_delivery & 0x10:
            return None
        return self._receipt(message, at, state=MessageState.ENROUTE, intermediate=True)

    def on_carrier_reports(self, reports: Iterable[CarrierReport]) -> list[Settlement]:
        """A batch of the carriers' final reports (one timer tick's): the settlements they bring."""
        settlements = []
        for message_id, outcome, at in reports:
            settlement = self.on_carrier_report(message_id, outcome, at)
            if settlement is not None:
                settlements.append(settlement)
        return settlements

    def on_carrier_report(self, message_id: str, outcome: Outcome, at: float) -> Settlement | None:
        """The carrier's final report; None for a duplicate or a cancelled message."""
        message = self.active.pop(message_id, None)
        if message is None:
            return None  # idempotent per (message, state)
        return self._finish(message, outcome.state, at, err=outcome.err, code=outcome.code)

    def _finish(
        self, message: Message, state: MessageState, at: float, *, err: int, code: str, refund_all: bool = False
    ) -> Settlement:
        self._scripts.pop(message.message_id, None)
        writes: list[Write] = []
        wallet = self.wallets.get(message.account)
        refund = 0
        refunded: LedgerEntry | None = None
        if wallet is not None:
            left = wallet.refundable(message.message_id) or 0
            refund = left if state is MessageState.DELETED or refund_all else self.refunds.refund_for(state, left)
            if refund:
                entry = wallet.refund(message.message_id, refund, at, reason=STAT_WORDS.get(state, "UNKNOWN"))
                if isinstance(entry, LedgerEntry):
                    refunded = entry
                else:
                    refund = 0
            wallet.settle(message.message_id)
        final = message.settled(state, at, err, code, message.refunded + refund)
        self.settling[final.message_id] = final
        delivery = None
        if final.wants_receipt and state is not MessageState.DELETED:
            delivery = self._receipt(final, at, state=state)
        writes.append(
            MessageSettled(final.message_id, state, at, err, code, final.refunded, final.carrier, refunded, delivery)
        )
        return Settlement(final, writes, delivery)

    def settled(self, settlement: Settlement) -> None:
        """The settlement's writes are committed: the store answers for the message now, and the
        last few thousand stay at hand (a final message does not change any more)."""
        final = self.settling.pop(settlement.message.message_id, None)
        if final is not None:
            recent = self._recent
            recent[final.message_id] = final
            if len(recent) > RECENT_SETTLED:
                recent.popitem(last=False)

    # ---- receipts and MO ----------------------------------------------------------------

    def reserve_message_id(self, account_id: str) -> tuple[str, int]:
        """An id (in the account's form) and its sequence number for a message accepted now and
        submitted later under that id (the HTTP interface's batches, fed at the account's pace)."""
        acct = self.accounts.get(account_id)
        form = acct.config.message_id_format if acct is not None else "hex"
        seq = self._next_seq
        self._next_seq = seq + 1
        return format_message_id(seq, form), seq

    def take_delivery_id(self) -> int:
        """An id for a delivery made outside the core (the HTTP interface's report of a refusal)."""
        return self._take_delivery_id()

    def _take_delivery_id(self) -> int:
        delivery_id = self._next_delivery
        self._next_delivery += 1
        return delivery_id

    def _receipt(self, message: Message, at: float, *, state: MessageState, intermediate: bool = False) -> Delivery:
        text = decode_text(message.data_coding, message.body, dc0=self.dc0)
        body = format_receipt(
            message.message_id,
            submitted_at=message.submitted_at,
            done_at=at,
            stat=STAT_WORDS.get(state, "UNKNOWN"),
            err=message.err,
            text=text,
            utc_offset_minutes=self.utc_offset_minutes,
        )
        esm_class = ESM_CLASS_INTERMEDIATE if intermediate else ESM_CLASS_RECEIPT
        return receipt_of(message, self._take_delivery_id(), body, state=int(state), at=at, esm_class=esm_class)

    def account_for_service_number(self, number: str) -> str | None:
        best: tuple[int, str] | None = None
        for state in self.accounts:
            for s in state.config.source_addrs:
                if number.startswith(s) and (best is None or len(s) > best[0]):
                    best = (len(s), state.config.system_id)
        return best[1] if best else None

    def mobile_originated(self, sender: str, to: str, text: str, now: float) -> Delivery | str:
        """A handset's message to a service number, to store then deliver; an error text when nobody
        owns the number.  An opt-out word also puts the sender on the account's list."""
        account = self.account_for_service_number(to)
        if account is None:
            return f"no account has service number {to}"
        data_coding = 0 if gsm7_encodable(text) else 8
        return Delivery(
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

    def mo_optout(self, delivery: Delivery, text: str, now: float) -> None:
        """After the MO is written: its opt-out word, if it is one."""
        if self.compliance is not None:
            self.compliance.mobile_originated(delivery.account, delivery.source_addr, text, now)

    # ---- query / cancel / replace ---------------------------------------------------------

    def find(self, message_id: str) -> Message | None:
        found = self.active.get(message_id) or self.settling.get(message_id) or self._recent.get(message_id)
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
        """The cancel_sm_resp status; each message cancelled is settled as DELETED (in ``effects``)."""
        if pdu.message_id:
            message = self._owned(account, pdu.message_id)
            if message is None:
                return CommandStatus.ESME_RINVMSGID
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
                self.effects.settle(self._finish(message, MessageState.DELETED, now, err=0, code=""))
                cancelled += 1
        return CommandStatus.ESME_ROK if cancelled else CommandStatus.ESME_RCANCELFAIL

    def replace_message(self, account: str, pdu: p.ReplaceSm, now: float) -> int:
        """The replace_sm_resp status; the new text is written through ``effects``."""
        message = self._owned(account, pdu.message_id)
        if message is None:
            return CommandStatus.ESME_RINVMSGID
        link = self.carriers.get(message.carrier)
        if message.message_id not in self.active or link is None or not link.pending(message.message_id):
            return CommandStatus.ESME_RREPLACEFAIL
        body = pdu.short_message or pdu.tlv(Tag.MESSAGE_PAYLOAD) or b""
        if count_segments(message.data_coding, body, has_udh=False) > message.segments:
            return CommandStatus.ESME_RREPLACEFAIL  # the charge covers the original number of segments only
        try:
            validity = parse_smpp_time(pdu.validity_period, now) or message.validity_until
        except ValueError:
            return CommandStatus.ESME_RINVEXPIRY
        updated = replace(
            message,
            body=body,
            registered_delivery=pdu.registered_delivery or message.registered_delivery,
            validity_until=validity,
        )
        self.active[message.message_id] = updated
        self.effects.write(
            [MessageReplaced(message.message_id, body, updated.data_coding, updated.registered_delivery, validity)]
        )
        return CommandStatus.ESME_ROK

    # ---- money --------------------------------------------------------------------------

    def topup(
        self, account: str, amount: int, reference: str, operator: str | None, now: float
    ) -> LedgerEntry | Refused:
        """A credit to store (``LedgerAppended(entry)``), or why it is refused."""
        wallet = self.wallets.get(account)
        if wallet is None:
            return Refused("unknown_account", f"no account {account}")
        return wallet.topup(amount, reference, operator, now)

    # ---- restart ------------------------------------------------------------------------

    def resume(self, messages: list[Message], now: float) -> None:
        """Messages that were waiting at a carrier when the gateway stopped go back to it."""
        for message in messages:
            self.active[message.message_id] = message
            if self.compliance is not None and self.compliance.is_held(message.message_id):
                continue
            link = self.carriers.get(message.carrier)
            if link is not None:
                link.resume(self._job(message), None)
        if self.compliance is not None:
            self._rule(self.compliance.resume(self.active), now)
