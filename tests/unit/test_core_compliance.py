"""Compliance as the core applies it: reviews, long messages, receipt refusals, suspension, restarts."""

from __future__ import annotations

from core_fakes import NOW, build

from smppgw.config import ContentConfig
from smppgw.model import AccountStatus, Decision, HeldForReview, HeldReject, MessageState
from smppgw.pipeline.gateway import Accepted, Rejected
from smppgw.protocol.constants import CommandStatus
from smppgw.protocol.receipt import parse_receipt
from smppgw.writes import AccountStatusSet, DecisionRecorded, HeldAdded, HeldDone, IncidentRecorded, MessageAccepted

LONG = 0x40  # esm_class UDHI


def part(ref: int, total: int, seq: int, text: bytes) -> bytes:
    return bytes([5, 0, 3, ref, total, seq]) + text


def decisions(core: object) -> list[DecisionRecorded]:
    return [w for w in core.effects.take()[0] if isinstance(w, DecisionRecorded)]  # type: ignore[attr-defined]


def test_a_message_held_for_review_waits_until_an_operator_approves_it() -> None:
    core = build()
    message = core.accept(b"casino night")
    assert message.message_id not in core.carriers["CMCC"].jobs
    (held,) = core.compliance.review_items()
    assert (held.message_id, held.category, held.term) == (message.message_id, "gambling", "casino")
    assert core.gateway.decide(message.message_id, True, "alice", NOW + 5) == [message.message_id]
    assert message.message_id in core.carriers["CMCC"].jobs
    writes = core.effects.take()[0]
    assert HeldDone(message.message_id) in writes
    (approved,) = [w for w in writes if isinstance(w, DecisionRecorded)]
    assert (approved.decision, approved.detail) == (Decision.APPROVED, "approved by alice")
    assert core.compliance.review_items() == []


def test_a_rejected_review_sends_a_rejectd_receipt_and_refunds_the_charge() -> None:
    core = build()
    message = core.accept(b"casino night", registered_delivery=1)
    assert core.balance() == 1000 - 45
    core.gateway.decide(message.message_id, False, "alice", NOW + 5)
    (settlement,) = core.settlements()
    assert settlement.message.state is MessageState.REJECTED
    assert settlement.delivery is not None
    receipt = parse_receipt(settlement.delivery.body)
    assert (receipt.stat, receipt.err) == ("REJECTD", "003")
    assert core.balance() == 1000
    assert core.gateway.decide(message.message_id, True, "bob", NOW + 6) is None  # decided already


def test_a_review_times_out_by_the_configured_action() -> None:
    rejecting = build()
    message = rejecting.accept(b"casino night")
    assert rejecting.gateway.next_deadline() == NOW + 1800
    rejecting.gateway.handle_deadlines(NOW + 1799)
    assert rejecting.settlements() == []
    rejecting.gateway.handle_deadlines(NOW + 1800)
    (settlement,) = rejecting.settlements()
    assert (settlement.message.message_id, settlement.message.state) == (message.message_id, MessageState.REJECTED)

    approving = build(content=ContentConfig(review_timeout=60, review_timeout_action="approve"))
    message = approving.accept(b"casino night")
    approving.gateway.handle_deadlines(NOW + 60)
    assert message.message_id in approving.carriers["CMCC"].jobs
    assert approving.gateway.next_deadline() is None


def test_the_parts_of_a_long_message_wait_for_each_other_and_are_judged_whole() -> None:
    core = build()
    first = core.accept(part(42, 2, 1, b"welcome to our cas"), esm_class=LONG)
    assert first.message_id not in core.carriers["CMCC"].jobs
    assert core.gateway.next_deadline() == NOW + 60  # concat_timeout
    second = core.accept(part(42, 2, 2, b"ino tonight"), esm_class=LONG, now=NOW + 1)
    # "casino" spans the two parts: the whole message goes to review, held together.
    assert not core.carriers["CMCC"].jobs
    (review,) = {h.group for h in core.compliance.review_items()}
    assert review == first.message_id
    assert sorted(core.compliance.group_of(second.message_id)) == sorted([first.message_id, second.message_id])
    core.gateway.decide(second.message_id, True, "alice", NOW + 2)
    assert set(core.carriers["CMCC"].jobs) == {first.message_id, second.message_id}


def test_a_clean_long_message_goes_out_once_its_last_part_is_in() -> None:
    core = build()
    first = core.accept(part(7, 2, 1, b"hello "), esm_class=LONG)
    second = core.accept(part(7, 2, 2, b"world"), esm_class=LONG)
    assert set(core.carriers["CMCC"].jobs) == {first.message_id, second.message_id}
    writes = core.effects.take()[0]
    assert HeldDone(first.message_id) in writes
    assert HeldDone(second.message_id) in writes


def test_parts_that_never_complete_are_judged_as_they_are_at_the_deadline() -> None:
    core = build()
    first = core.accept(part(9, 3, 1, b"hello "), esm_class=LONG)
    core.gateway.handle_deadlines(NOW + 59)
    assert not core.carriers["CMCC"].jobs
    core.gateway.handle_deadlines(NOW + 60)
    assert first.message_id in core.carriers["CMCC"].jobs
    (decision,) = decisions(core)
    assert decision.detail.startswith("timed out waiting for parts; whole message: ")


def test_a_reused_reference_lets_the_unfinished_message_go_and_holds_the_new_one() -> None:
    core = build()
    earlier = core.accept(part(5, 2, 1, b"first try "), esm_class=LONG)
    later = core.accept(part(5, 2, 1, b"second try "), esm_class=LONG, now=NOW + 1)
    jobs = core.carriers["CMCC"].jobs
    assert earlier.message_id in jobs and later.message_id not in jobs
    (decision,) = decisions(core)
    assert decision.detail.startswith("its reference was reused before all parts came; ")


def test_receipt_mode_content_is_accepted_free_and_refused_by_receipt() -> None:
    core = build()
    result = core.submit(b"fakeinvoice here", registered_delivery=1)
    assert isinstance(result, Accepted)
    assert core.balance() == 1000  # never charged
    (held,) = [w.held for w in result.writes if isinstance(w, HeldAdded)]
    assert isinstance(held, HeldReject) and (held.err, held.code) == (5, "MK:0014")
    core.gateway.release(result.message, NOW)
    (settlement,) = core.settlements()
    assert settlement.delivery is not None
    receipt = parse_receipt(settlement.delivery.body)
    assert (receipt.stat, receipt.err) == ("REJECTD", "005")
    assert not core.carriers["CMCC"].jobs


def test_a_flagged_word_is_delivered_and_recorded() -> None:
    core = build()
    result = core.submit(b"cheap loan today")
    assert isinstance(result, Accepted)
    (accepted,) = [w for w in result.writes if isinstance(w, MessageAccepted)]
    decision = accepted.decision  # stored with its message
    assert decision is not None and (decision.decision, decision.category) == (Decision.FLAGGED, "finance")
    assert not [w for w in result.writes if isinstance(w, DecisionRecorded)]
    core.gateway.release(result.message, NOW)
    assert result.message.message_id in core.carriers["CMCC"].jobs


def test_prohibited_content_refuses_the_submit_and_suspends_the_account() -> None:
    core = build()
    result = core.submit("颠覆国家政权".encode("utf-16-be"), data_coding=8)
    assert isinstance(result, Rejected) and result.status == CommandStatus.SMPPGW_RCONTENT
    assert core.accounts.get("acme").status is AccountStatus.SUSPENDED  # type: ignore[union-attr]
    writes, _, suspended = core.effects.take()
    (incident,) = [w for w in writes if isinstance(w, IncidentRecorded)]
    assert (incident.action, incident.legal_category, incident.source_ip) == (Decision.SUSPENDED, 2, "192.0.2.1")
    assert AccountStatusSet("acme", AccountStatus.SUSPENDED) in writes
    assert [s.account for s in suspended] == ["acme"]  # its sessions are to be unbound
    assert core.balance() == 1000
    refused = core.submit(b"hello")
    assert isinstance(refused, Rejected) and refused.status == CommandStatus.SMPPGW_RSUSPENDED
    core.compliance.reinstate("acme")
    assert isinstance(core.submit(b"hello"), Accepted)


def test_after_a_restart_held_messages_keep_their_deadlines_and_refusals_go_out() -> None:
    core = build()
    held = core.accept(b"casino night")
    refused = core.accept(b"fakeinvoice")
    core.effects.take()
    # A new core over what the store kept: the two messages and their held rows.
    again = build()
    entries = [
        HeldForReview(held.message_id, "acme", held.message_id, "gambling", "casino", NOW, NOW + 1800),
        HeldReject(refused.message_id, "acme", "MK:0014", 5, NOW),
    ]
    again.compliance.restore([], entries)
    again.gateway.resume([held, refused], NOW + 100)
    assert not again.carriers["CMCC"].jobs
    (settlement,) = again.settlements()
    assert settlement.message.message_id == refused.message_id
    assert again.gateway.next_deadline() == NOW + 1800
