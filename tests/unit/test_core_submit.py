"""The core's submit rules, each as a client would see it: the status, the charge, the carrier."""

from __future__ import annotations

from core_fakes import MSISDN, NOW, NUMBER, SERVICE_NUMBER, build

from smppgw.config import AccountConfig
from smppgw.model import AccountStatus, Decision, DeliveryKind
from smppgw.pipeline.gateway import Accepted, Rejected
from smppgw.protocol.constants import CommandStatus
from smppgw.writes import DecisionRecorded, MessageAccepted, OptoutAdded


def test_one_segment_is_charged_its_carriers_price_and_written_with_the_message() -> None:
    core = build()
    result = core.submit(b"hello")
    assert isinstance(result, Accepted)
    message = result.message
    assert (message.carrier, message.segments, message.price, message.charge) == ("CMCC", 1, 45, 45)
    assert core.balance() == 1000 - 45
    kinds = [type(w) for w in result.writes]
    assert kinds[:1] == [MessageAccepted]  # the message and its charge: one write
    (charge,) = [w.charge for w in result.writes if isinstance(w, MessageAccepted) and w.charge]
    assert (charge.amount, charge.balance_after) == (-45, 955)


def test_each_segment_of_a_long_text_is_charged() -> None:
    core = build()
    result = core.submit(b"a" * 200)  # GSM 7-bit: 2 parts of at most 153 characters
    assert isinstance(result, Accepted)
    assert (result.message.segments, result.message.charge) == (2, 90)
    assert core.balance() == 1000 - 90


def test_a_balance_too_low_refuses_the_submit_and_charges_nothing() -> None:
    core = build(balance=50)
    result = core.submit(b"a" * 200)
    assert result == Rejected(CommandStatus.SMPPGW_RNOBALANCE, "insufficient_funds")
    assert core.balance() == 50
    assert core.gateway.active == {}
    assert isinstance(core.submit(b"short"), Accepted)  # one segment still fits
    assert core.balance() == 5


def test_a_carrier_that_is_down_hands_its_traffic_to_its_failover() -> None:
    core = build()
    core.carriers["CMCC"].is_up = False
    message = core.accept()
    assert (message.carrier, message.home_carrier, message.price) == ("CUCC", "CMCC", 40)
    assert message.message_id in core.carriers["CUCC"].jobs


def test_all_carriers_of_a_route_down_queue_at_the_primary_or_refuse() -> None:
    queued = build(when_all_down="queue")
    for code in ("CMCC", "CUCC"):
        queued.carriers[code].is_up = False
    assert queued.accept().carrier == "CMCC"

    refusing = build(when_all_down="reject")
    for code in ("CMCC", "CUCC"):
        refusing.carriers[code].is_up = False
    assert refusing.submit() == Rejected(CommandStatus.ESME_RSYSERR, "carrier CMCC is down")
    assert refusing.balance() == 1000


def test_a_full_carrier_queue_refuses_at_submit() -> None:
    core = build(queue_limit=2)
    core.carriers["CMCC"].queue_depth = 2
    result = core.submit()
    assert isinstance(result, Rejected) and result.status == CommandStatus.ESME_RMSGQFUL


def test_submits_accepted_while_their_commit_is_in_flight_count_against_a_filling_queue() -> None:
    # A window's worth of submits is accepted before any of them is released to the carrier: while
    # the carrier is down, the ones still committing must count, or the queue limit is overrun.
    core = build(queue_limit=3)
    core.carriers["CMCC"].is_up = False
    core.carriers["CUCC"].is_up = False
    accepted = [core.submit() for _ in range(3)]
    assert all(isinstance(a, Accepted) for a in accepted)
    refused = core.submit()
    assert isinstance(refused, Rejected) and refused.status == CommandStatus.ESME_RMSGQFUL
    first = accepted[0]
    assert isinstance(first, Accepted)
    core.gateway.abort(first.message)  # its commit failed: its place is free again
    assert isinstance(core.submit(), Accepted)


def test_a_carrier_that_takes_messages_at_once_is_not_limited_by_submits_in_flight() -> None:
    core = build(queue_limit=3)
    assert all(isinstance(core.submit(), Accepted) for _ in range(10))


def test_a_carrier_that_refuses_the_hand_over_gets_it_again_a_second_later() -> None:
    core = build()
    carrier = core.carriers["CMCC"]
    carrier.refusing = True
    message = core.accept()
    assert core.gateway.next_deadline() == NOW + 1.0
    carrier.refusing = False
    core.gateway.handle_deadlines(NOW + 0.5)
    assert message.message_id not in carrier.jobs  # not before its time
    core.gateway.handle_deadlines(NOW + 1.0)
    assert message.message_id in carrier.jobs
    assert core.gateway.next_deadline() is None


def test_throughput_is_a_token_bucket_of_one_seconds_worth() -> None:
    core = build(account=AccountConfig("acme", "secret", throughput=2.0))
    assert isinstance(core.submit(now=NOW), Accepted)
    assert isinstance(core.submit(now=NOW), Accepted)
    assert core.submit(now=NOW) == Rejected(CommandStatus.ESME_RTHROTTLED, "over the account's throughput")
    assert isinstance(core.submit(now=NOW + 0.5), Accepted)  # half a second buys one more
    assert core.balance() == 1000 - 3 * 45


def test_a_source_address_must_be_one_of_the_accounts_service_numbers() -> None:
    core = build()
    result = core.submit(source_addr="10086")
    assert isinstance(result, Rejected) and result.status == CommandStatus.ESME_RINVSRCADR


def test_a_registered_signature_is_required_when_the_account_says_so() -> None:
    core = build(account=AccountConfig("acme", "secret", signatures=("【ACME】",), signature_required=True))
    refused = core.submit("你好".encode("utf-16-be"), data_coding=8)
    assert refused == Rejected(CommandStatus.SMPPGW_RNOSIGNATURE, "no registered signature")
    writes = core.effects.take()[0]
    (decision,) = [w for w in writes if isinstance(w, DecisionRecorded)]
    assert (decision.decision, decision.category) == (Decision.REJECTED, "signature")
    assert decision.message_id.startswith("refused-")
    assert isinstance(core.submit("【ACME】你好".encode("utf-16-be"), data_coding=8), Accepted)


def test_a_number_on_an_opt_out_list_is_refused() -> None:
    core = build()
    core.compliance.add_optout("acme", "+86 138 0013 8000", "api", NOW)
    assert core.submit() == Rejected(CommandStatus.SMPPGW_ROPTEDOUT, "the recipient opted out")
    (decision,) = [w for w in core.effects.take()[0] if isinstance(w, DecisionRecorded)]
    assert decision.decision is Decision.OPTED_OUT
    core.compliance.remove_optout("acme", NUMBER)
    assert isinstance(core.submit(), Accepted)
    core.compliance.add_optout("*", NUMBER, "api", NOW)  # the global list counts for every account
    assert isinstance(core.submit(), Rejected)


def test_an_mo_opt_out_word_puts_the_sender_on_the_accounts_list() -> None:
    core = build()
    delivery = core.gateway.mobile_originated("+" + MSISDN, SERVICE_NUMBER, "TD", NOW)
    assert not isinstance(delivery, str)
    assert (delivery.kind, delivery.account, delivery.destination_addr) == (DeliveryKind.MO, "acme", SERVICE_NUMBER)
    core.gateway.mo_optout(delivery, "TD", NOW)
    assert OptoutAdded("acme", MSISDN, "mo", NOW) in core.effects.take()[0]
    assert isinstance(core.submit(), Rejected)
    assert core.gateway.mobile_originated("+" + MSISDN, "95555", "hi", NOW) == "no account has service number 95555"


def test_a_suspended_account_is_refused_and_the_refusal_recorded() -> None:
    core = build()
    core.accounts.set_status("acme", AccountStatus.SUSPENDED)
    assert core.submit() == Rejected(CommandStatus.SMPPGW_RSUSPENDED, "account is suspended")
    (decision,) = core.effects.take()[0]
    assert isinstance(decision, DecisionRecorded) and decision.category == "account"


def test_a_scheduled_message_goes_to_its_carrier_at_its_time() -> None:
    core = build()
    message = core.accept(schedule_delivery_time="000000000010000R")  # 10 s from now
    carrier = core.carriers["CMCC"]
    assert message.message_id not in carrier.jobs
    assert core.gateway.next_deadline() == NOW + 10
    core.gateway.handle_deadlines(NOW + 9.9)
    assert message.message_id not in carrier.jobs
    core.gateway.handle_deadlines(NOW + 10)
    assert message.message_id in carrier.jobs


def test_the_rigs_submit_gate_refuses_with_its_status() -> None:
    core = build(submit_gate=lambda carrier, now: CommandStatus.ESME_RTHROTTLED if carrier == "CMCC" else 0)
    assert core.submit() == Rejected(CommandStatus.ESME_RTHROTTLED, "carrier CMCC refused it (scenario)")
