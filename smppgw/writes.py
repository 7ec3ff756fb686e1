"""Typed writes: one value per kind of change the core asks the store to make.

Values are never changed once built.  The ones written per message are not frozen (see
``smppgw.model.Message``); the rest are.

The core returns these; the committer hands them to the store in order, in one transaction; each
store maps every kind to its SQL.  Nothing here knows a table or a column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .billing.ledger import LedgerEntry
from .model import AccountStatus, Decision, Delivery, Held, Message, MessageState


@dataclass(slots=True, init=False)
class MessageAccepted:
    """A message accepted for delivery, with what it was charged: ``charge`` is its ledger entry
    (None for a free message); the account's stored balance becomes ``charge.balance_after``.
    ``decision`` is the compliance decision it was accepted with, when compliance judged it."""

    message: Message
    charge: LedgerEntry | None = None
    decision: DecisionRecorded | None = None

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(
        self, message: Message, charge: LedgerEntry | None = None, decision: DecisionRecorded | None = None
    ) -> None:
        self.message = message
        self.charge = charge
        self.decision = decision


@dataclass(slots=True, init=False)
class MessageSettled:
    """A message reached its final state."""

    message_id: str
    state: MessageState
    at: float
    err: int
    code: str
    refunded: int
    carrier: str
    refund: LedgerEntry | None = None  # the refund's ledger entry, made at this settlement
    # its final receipt, owed to the account until its deliver_sm_resp (``DeliveryDone``); built by
    # ``model.receipt_of`` from the settled message
    receipt: Delivery | None = None

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(  # noqa: PLR0917 (the fields in order, as the generated one takes them)
        self,
        message_id: str,
        state: MessageState,
        at: float,
        err: int,
        code: str,
        refunded: int,
        carrier: str,
        refund: LedgerEntry | None = None,
        receipt: Delivery | None = None,
    ) -> None:
        self.message_id = message_id
        self.state = state
        self.at = at
        self.err = err
        self.code = code
        self.refunded = refunded
        self.carrier = carrier
        self.refund = refund
        self.receipt = receipt


@dataclass(frozen=True, slots=True)
class MessageReplaced:
    """replace_sm changed a waiting message."""

    message_id: str
    body: bytes
    data_coding: int
    registered_delivery: int
    validity_until: float | None


@dataclass(frozen=True, slots=True)
class LedgerAppended:
    """A ledger entry; the account's stored balance becomes ``entry.balance_after``."""

    entry: LedgerEntry


@dataclass(frozen=True, slots=True)
class AccountCreated:
    system_id: str
    balance: int
    unit: str
    status: AccountStatus
    settings: str  # JSON of an account created through the admin API; "" for configured accounts
    created_at: float


@dataclass(frozen=True, slots=True)
class AccountStatusSet:
    system_id: str
    status: AccountStatus


@dataclass(frozen=True, slots=True)
class AccountSettingsSet:
    system_id: str
    settings: str


@dataclass(slots=True, init=False)
class DeliveryStored:
    """A receipt or MO owed to an account, kept until its deliver_sm_resp."""

    delivery: Delivery

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery


@dataclass(slots=True, init=False)
class DeliveryDone:
    delivery_id: int

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(self, delivery_id: int) -> None:
        self.delivery_id = delivery_id


@dataclass(frozen=True, slots=True)
class ReportRouteSet:
    """Where the receipts of a message sent over the customer HTTP interface go (its report channel,
    as smppgw.httpapi's channel text); kept so they still go there after a restart."""

    message_id: str
    account: str
    route: str


@dataclass(frozen=True, slots=True)
class HeldAdded:
    held: Held


@dataclass(frozen=True, slots=True)
class HeldDone:
    message_id: str


@dataclass(slots=True, init=False)
class DecisionRecorded:
    message_id: str  # or a refusal's own id ("r<n>") for a submit refused in its response
    account: str
    at: float
    decision: Decision
    category: str
    term: str
    detail: str

    # Written out, not generated, and not frozen: one per message judged, and a frozen record's
    # generated __init__ sets each field through object.__setattr__ (compiled, ~10k instructions).
    def __init__(  # noqa: PLR0917 (the fields in order, as the generated one takes them)
        self, message_id: str, account: str, at: float, decision: Decision, category: str, term: str, detail: str
    ) -> None:
        self.message_id = message_id
        self.account = account
        self.at = at
        self.decision = decision
        self.category = category
        self.term = term
        self.detail = detail


@dataclass(frozen=True, slots=True)
class IncidentRecorded:
    """A case of prohibited content, kept for reporting to the authorities."""

    incident_id: int
    account: str
    at: float
    message_id: str
    category: str
    legal_category: int | None
    term: str
    action: Decision
    source_ip: str
    destination: str
    text: str


@dataclass(frozen=True, slots=True)
class OptoutAdded:
    account: str  # "*" for the global list
    msisdn: str
    source: str
    at: float


@dataclass(frozen=True, slots=True)
class OptoutRemoved:
    account: str
    msisdn: str


@dataclass(frozen=True, slots=True)
class PledgeRecorded:
    """A customer's signed security pledge (信息安全承诺书)."""

    account: str
    signed_on: str
    reference: str
    operator: str
    recorded_at: float


def entry_of(w: object) -> LedgerEntry | None:
    """The ledger entry a write carries, if any: its own, a message's charge or a settlement's refund."""
    if isinstance(w, LedgerAppended):
        return w.entry
    if isinstance(w, MessageAccepted):
        return w.charge
    if isinstance(w, MessageSettled):
        return w.refund
    return None


def with_records_apart(writes: Sequence[Write]) -> list[Write]:
    """The writes with each charge and refund as a ``LedgerAppended`` of its own, each accepted
    message's decision as a ``DecisionRecorded`` and each settlement's receipt as a
    ``DeliveryStored``, in the order the core made them before they travelled with their message
    (for a store keeping them as rows)."""
    out: list[Write] = []
    for w in writes:
        if isinstance(w, MessageAccepted) and (w.charge is not None or w.decision is not None):
            out.append(MessageAccepted(w.message))
            if w.charge is not None:
                out.append(LedgerAppended(w.charge))
            if w.decision is not None:
                out.append(w.decision)
        elif isinstance(w, MessageSettled) and (w.refund is not None or w.receipt is not None):
            if w.refund is not None:
                out.append(LedgerAppended(w.refund))
            # spelled out: dataclasses.replace costs several µs, and most settlements come here
            out.append(MessageSettled(w.message_id, w.state, w.at, w.err, w.code, w.refunded, w.carrier))
            if w.receipt is not None:
                out.append(DeliveryStored(w.receipt))
        else:
            out.append(w)
    return out


Write = (
    MessageAccepted
    | MessageSettled
    | MessageReplaced
    | LedgerAppended
    | AccountCreated
    | AccountStatusSet
    | AccountSettingsSet
    | DeliveryStored
    | DeliveryDone
    | ReportRouteSet
    | HeldAdded
    | HeldDone
    | DecisionRecorded
    | IncidentRecorded
    | OptoutAdded
    | OptoutRemoved
    | PledgeRecorded
)
