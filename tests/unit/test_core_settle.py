"""Settling a message (carrier reports, cancel), its receipt, query and replace, and top-ups."""

from __future__ import annotations

from core_fakes import NOW, build

from smppgw.billing.ledger import LedgerEntry, Refused
from smppgw.carriers.model import Outcome
from smppgw.model import DeliveryKind, MessageState
from smppgw.pipeline.gateway import RECENT_SETTLED
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import ESM_CLASS_INTERMEDIATE, ESM_CLASS_RECEIPT, CommandStatus
from smppgw.protocol.receipt import parse_receipt
from smppgw.writes import MessageReplaced, MessageSettled, entry_of


def test_delivered_keeps_the_charge_and_sends_a_delivrd_receipt() -> None:
    core = build()
    message = core.accept(registered_delivery=1)
    settlement = core.report(message, MessageState.DELIVERED, NOW + 3)
    assert settlement.message.state is MessageState.DELIVERED and settlement.message.refunded == 0
    assert core.balance() == 1000 - 45
    (settled,) = settlement.writes  # the receipt is written with the message's final state
    receipt = settlement.delivery
    assert isinstance(settled, MessageSettled) and receipt is not None and settled.receipt is receipt
    assert receipt.created_at == NOW + 3 and receipt.err == settlement.message.err
    assert (receipt.kind, receipt.esm_class, receipt.state) == (DeliveryKind.RECEIPT, ESM_CLASS_RECEIPT, 2)
    assert (receipt.source_addr, receipt.destination_addr) == (message.destination_addr, message.source_addr)
    fields = parse_receipt(receipt.body)
    assert (fields.message_id, fields.stat, fields.err) == (message.message_id, "DELIVRD", "000")


def test_undelivered_is_refunded_by_the_default_policy_expired_is_not() -> None:
    core = build()
    lost = core.accept(registered_delivery=1)
    settlement = core.report(lost, MessageState.UNDELIVERABLE, NOW + 3, err=1)
    (refund,) = [w.refund for w in settlement.writes if isinstance(w, MessageSettled) and w.refund]
    assert (refund.amount, settlement.message.refunded) == (45, 45)
    assert core.balance() == 1000
    assert settlement.delivery is not None and parse_receipt(settlement.delivery.body).stat == "UNDELIV"

    expired = core.accept()
    settled = core.report(expired, MessageState.EXPIRED, NOW + 3)
    assert not any(entry_of(w) for w in settled.writes)
    assert settled.delivery is None  # no receipt asked for
    assert core.balance() == 1000 - 45


def test_the_refund_policy_names_the_states_it_refunds() -> None:
    core = build(refund_states=("EXPIRED",))
    expired = core.accept()
    core.report(expired, MessageState.EXPIRED, NOW + 3)
    undelivered = core.accept()
    core.report(undelivered, MessageState.UNDELIVERABLE, NOW + 3)
    assert core.balance() == 1000 - 45


def test_a_duplicate_report_settles_nothing_twice() -> None:
    core = build()
    message = core.accept()
    core.report(message, MessageState.UNDELIVERABLE, NOW + 3)
    again = Outcome(MessageState.UNDELIVERABLE, 1, "")
    assert core.gateway.on_carrier_report(message.message_id, again, NOW + 4) is None
    assert core.balance() == 1000


def test_an_intermediate_receipt_when_the_client_asks_for_one() -> None:
    core = build()
    plain = core.accept(registered_delivery=1)
    assert core.gateway.on_carrier_accept(plain.message_id, NOW + 1) is None
    asked = core.accept(registered_delivery=0x11)
    receipt = core.gateway.on_carrier_accept(asked.message_id, NOW + 1)
    assert receipt is not None
    assert (receipt.esm_class, receipt.state) == (ESM_CLASS_INTERMEDIATE, int(MessageState.ENROUTE))
    assert parse_receipt(receipt.body).stat == "ENROUTE"


def test_query_answers_the_state_and_an_unknown_or_foreign_id_is_none() -> None:
    core = build()
    message = core.accept()
    answer = core.gateway.query("acme", message.message_id)
    assert answer is not None and (answer.state, answer.final_date) == (int(MessageState.ENROUTE), "")
    assert core.gateway.query("other", message.message_id) is None
    assert core.gateway.query("acme", "ffffffffffffff") is None
    core.report(message, MessageState.DELIVERED, NOW + 3)
    answer = core.gateway.query("acme", message.message_id)  # final, its commit in flight
    assert answer is not None and answer.state == int(MessageState.DELIVERED) and answer.final_date


def test_cancel_takes_a_waiting_message_back_with_all_its_money() -> None:
    core = build()
    message = core.accept(registered_delivery=1)
    status = core.gateway.cancel("acme", p.CancelSm(sequence_number=2, message_id=message.message_id), NOW + 1)
    assert status == CommandStatus.ESME_ROK
    assert message.message_id not in core.carriers["CMCC"].jobs
    (settlement,) = core.settlements()
    assert settlement.message.state is MessageState.DELETED
    assert settlement.delivery is None  # no receipt for a cancelled message
    assert core.balance() == 1000
    again = core.gateway.cancel("acme", p.CancelSm(sequence_number=3, message_id=message.message_id), NOW + 2)
    assert again == CommandStatus.ESME_RCANCELFAIL
    foreign = core.gateway.cancel("other", p.CancelSm(sequence_number=4, message_id=message.message_id), NOW + 2)
    assert foreign == CommandStatus.ESME_RINVMSGID


def test_replace_changes_a_waiting_message_within_its_segments() -> None:
    core = build()
    message = core.accept(b"first text")
    replace = p.ReplaceSm(sequence_number=2, message_id=message.message_id, short_message=b"second text")
    assert core.gateway.replace_message("acme", replace, NOW + 1) == CommandStatus.ESME_ROK
    (write,) = core.effects.take()[0]
    assert isinstance(write, MessageReplaced) and write.body == b"second text"
    assert core.gateway.active[message.message_id].body == b"second text"
    longer = p.ReplaceSm(sequence_number=3, message_id=message.message_id, short_message=b"a" * 200)
    assert core.gateway.replace_message("acme", longer, NOW + 1) == CommandStatus.ESME_RREPLACEFAIL


def test_a_topup_credits_once_per_reference() -> None:
    core = build()
    entry = core.gateway.topup("acme", 500, "BANK-1", "ops", NOW)
    assert isinstance(entry, LedgerEntry) and entry.balance_after == 1500
    again = core.gateway.topup("acme", 500, "BANK-1", "ops", NOW)
    assert isinstance(again, Refused) and again.reason == "duplicate_reference"
    assert core.balance() == 1500
    unknown = core.gateway.topup("nobody", 500, "BANK-2", "ops", NOW)
    assert isinstance(unknown, Refused) and unknown.reason == "unknown_account"


def test_a_settled_message_stays_at_hand_for_its_receipt_once_committed() -> None:
    # The receipt goes out after the settlement's commit: the core answers for the final message
    # itself then, without a read from the store (which here knows nothing).
    core = build()
    message = core.accept(registered_delivery=1)
    settlement = core.report(message, MessageState.DELIVERED, NOW + 3)
    core.gateway.settled(settlement)
    found = core.gateway.find(message.message_id)
    assert found is not None and found.state is MessageState.DELIVERED and found.final_at == NOW + 3


def test_the_last_settled_messages_are_answered_from_memory_the_older_ones_by_the_store() -> None:
    core = build(balance=45 * (RECENT_SETTLED + 2))
    messages = []
    for i in range(RECENT_SETTLED + 2):
        message = core.accept(now=NOW + i / 1000)
        core.gateway.settled(core.report(message, MessageState.DELIVERED, NOW + 5))
        messages.append(message)
    # This core's store holds nothing: what it answers, it answers from memory.
    assert [core.gateway.query("acme", m.message_id) for m in messages[:2]] == [None, None]
    answers = [core.gateway.query("acme", m.message_id) for m in messages[2:]]
    assert all(a is not None and a.state == int(MessageState.DELIVERED) for a in answers)
