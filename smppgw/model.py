"""Domain records shared by the message pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final, NamedTuple


class MessageState(IntEnum):
    SCHEDULED = 0
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9


# The 7-letter receipt `stat:` word of each state.
STAT_WORDS: dict[MessageState, str] = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}

FINAL_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.EXPIRED,
        MessageState.DELETED,
        MessageState.UNDELIVERABLE,
        MessageState.UNKNOWN,
        MessageState.REJECTED,
    }
)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class DeliveryKind(StrEnum):
    RECEIPT = "receipt"
    MO = "mo"


# Records built per message (this one, its PDUs, writes, ledger entry, route, carrier job) are
# slotted but not frozen, and never changed once built: a frozen dataclass's __init__ sets each
# field through object.__setattr__, 8x a plain one (2.2 against 0.27 us for 15 fields).
@dataclass(slots=True, init=False)
class Message:
    message_id: str
    account: str
    source_addr: str
    source_ton: int
    source_npi: int
    destination_addr: str  # as the client wrote it; receipts echo it back
    dest_ton: int
    dest_npi: int
    msisdn: str  # E.164 digits
    carrier: str  # where it was sent (after porting and failover)
    home_carrier: str  # carrier of the number block
    segments: int
    price: int  # per segment, in the account's unit
    charge: int  # what was debited
    data_coding: int
    esm_class: int
    body: bytes
    registered_delivery: int
    submitted_at: float
    validity_until: float | None
    state: MessageState = MessageState.ENROUTE
    final_at: float | None = None
    err: int = 0
    code: str = ""
    refunded: int = 0
    seq: int = 0  # numeric id behind message_id: orders messages, and restarts the counter

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(  # noqa: PLR0917 (the fields in order, as the generated one takes them)
        self,
        message_id: str,
        account: str,
        source_addr: str,
        source_ton: int,
        source_npi: int,
        destination_addr: str,
        dest_ton: int,
        dest_npi: int,
        msisdn: str,
        carrier: str,
        home_carrier: str,
        segments: int,
        price: int,
        charge: int,
        data_coding: int,
        esm_class: int,
        body: bytes,
        registered_delivery: int,
        submitted_at: float,
        validity_until: float | None,
        state: MessageState = MessageState.ENROUTE,
        final_at: float | None = None,
        err: int = 0,
        code: str = "",
        refunded: int = 0,
        seq: int = 0,
    ) -> None:
        self.message_id = message_id
        self.account = account
        self.source_addr = source_addr
        self.source_ton = source_ton
        self.source_npi = source_npi
        self.destination_addr = destination_addr
        self.dest_ton = dest_ton
        self.dest_npi = dest_npi
        self.msisdn = msisdn
        self.carrier = carrier
        self.home_carrier = home_carrier
        self.segments = segments
        self.price = price
        self.charge = charge
        self.data_coding = data_coding
        self.esm_class = esm_class
        self.body = body
        self.registered_delivery = registered_delivery
        self.submitted_at = submitted_at
        self.validity_until = validity_until
        self.state = state
        self.final_at = final_at
        self.err = err
        self.code = code
        self.refunded = refunded
        self.seq = seq

    def settled(self, state: MessageState, final_at: float, err: int, code: str, refunded: int) -> Message:
        """This message in its final state.  Spelled out because dataclasses.replace costs
        ~18 us on 26 fields, and every message passes here once."""
        return Message(
            self.message_id, self.account, self.source_addr, self.source_ton, self.source_npi,
            self.destination_addr, self.dest_ton, self.dest_npi, self.msisdn, self.carrier, self.home_carrier,
            self.segments, self.price, self.charge, self.data_coding, self.esm_class, self.body,
            self.registered_delivery, self.submitted_at, self.validity_until, state, final_at, err, code,
            refunded, self.seq,
        )  # fmt: skip

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def wants_receipt(self) -> bool:
        rd = self.registered_delivery & 0x03
        if rd == 0:
            return False
        if rd == 2:  # failure only
            return self.state is not MessageState.DELIVERED
        return True


@dataclass(slots=True, init=False)
class Delivery:
    """A deliver_sm owed to an account: a receipt or a mobile-originated message."""

    delivery_id: int
    account: str
    kind: DeliveryKind
    message_id: str  # the receipted message, or the MO's own id
    source_addr: str
    source_ton: int
    source_npi: int
    destination_addr: str
    dest_ton: int
    dest_npi: int
    esm_class: int
    data_coding: int
    body: bytes
    state: int  # message_state TLV for receipts
    err: int
    created_at: float

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(  # noqa: PLR0917 (the fields in order, as the generated one takes them)
        self,
        delivery_id: int,
        account: str,
        kind: DeliveryKind,
        message_id: str,
        source_addr: str,
        source_ton: int,
        source_npi: int,
        destination_addr: str,
        dest_ton: int,
        dest_npi: int,
        esm_class: int,
        data_coding: int,
        body: bytes,
        state: int,
        err: int,
        created_at: float,
    ) -> None:
        self.delivery_id = delivery_id
        self.account = account
        self.kind = kind
        self.message_id = message_id
        self.source_addr = source_addr
        self.source_ton = source_ton
        self.source_npi = source_npi
        self.destination_addr = destination_addr
        self.dest_ton = dest_ton
        self.dest_npi = dest_npi
        self.esm_class = esm_class
        self.data_coding = data_coding
        self.body = body
        self.state = state
        self.err = err
        self.created_at = created_at


def receipt_of(message: Message, delivery_id: int, body: bytes, *, state: int, at: float, esm_class: int) -> Delivery:
    """The receipt of ``message``: to its sender, from its recipient (addresses swapped, as carriers
    send them), with the message's err.  The one place that says what a receipt holds besides its
    text, so a store may keep a final receipt as its id and text beside the settled message."""
    return Delivery(
        delivery_id, message.account, DeliveryKind.RECEIPT, message.message_id,
        message.destination_addr, message.dest_ton, message.dest_npi,
        message.source_addr, message.source_ton, message.source_npi,
        esm_class, 0, body, state, message.err, at,
    )  # fmt: skip


class Decision(StrEnum):
    """What compliance decided about a message (a row of the ``decisions`` table)."""

    ALLOWED = "allowed"
    FLAGGED = "flagged"
    HELD = "held"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    DEFERRED = "deferred"
    APPROVED = "approved"
    REFUSED = "refused"  # refused in its submit_sm_resp
    OPTED_OUT = "opted_out"


class GroupKey(NamedTuple):
    """One long message: its parts share account, addresses, the UDH/SAR reference and the part count."""

    account: str
    source_addr: str
    destination_addr: str
    reference: int
    total: int


# What each kind of hold is called in the store and the admin API.  Constants and a property rather
# than a ClassVar: mypyc (2.4) turns a ClassVar with a value into a field with a default, which
# may not come before the fields without one.
HELD_REVIEW: Final = "review"
HELD_PARTS: Final = "parts"
HELD_REJECT: Final = "reject"


@dataclass(frozen=True, slots=True)
class HeldForReview:
    """A message whose content waits for an operator's decision (or its review deadline)."""

    message_id: str
    account: str
    group: str  # the message id its review is filed under: its own, or its long message's first part
    category: str
    term: str
    held_at: float
    deadline: float

    @property
    def kind(self) -> str:
        return HELD_REVIEW


@dataclass(frozen=True, slots=True)
class HeldPart:
    """One part of a long message, held until all its parts are in (or the deadline passes)."""

    message_id: str
    account: str
    group: GroupKey
    part: int
    held_at: float
    deadline: float

    @property
    def kind(self) -> str:
        return HELD_PARTS


@dataclass(frozen=True, slots=True)
class HeldReject:
    """A message accepted only to be refused by a REJECTD receipt (content rules in receipt mode)."""

    message_id: str
    account: str
    code: str  # the receipt's gateway code
    err: int  # the receipt's err: value
    held_at: float

    @property
    def kind(self) -> str:
        return HELD_REJECT


Held = HeldForReview | HeldPart | HeldReject
