"""The client scorecard of a CMPP session, fed the packets both ways as the listener's tap sees
them: each packet read as the SMPP PDU it stands for, the findings worded in CMPP terms, in the
2.0 and the 3.0 layout."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cmpp_client import connect_packet, submit

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import encode
from smppgw.cmpp.constants import Result, Version
from smppgw.config.rig import ScorecardRules
from smppgw.rig.cmpp_scorecard import CmppScorecard
from smppgw.rig.scorecard import Scorecards


def open_card(account: list[str | None]) -> CmppScorecard:
    cards = Scorecards()
    card = cards.open(
        "127.0.0.1:5000", "127.0.0.1", 0.0, lambda: account[0], kind=CmppScorecard,
        rules=replace(ScorecardRules(), window=16),
    )  # fmt: skip
    assert isinstance(card, CmppScorecard)
    return card


@pytest.mark.parametrize("version", [Version.V20, Version.V30])
def test_a_throttled_client_that_keeps_sending_and_hangs_up_is_named_in_cmpp_terms(version: Version) -> None:
    account: list[str | None] = [None]
    card = open_card(account)
    card.frame_in(encode(connect_packet(version=version), Version.V30), 0.0)
    account[0] = "demo"
    card.frame_out(encode(pk.ConnectResp(sequence_id=1, version=version), version), 0.0)
    for seq in range(2, 22):  # 20 SUBMITs at once: 4 beyond the window of 16
        card.frame_in(encode(submit(seq), version), 0.1)
    for seq in range(2, 22):
        card.frame_out(encode(pk.SubmitResp(sequence_id=seq, result=Result.FLOW_CONTROL), version), 0.1)
    for seq in range(22, 40):  # 18 more within 1 s of Result 8: a window's worth forgiven, 2 ignored it
        card.frame_in(encode(submit(seq), version), 0.2)
        card.frame_out(encode(pk.SubmitResp(sequence_id=seq, result=Result.FLOW_CONTROL), version), 0.2)
    card.frame_in(encode(pk.ActiveTest(sequence_id=50), version), 0.3)
    card.frame_in(encode(pk.ActiveTest(sequence_id=51), version), 0.4)
    card.frame_out(encode(pk.Deliver(sequence_id=7, content=b"mo"), version), 0.5)  # never answered
    card.close(1.0)
    j = card.to_json()
    assert j["protocol"] == "cmpp" and j["account"] == "demo"
    counts = j["counts"]
    assert (counts["submits"], counts["window_overruns"], counts["throttled"]) == (38, 4, 38)
    assert (counts["ignored_throttles"], counts["enquire_too_often"], counts["deliver_never"]) == (2, 1, 1)
    assert j["faults"] == [
        "window overrun: 4 requests beyond a window of 16",
        "ignored throttling: 2 submits within 1 s of Result 8",
        "ACTIVE_TEST too often: 1 within 1 s",
        "DELIVER never answered: 1",
        "TERMINATE etiquette: closed without TERMINATE",
    ]
    assert j["ending"] == "closed without TERMINATE"


def test_a_clean_session_ends_terminated_by_the_client() -> None:
    account: list[str | None] = [None]
    card = open_card(account)
    card.frame_in(encode(connect_packet(), Version.V30), 0.0)
    account[0] = "demo"
    card.frame_out(encode(pk.ConnectResp(sequence_id=1), Version.V30), 0.0)
    card.frame_in(encode(submit(2), Version.V30), 0.1)
    card.frame_out(encode(pk.SubmitResp(sequence_id=2, msg_id=1), Version.V30), 0.1)
    card.frame_out(encode(pk.Deliver(sequence_id=1, content=b"mo"), Version.V30), 0.2)
    card.frame_in(encode(pk.DeliverResp(sequence_id=1), Version.V30), 0.3)
    card.frame_in(encode(pk.Terminate(sequence_id=3), Version.V30), 0.4)
    card.frame_out(encode(pk.TerminateResp(sequence_id=3), Version.V30), 0.4)
    card.close(0.5)
    j = card.to_json()
    assert j["clean"] and j["faults"] == [] and j["ending"] == "terminated by the client"
    assert j["counts"]["deliver_sent"] == 1 and j["counts"]["deliver_errors"] == 0


def test_a_submit_sent_again_on_a_later_session_is_a_resubmit_and_one_asking_a_receipt_is_not() -> None:
    cards = Scorecards()
    rules = replace(ScorecardRules(), window=16)
    counts = []
    for registered_delivery in (0, 0, 1):  # the same packet twice, then asking for a receipt
        card = cards.open("127.0.0.1:5000", "127.0.0.1", 0.0, lambda: "demo", kind=CmppScorecard, rules=rules)
        card.frame_in(encode(connect_packet(), Version.V30), 0.0)
        card.frame_out(encode(pk.ConnectResp(sequence_id=1), Version.V30), 0.0)
        card.frame_in(encode(submit(2, content=b"hello", registered_delivery=registered_delivery), Version.V30), 0.1)
        card.close(0.2)
        counts.append(card.to_json()["counts"]["resubmits"])
    # Every octet but the sequence id counts: Registered_Delivery is the body's eleventh.
    assert counts == [0, 1, 0]
