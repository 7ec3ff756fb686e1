"""Compliance around the gateway's submit: content rules, review queue, suspension and incidents,
opt-out lists, signatures, send windows, pledges, and long messages held until all parts are in.

The gateway asks ``precheck`` before it charges, takes the writes of ``accepted`` with the message,
and asks ``intercept`` once the submit_sm_resp is out; held messages come back to it as
``Ruling`` values (go on, or refuse by receipt) from ``intercept``, ``decide``, ``resume`` and
``handle_deadlines``.  Time is an argument; deadlines are data (``next_deadline``).  Everything held
is in the ``held`` table, every decision in ``decisions``, so a restart continues where it stopped.
"""

from __future__ import annotations

import contextlib
import heapq
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..config import AccountConfig, ContentConfig
from ..content import Action, ContentRules, Hit
from ..model import AccountStatus, Decision, GroupKey, Held, HeldForReview, HeldPart, HeldReject, Message
from ..protocol import pdu as p
from ..protocol.coding import decode_text
from ..protocol.concat import ConcatInfo, split_udh
from ..protocol.constants import ESM_CLASS_UDHI, CommandStatus
from ..routing.numbers import InvalidNumber, mask_msisdn, normalise_msisdn
from ..writes import (
    AccountStatusSet,
    DecisionRecorded,
    HeldAdded,
    HeldDone,
    IncidentRecorded,
    OptoutAdded,
    OptoutRemoved,
    Write,
)
from .accounts import AccountBook, AccountState
from .outcomes import Effects

GLOBAL = "*"  # the opt-out list that applies to every account
REFUSAL_PREFIX = "refused-"  # the id of a submit refused at once (no message id exists for it)

# The smppgw receipt conventions (README "Content rules"): err and the carrier-style code.
SIGNATURE_REJECT = (1, "XA:0003")
CONTENT_REJECT_CODE = "MK:0014"
REVIEW_REJECT = (3, "MK:0115")


@dataclass(slots=True)
class Judgement:
    """What the text checks (signature, keywords) decided for one whole message."""

    decision: Decision  # allowed | flagged | held | rejected | suspended
    status: int = 0  # != 0: refuse in submit_sm_resp with this status
    err: int = 0  # receipt rejection: err and code of the REJECTD receipt
    code: str = ""
    category: str = ""
    term: str = ""
    legal_category: int | None = None
    detail: str = ""

    @property
    def refused(self) -> bool:
        return self.decision is Decision.REJECTED or self.decision is Decision.SUSPENDED


ALLOWED = Judgement(Decision.ALLOWED)


@dataclass(slots=True)
class Refusal:
    """``precheck`` refuses the submit in its response with this status."""

    status: int
    reason: str


@dataclass(slots=True, init=False)
class Precheck:
    """The outcome of ``precheck`` for a submit that may go on."""

    judgement: Judgement | None  # None: a part of a long message, judged once all parts are in
    group: GroupKey | None  # the long message this is a part of, or None for a single message
    defer_until: float | None = None  # outside the send window, deferred to its next start
    text: str = ""
    part: int = 1  # this part's number in its long message (UDH or SAR TLVs)

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(
        self,
        judgement: Judgement | None,
        group: GroupKey | None,
        defer_until: float | None = None,
        text: str = "",
        part: int = 1,
    ) -> None:
        self.judgement = judgement
        self.group = group
        self.defer_until = defer_until
        self.text = text
        self.part = part


@dataclass(slots=True)
class Ruling:
    """A held message let go: on to its carrier, or (``refused`` = (err, code)) refused by a REJECTD receipt."""

    message: Message
    refused: tuple[int, str] | None = None


@dataclass(slots=True, eq=False)
class _Held:
    """Messages held together: one review (keyed by its first message id) or one long message."""

    key: str | GroupKey
    members: list[str] = field(default_factory=list)
    armed: bool = False  # its deadline is in the queue


def message_text(data_coding: int, esm_class: int, body: bytes, dc0: str) -> str:
    if esm_class & ESM_CLASS_UDHI:
        with contextlib.suppress(ValueError):  # concat_info already refused malformed headers
            body = split_udh(body)[1]
    return decode_text(data_coding, body, dc0=dc0)


def in_window(window: tuple[int, int], now: float, utc_offset_minutes: int) -> float | None:
    """None inside the window; otherwise the time of its next start."""
    local = now + utc_offset_minutes * 60
    minute = (local // 60) % 1440
    start, end = window
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if inside:
        return None
    wait = (start - minute) % 1440
    return now - (local % 60) + wait * 60


class Compliance:
    def __init__(
        self,
        *,
        config: ContentConfig,
        rules: ContentRules | None,
        accounts: AccountBook,
        effects: Effects,
        dc0: str = "gsm7",
        utc_offset_minutes: int = 480,
        next_incident_id: int = 1,
        next_refusal_id: int = 1,
    ) -> None:
        self.configure(config, rules)
        self.accounts = accounts
        self._effects = effects
        self.dc0 = dc0
        self.utc_offset_minutes = utc_offset_minutes
        self.optouts: dict[str, set[str]] = {}
        self.held: dict[str, Held] = {}
        self._reviews: dict[str, _Held] = {}  # review (its first message id) -> its messages
        self._long: dict[GroupKey, _Held] = {}  # long messages waiting for parts
        self._parts: dict[GroupKey, dict[int, str]] = {}  # long message -> part number -> message id
        self._deadlines: list[tuple[float, int, _Held]] = []  # heap: the first deadline of each group
        self._deadline_seq = 0
        self._next_incident = next_incident_id
        # Starts above every stored decision_id; each refusal writes one row, so ids never repeat.
        self._next_refusal = next_refusal_id
        self.incident_counts: dict[tuple[str, str], int] = {}  # (action, category) -> since start, for metrics

    def configure(self, config: ContentConfig, rules: ContentRules | None) -> None:
        """New settings and keyword rules (at start and on reload): they judge the next message;
        messages already held keep their deadlines."""
        self.config = config
        self.rules = rules
        self.optout_words = frozenset(unicodedata.normalize("NFKC", w).strip().casefold() for w in config.optout_words)

    # ---- restore ------------------------------------------------------------------------

    def restore(self, optouts: Iterable[tuple[str, str]], held: Iterable[Held]) -> None:
        for account, msisdn in optouts:
            self.optouts.setdefault(account, set()).add(msisdn)
        for entry in held:
            self.held[entry.message_id] = entry

    def resume(self, active: Mapping[str, Message]) -> list[Ruling]:
        """After a restart: the deadlines of everything held come back; messages refused by receipt
        are refused now."""
        rulings: list[Ruling] = []
        reviews: dict[str, list[HeldForReview]] = {}
        longs: dict[GroupKey, list[HeldPart]] = {}
        for entry in list(self.held.values()):
            message = active.get(entry.message_id)
            if message is None:
                del self.held[entry.message_id]
            elif isinstance(entry, HeldReject):
                del self.held[entry.message_id]
                rulings.append(Ruling(message, (entry.err, entry.code)))
            elif isinstance(entry, HeldPart):
                longs.setdefault(entry.group, []).append(entry)
            else:
                reviews.setdefault(entry.group, []).append(entry)
        for key, parts_held in longs.items():
            group = self._long.setdefault(key, _Held(key))
            group.members = [e.message_id for e in parts_held]
            parts = self._parts.setdefault(key, {})
            for index, e in enumerate(parts_held):
                parts[e.part or index + 1] = e.message_id
            self._arm(group, parts_held[0].deadline)
        for review, entries in reviews.items():
            group = self._reviews.setdefault(review, _Held(review))
            group.members = [e.message_id for e in entries]
            self._arm(group, entries[0].deadline)
        return rulings

    # ---- submit -------------------------------------------------------------------------

    def optout_refusal(self, account: str, msisdn: str) -> bool:
        return msisdn in self.optouts.get(account, ()) or msisdn in self.optouts.get(GLOBAL, ())

    def precheck(
        self,
        acct: AccountState,
        pdu: p.SubmitSm | p.DataSm,
        msisdn: str,
        concat: ConcatInfo | None,
        *,
        now: float,
        peer: str,
    ) -> Refusal | Precheck:
        """A refusal to answer now (recorded as a decision), or how to go on."""
        cfg = acct.config
        to = pdu.destination_addr
        if self.optout_refusal(cfg.system_id, msisdn):
            why = "the recipient opted out"
            status = CommandStatus.SMPPGW_ROPTEDOUT
            self.record_refusal(cfg.system_id, to, status, why, now=now, peer=peer, decision=Decision.OPTED_OUT)
            return Refusal(status, why)
        defer = None
        if cfg.send_window is not None:
            defer = in_window(cfg.send_window, now, self.utc_offset_minutes)
            if defer is not None and cfg.outside_window == "reject":
                why = "outside the account's send window"
                status = CommandStatus.SMPPGW_RQUIETHOURS
                self.record_refusal(cfg.system_id, to, status, why, now=now, peer=peer, category="send_window")
                return Refusal(status, why)
        text = message_text(pdu.data_coding, pdu.esm_class, pdu.payload, self.dc0)
        if concat is not None:
            key = GroupKey(cfg.system_id, pdu.source_addr, pdu.destination_addr, concat.ref, concat.total)
            return Precheck(None, key, defer, text, concat.seqnum)
        judgement = self.judge(cfg, text, receipts_only=False)
        if judgement.status:
            refusal_id = self.record_refusal(
                cfg.system_id, to, judgement.status, judgement.detail, now=now, peer=peer,
                decision=judgement.decision, category=judgement.category, term=judgement.term,
            )  # fmt: skip
            if judgement.decision is Decision.SUSPENDED or judgement.legal_category is not None:
                self._effects.write(
                    self._incident_writes(
                        judgement, account=cfg.system_id, message_id=refusal_id, peer=peer,
                        destination=to, text=text, now=now,
                    )
                )  # fmt: skip
            if judgement.decision is Decision.SUSPENDED:
                self.suspend(cfg.system_id, f"{judgement.category}: {judgement.term}")
            return Refusal(judgement.status, judgement.detail)
        return Precheck(judgement, None, defer, text)

    def record_refusal(
        self, account: str, destination: str, status: int, why: str, *, now: float, peer: str,
        decision: Decision = Decision.REFUSED, category: str = "", term: str = "",
    ) -> str:  # fmt: skip
        """Record a submit refused in its submit_sm_resp as a decision with an id of its own."""
        refusal_id = f"{REFUSAL_PREFIX}{self._next_refusal}"
        self._next_refusal += 1
        detail = f"submit refused with 0x{status:08X} ({why}), to {mask_msisdn(destination)}"
        detail += f" from {peer}" if peer else ""
        self._effects.write([DecisionRecorded(refusal_id, account, now, decision, category, term, detail)])
        return refusal_id

    def judge(self, cfg: AccountConfig, text: str, *, receipts_only: bool) -> Judgement:
        if cfg.signature_required:
            stripped = text.strip()
            if not any(stripped.startswith(s) or stripped.endswith(s) for s in cfg.signatures):
                err, code = SIGNATURE_REJECT
                status = 0 if receipts_only else CommandStatus.SMPPGW_RNOSIGNATURE
                return Judgement(Decision.REJECTED, status, err, code, "signature", "", None, "no registered signature")
        if self.rules is None:
            return ALLOWED
        verdict = self.rules.check(text)
        hit: Hit | None = verdict.deciding
        if hit is None or verdict.action is None:
            return ALLOWED
        rule = hit.rule
        cat, term, legal = rule.category, hit.matched, rule.legal_category
        if verdict.action is Action.FLAG:
            return Judgement(Decision.FLAGGED, category=cat, term=term, legal_category=legal)
        if verdict.action is Action.REVIEW:
            return Judgement(Decision.HELD, category=cat, term=term, legal_category=legal, detail="held for review")
        decision = Decision.SUSPENDED if verdict.action is Action.SUSPEND else Decision.REJECTED
        status = CommandStatus.SMPPGW_RCONTENT if rule.reject_mode == "status" and not receipts_only else 0
        return Judgement(decision, status, rule.err_code, CONTENT_REJECT_CODE, cat, term, legal, f"{cat}: {term}")

    def accepted(self, message: Message, pre: Precheck, peer: str, now: float) -> tuple[DecisionRecorded, list[Write]]:
        """The decision a message just accepted is stored with, and the writes of what holds it back."""
        entry = self._held_entry(message, pre, now)
        if entry is not None:
            # Known in memory from the moment the message is accepted (before its commit).
            self.held[message.message_id] = entry
        judgement = pre.judgement
        if judgement is None:
            assert entry is not None and pre.group is not None
            detail = f"part {pre.part} of {pre.group.total}: waiting for the other parts"
            return self._decision(message, now, Decision.HELD, detail=detail), [HeldAdded(entry)]
        writes: list[Write] = []
        if pre.defer_until is not None:
            writes.append(self._decision(message, now, Decision.DEFERRED, detail="outside the send window"))
        if entry is not None:
            writes.append(HeldAdded(entry))
        if judgement.refused:
            writes += self._incident_writes(
                judgement, account=message.account, message_id=message.message_id, peer=peer,
                destination=message.destination_addr, text=pre.text, now=now,
            )  # fmt: skip
            if judgement.decision is Decision.SUSPENDED:
                self.suspend(message.account, f"{judgement.category}: {judgement.term}")
        return self._decision(message, now, judgement.decision, judgement), writes

    def _held_entry(self, message: Message, pre: Precheck, now: float) -> Held | None:
        judgement = pre.judgement
        if judgement is None:
            assert pre.group is not None
            return HeldPart(message.message_id, message.account, pre.group, pre.part, now,
                            now + self.config.concat_timeout)  # fmt: skip
        if judgement.decision is Decision.HELD:
            return HeldForReview(message.message_id, message.account, message.message_id, judgement.category,
                                 judgement.term, now, now + self.config.review_timeout)  # fmt: skip
        if judgement.refused:
            return HeldReject(message.message_id, message.account, judgement.code, judgement.err, now)
        return None

    def intercept(self, message: Message, now: float, active: Mapping[str, Message]) -> list[Ruling] | None:
        """Once the submit_sm_resp is out: None when compliance lets the message go; otherwise it
        keeps it, and returns the messages it lets go or refuses now (a long message completed)."""
        entry = self.held.get(message.message_id)
        if entry is None:
            return None
        if isinstance(entry, HeldReject):
            del self.held[message.message_id]
            return [Ruling(message, (entry.err, entry.code))]
        if isinstance(entry, HeldForReview):
            group = self._reviews.setdefault(entry.group, _Held(entry.group))
            group.members.append(message.message_id)
            self._arm(group, entry.deadline)
            return []
        key = entry.group
        rulings: list[Ruling] = []
        parts = self._parts.setdefault(key, {})
        if entry.part in parts:
            # The client reused the reference of an unfinished long message: judge what came of
            # the earlier one as it is, so none of its parts is held for ever.
            rulings = self._complete(key, now, active, why="its reference was reused before all parts came; ")
            parts = self._parts.setdefault(key, {})
        parts[entry.part] = message.message_id
        group = self._long.setdefault(key, _Held(key))
        group.members.append(message.message_id)
        if len(parts) >= key.total:
            rulings += self._complete(key, now, active)
        else:
            self._arm(group, entry.deadline)
        return rulings

    def forget(self, message_id: str) -> None:
        """The commit of an accepted message failed: it never existed."""
        self.held.pop(message_id, None)

    def is_held(self, message_id: str) -> bool:
        return message_id in self.held

    # ---- deadlines ------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``handle_deadlines`` next has something to do (a review or a long message times out)."""
        return self._deadlines[0][0] if self._deadlines else None

    def handle_deadlines(self, now: float, active: Mapping[str, Message]) -> list[Ruling]:
        """Time out every review and long message whose deadline has come."""
        rulings: list[Ruling] = []
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            group = heapq.heappop(heap)[2]
            group.armed = False
            if isinstance(group.key, GroupKey):
                if self._long.get(group.key) is group:
                    rulings += self._complete(group.key, now, active, why="timed out waiting for parts; ")
            elif self._reviews.get(group.key) is group and group.members:
                approve = self.config.review_timeout_action == "approve"
                why = f"review timed out: {'approved' if approve else 'rejected'}"
                rulings += self.decide(group.members[0], approve, "timeout", now, active, why=why) or []
        return rulings

    def _arm(self, group: _Held, deadline: float) -> None:
        """The group's first deadline is the one that counts (later parts do not push it back)."""
        if not group.armed:
            group.armed = True
            self._deadline_seq += 1
            heapq.heappush(self._deadlines, (deadline, self._deadline_seq, group))

    # ---- long messages --------------------------------------------------------------------

    def _complete(self, key: GroupKey, now: float, active: Mapping[str, Message], *, why: str = "") -> list[Ruling]:
        self._long.pop(key, None)
        parts = self._parts.pop(key, {})
        messages = [active[mid] for _, mid in sorted(parts.items()) if mid in active]
        for m in messages:
            self.held.pop(m.message_id, None)
        if not messages:
            return []
        first = messages[0]
        acct = self.accounts.get(first.account)
        text = "".join(message_text(m.data_coding, m.esm_class, m.body, self.dc0) for m in messages)
        if acct is None:
            return []
        judgement = self.judge(acct.config, text, receipts_only=True)
        writes: list[Write] = []
        for m in messages:
            writes.append(HeldDone(m.message_id))
            writes.append(self._decision(m, now, judgement.decision, judgement, prefix=f"{why}whole message: "))
        if judgement.decision is Decision.HELD:
            review = first.message_id
            group = self._reviews[review] = _Held(review)
            for m in messages:
                entry = HeldForReview(m.message_id, m.account, review, judgement.category, judgement.term, now,
                                      now + self.config.review_timeout)  # fmt: skip
                self.held[m.message_id] = entry
                group.members.append(m.message_id)
                writes.append(HeldAdded(entry))
            self._arm(group, now + self.config.review_timeout)
            self._effects.write(writes)
            return []
        if judgement.refused:
            writes += self._incident_writes(
                judgement, account=first.account, message_id=first.message_id, peer="",
                destination=first.destination_addr, text=text, now=now,
            )  # fmt: skip
            self._effects.write(writes)
            if judgement.decision is Decision.SUSPENDED:
                self.suspend(first.account, f"{judgement.category}: {judgement.term}")
            refused = (judgement.err, judgement.code)
            return [Ruling(m, refused) for m in messages]
        self._effects.write(writes)
        return [Ruling(m) for m in messages]

    # ---- review queue -------------------------------------------------------------------

    def review_items(self) -> list[HeldForReview]:
        items = [h for h in self.held.values() if isinstance(h, HeldForReview)]
        return sorted(items, key=lambda h: (h.held_at, h.message_id))

    def review_length(self) -> int:
        """Messages waiting for a decision, a long message counted once (as the review list shows them)."""
        return len({h.group for h in self.held.values() if isinstance(h, HeldForReview)})

    def group_of(self, message_id: str) -> list[str]:
        entry = self.held.get(message_id)
        if not isinstance(entry, HeldForReview):
            return []
        group = self._reviews.get(entry.group)
        return list(group.members) if group is not None else [message_id]

    def decide(
        self, message_id: str, approve: bool, who: str, now: float, active: Mapping[str, Message], *, why: str = ""
    ) -> list[Ruling] | None:
        """Approve or reject a held message (with the other parts of its long message); None if not held."""
        members = self.group_of(message_id)
        if not members:
            return None
        entry = self.held[message_id]
        assert isinstance(entry, HeldForReview)
        self._reviews.pop(entry.group, None)
        writes: list[Write] = []
        rulings: list[Ruling] = []
        decision = Decision.APPROVED if approve else Decision.REJECTED
        refused = None if approve else REVIEW_REJECT
        for mid in members:
            self.held.pop(mid, None)
            m = active.get(mid)
            if m is None:
                continue
            rulings.append(Ruling(m, refused))
            writes += [HeldDone(mid), self._decision(m, now, decision, detail=why or f"{decision} by {who}")]
        self._effects.write(writes)
        return rulings

    # ---- suspension and incidents ----------------------------------------------------------

    def suspend(self, account: str, why: str) -> None:
        acct = self.accounts.get(account)
        if acct is None or acct.status is AccountStatus.SUSPENDED:
            return
        self.accounts.set_status(account, AccountStatus.SUSPENDED)
        self._effects.write([AccountStatusSet(account, AccountStatus.SUSPENDED)])
        self._effects.suspend(account, why)

    def reinstate(self, account: str) -> None:
        self.accounts.set_status(account, AccountStatus.ACTIVE)
        self._effects.write([AccountStatusSet(account, AccountStatus.ACTIVE)])

    def _incident_writes(
        self, j: Judgement, *, account: str, message_id: str, peer: str, destination: str, text: str, now: float
    ) -> list[Write]:
        incident_id = self._next_incident
        self._next_incident += 1
        key = (j.decision, j.category)
        self.incident_counts[key] = self.incident_counts.get(key, 0) + 1
        return [
            IncidentRecorded(incident_id, account, now, message_id, j.category, j.legal_category, j.term, j.decision,
                             peer, destination, text)
        ]  # fmt: skip

    # ---- consent ------------------------------------------------------------------------

    def is_optout_word(self, text: str) -> bool:
        return unicodedata.normalize("NFKC", text).strip().casefold() in self.optout_words

    @staticmethod
    def normalise(number: str) -> str:
        return normalise_msisdn(number)

    def add_optout(self, account: str, number: str, source: str, now: float) -> str:
        """Add a number (any written form) to a list; returns its E.164 digits.  Raises InvalidNumber."""
        msisdn = normalise_msisdn(number)
        known = self.optouts.setdefault(account, set())
        if msisdn not in known:
            known.add(msisdn)
            self._effects.write([OptoutAdded(account, msisdn, source, now)])
        return msisdn

    def remove_optout(self, account: str, number: str) -> str:
        msisdn = normalise_msisdn(number)
        self.optouts.get(account, set()).discard(msisdn)
        self._effects.write([OptoutRemoved(account, msisdn)])
        return msisdn

    def mobile_originated(self, account: str, sender: str, text: str, now: float) -> bool:
        """An MO opt-out word puts the sender on the account's list; True when it did."""
        if not self.is_optout_word(text):
            return False
        try:
            self.add_optout(account, sender, "mo", now)
        except InvalidNumber:
            return False
        return True

    # ---- helpers --------------------------------------------------------------------------

    @staticmethod
    def _decision(
        message: Message,
        now: float,
        decision: Decision,
        j: Judgement | None = None,
        *,
        detail: str = "",
        prefix: str = "",
    ) -> DecisionRecorded:
        category = j.category if j is not None else ""
        term = j.term if j is not None else ""
        text = detail or (j.detail if j is not None else "")
        return DecisionRecorded(message.message_id, message.account, now, decision, category, term, prefix + text)
