"""The certification probe against simulated clients, on simulated time: a good client passes every
check, a bad one fails exactly the checks it gets wrong, and the reports say so in every format."""

from __future__ import annotations

import heapq
import itertools
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import pytest

from smppgw.protocol import pdu as p
from smppgw.protocol.codec import decode, encode
from smppgw.protocol.constants import CommandStatus as S
from smppgw.rig.certify import (
    UNKNOWN_COMMAND_ID,
    Addresses,
    Probe,
    Release,
    Send,
    SendRaw,
    Timings,
    Unbind,
    raw_frame,
)
from smppgw.rig.certify_report import render, report_json


@dataclass
class Behaviour:
    """How the simulated client answers; the defaults are a well-behaved client."""

    answers_enquire_link: bool = True
    ucs2_seq_offset: int = 0  # answers a UCS2 MO with the wrong sequence number
    tlv_only_status: int = S.ESME_ROK
    answers_unknown: bool = True
    answers_generic_nack: bool = False
    backoff: Callable[[int], float] = lambda n: 1.0 * n  # pause before the n-th resubmit
    rebinds_after: float | None = 1.0
    submits: bool = True


@dataclass
class Simulation:
    """The probe, a client and a gateway between them, on one event queue."""

    behaviour: Behaviour
    bind: str = "bind_transceiver"
    now: float = 1000.0
    seq: int = 1
    conn: int = 1
    queue: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    order: itertools.count[int] = field(default_factory=itertools.count)
    released: list[p.Pdu] = field(default_factory=list)
    client_seq: int = 1000
    throttled: tuple[p.SubmitSm, int] | None = None
    messages: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.probe = Probe(account="demo", conn=1, bind=self.bind, now=self.now,
                           timings=Timings(submit_wait=5.0, resubmit_wait=6.0), addresses=Addresses())  # fmt: skip

    def at(self, delay: float, what: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (self.now + delay, next(self.order), what))

    def run(self) -> Probe:
        self.act(self.probe.start(self.now))
        if self.behaviour.submits and self.bind != "bind_receiver":
            self.at(1.0, self.submit_new)
        while not self.probe.done:
            deadline = self.probe.next_deadline()
            if self.queue and (deadline is None or self.queue[0][0] <= deadline):
                self.now, _, what = heapq.heappop(self.queue)
                what()
            else:
                assert deadline is not None
                self.now = deadline
                self.act(self.probe.tick(self.now))
            assert self.now < 2000, "the probe never finished"
        return self.probe

    # ---- the gateway's side ---------------------------------------------------------------

    def act(self, actions: list[object]) -> None:
        for action in actions:
            if isinstance(action, Send):
                pdu = action.pdu.evolve(sequence_number=self.seq)
                self.seq += 1
                self.act(self.probe.sent(pdu, self.now))
                frame = encode(pdu)
                self.at(0.01, lambda f=frame: self.client_gets(f))
            elif isinstance(action, SendRaw):
                self.at(0.01, lambda f=action.frame: self.client_gets(f))
            elif isinstance(action, Release):
                self.released.append(action.response)
            elif isinstance(action, Unbind):
                self.act([Send(p.Unbind())])

    def from_client(self, pdu: p.Pdu | bytes) -> None:
        frame = pdu if isinstance(pdu, bytes) else encode(pdu)
        self.act(self.probe.frame_in(self.conn, frame, self.now))

    def gateway_gets_submit(self, submit: p.SubmitSm) -> None:
        self.from_client(submit)
        answer = self.probe.submitted(self.conn, submit, self.now)
        if answer is not None:
            self.at(0.01, lambda: self.client_gets(encode(answer)))
            return
        response = p.SubmitSmResp(sequence_number=submit.sequence_number, message_id=f"M{next(self.messages)}")
        held, actions = self.probe.submit_answered(self.conn, response, self.now)
        self.act(actions)
        if not held:
            self.at(0.01, lambda: self.client_gets(encode(response)))

    # ---- the client -----------------------------------------------------------------------

    def submit_new(self) -> None:
        if self.throttled is None:
            self.client_seq += 1
            n = self.client_seq
            self.send_submit(p.SubmitSm(sequence_number=n, destination_addr="8613800000001",
                                        short_message=f"hello {n}".encode()))  # fmt: skip
        if not self.probe.done:
            self.at(1.0, self.submit_new)

    def send_submit(self, submit: p.SubmitSm) -> None:
        self.at(0.01, lambda: self.gateway_gets_submit(submit))

    def client_gets(self, frame: bytes) -> None:
        b = self.behaviour
        _, cid, _, seq = struct.unpack(">IIII", frame[:16])
        if cid == UNKNOWN_COMMAND_ID:
            if b.answers_unknown:
                self.at(0.01, lambda: self.from_client(nack(seq)))
            return
        pdu = decode(frame)
        if isinstance(pdu, p.DeliverSm):
            status = b.tlv_only_status if pdu.esm_class == 0x04 and not pdu.short_message else S.ESME_ROK
            offset = b.ucs2_seq_offset if pdu.data_coding == 0x08 else 0
            answer = p.DeliverSmResp(sequence_number=seq + offset, command_status=status)
            self.at(0.01, lambda: self.from_client(answer))
        elif isinstance(pdu, p.EnquireLink):
            if b.answers_enquire_link:
                self.at(0.01, lambda: self.from_client(p.EnquireLinkResp(sequence_number=seq)))
        elif isinstance(pdu, p.GenericNack):
            if b.answers_generic_nack:
                self.at(0.01, lambda: self.from_client(nack(seq)))
        elif isinstance(pdu, p.Unbind):
            self.at(0.01, lambda: self.from_client(p.UnbindResp(sequence_number=seq)))
            self.at(0.05, self.client_closes)
        elif isinstance(pdu, p.SubmitSmResp) and pdu.command_status == S.ESME_RTHROTTLED:
            submit, times = self.throttled or (self.pending_submit(seq), 0)
            self.throttled = (submit, times + 1)
            again = submit.evolve(sequence_number=self.client_seq + 1)
            self.client_seq += 1
            self.at(b.backoff(times + 1), lambda: self.send_submit(again))
        elif isinstance(pdu, p.SubmitSmResp):
            self.throttled = None

    def pending_submit(self, seq: int) -> p.SubmitSm:
        return p.SubmitSm(sequence_number=seq, destination_addr="8613800000001", short_message=f"hello {seq}".encode())

    def client_closes(self) -> None:
        self.act(self.probe.closed(1, self.now))
        if self.behaviour.rebinds_after is not None:
            self.at(self.behaviour.rebinds_after, self.client_rebinds)

    def client_rebinds(self) -> None:
        self.conn = 2
        self.from_client(p.BindTransceiver(sequence_number=1, system_id="demo", password="x"))
        self.act(self.probe.bound(2, "bind_transceiver", self.now))


def nack(seq: int) -> p.GenericNack:
    return p.GenericNack(sequence_number=seq, command_status=S.ESME_RINVCMDID)


def outcomes(probe: Probe) -> dict[str, str]:
    return {v.check: v.outcome.value for v in probe.verdicts}


CHECKS = [
    "enquire_link", "mo.gsm7", "mo.latin1", "mo.ucs2", "mo.udh_long", "mo.message_payload", "receipt.text",
    "receipt.tlv_only", "receipt.duplicate", "receipt.before_submit_resp", "throttling", "generic_nack",
    "unknown_command", "unbind", "rebind",
]  # fmt: skip


def test_a_good_transceiver_passes_every_check() -> None:
    sim = Simulation(Behaviour())
    probe = sim.run()
    assert outcomes(probe) == dict.fromkeys(CHECKS, "pass"), [v.detail for v in probe.verdicts]
    throttling = next(v for v in probe.verdicts if v.check == "throttling")
    assert "pauses of 1.02 s, 2.02 s (growing)" in throttling.detail  # backoff + the two hops
    # The submit_sm_resp held back for the early receipt was sent after it.
    assert [r.command_status for r in sim.released] == [S.ESME_ROK]
    early = next(v for v in probe.verdicts if v.check == "receipt.before_submit_resp")
    directions = [(e.direction, e.summary.split()[0]) for e in early.evidence]
    assert directions == [("out", "deliver_sm"), ("in", "deliver_sm_resp"), ("out", "submit_sm_resp")]


def test_every_check_shows_the_pdus_that_prove_it() -> None:
    probe = Simulation(Behaviour()).run()
    mo = next(v for v in probe.verdicts if v.check == "mo.udh_long")
    assert [e.direction for e in mo.evidence] == ["out", "in", "out", "in"]
    assert mo.evidence[0].summary.startswith("deliver_sm seq=") and "esm_class=0x40" in mo.evidence[0].summary
    assert bytes.fromhex(mo.evidence[1].hex)[4:8] == b"\x80\x00\x00\x05"  # deliver_sm_resp
    tlv_only = next(v for v in probe.verdicts if v.check == "receipt.tlv_only")
    assert "receipted_message_id=CERT0002 message_state=2" in tlv_only.evidence[0].summary
    assert "short_message=0 octets" in tlv_only.evidence[0].summary


def test_a_receiver_gets_not_applicable_for_what_needs_submits() -> None:
    probe = Simulation(Behaviour(), bind="bind_receiver").run()
    expected = dict.fromkeys(CHECKS, "pass")
    expected["receipt.before_submit_resp"] = expected["throttling"] = "not_applicable"
    assert outcomes(probe) == expected
    throttling = next(v for v in probe.verdicts if v.check == "throttling")
    assert throttling.detail == "the client is bound as receiver and does not submit"


def test_a_transceiver_that_never_submits_is_not_graded_on_resubmits() -> None:
    probe = Simulation(Behaviour(submits=False)).run()
    result = outcomes(probe)
    assert result["throttling"] == result["receipt.before_submit_resp"] == "not_applicable"
    assert next(v.detail for v in probe.verdicts if v.check == "throttling") == "no submit_sm within 5 s"


def test_a_bad_client_fails_exactly_what_it_gets_wrong() -> None:
    bad = Behaviour(
        answers_enquire_link=False,
        ucs2_seq_offset=1,
        tlv_only_status=S.ESME_RSYSERR,
        answers_unknown=False,
        answers_generic_nack=True,
        backoff=lambda n: 0.01,
        rebinds_after=None,
    )
    probe = Simulation(bad).run()
    details = {v.check: v.detail for v in probe.verdicts}
    expected = dict.fromkeys(CHECKS, "pass")
    # The early receipt is TLV-only too, so it is refused like the other.
    for check in ("enquire_link", "mo.ucs2", "receipt.tlv_only", "receipt.before_submit_resp", "throttling",
                  "generic_nack", "unknown_command", "rebind"):  # fmt: skip
        expected[check] = "fail"
    assert outcomes(probe) == expected, details
    assert details["enquire_link"].startswith("no enquire_link_resp with sequence number 1 within 5 s")
    assert "answers to other numbers" in details["mo.ucs2"]
    assert details["receipt.tlv_only"] == "answered with status ESME_RSYSERR, expected ESME_ROK"
    assert details["throttling"] == "resubmitted without backing off: pauses 0.03 s, 0.03 s, at least 0.5 s expected"
    assert details["generic_nack"] == "the client answered a generic_nack (a response needs none)"
    assert details["rebind"] == "no new bind within 30 s"


def test_a_client_that_drops_the_connection_fails_the_rest() -> None:
    sim = Simulation(Behaviour())
    sim.act(sim.probe.start(sim.now))
    sim.now += 0.1
    sim.act(sim.probe.closed(1, sim.now))
    result = outcomes(sim.probe)
    assert result["enquire_link"] == "fail"
    assert result["mo.gsm7"] == "not_applicable"
    assert sim.probe.current == "rebind"
    sim.act(sim.probe.tick(sim.now + 30))
    assert outcomes(sim.probe)["rebind"] == "fail" and sim.probe.done


def test_the_reports_in_json_text_and_junit() -> None:
    probe = Simulation(Behaviour(answers_unknown=False), bind="bind_receiver").run()
    report = report_json(probe, run_id=7, peer="127.0.0.1:5000")
    assert report["passed"] is False
    assert report["counts"] == {"pass": 12, "fail": 1, "not_applicable": 2}
    assert json.loads(render(report, "json")) == report
    text = render(report, "text")
    assert "certification 7 of account demo (bind_receiver from 127.0.0.1:5000): FAILED" in text
    assert "FAIL unknown_command" in text and "N/A  throttling" in text
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("15", "1", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == CHECKS
    failure = cases["unknown_command"].find("failure")
    assert failure is not None and "no generic_nack with sequence number" in (failure.get("message") or "")
    assert cases["throttling"].find("skipped") is not None
    assert "deliver_sm_resp" in (cases["mo.gsm7"].findtext("system-out") or "")


def test_bad_timings_and_formats_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="response must be a positive number"):
        Timings(response=0)
    with pytest.raises(ValueError, match="throttle_count must be at least 1"):
        Timings(throttle_count=0)
    probe = Simulation(Behaviour()).run()
    with pytest.raises(ValueError, match="format must be one of text, json, junit"):
        render(report_json(probe, run_id=1, peer="-"), "xml")


def test_a_raw_frame_is_a_header_and_a_body() -> None:
    assert raw_frame(UNKNOWN_COMMAND_ID, 0, 9) == bytes.fromhex("00000010000002000000000000000009")
