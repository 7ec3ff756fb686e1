"""Client certification: a scripted probe of a bound SMPP client, as a pure state machine.

The probe sends the client receipts and MO in every encoding and shape, an enquire_link, a
generic_nack, an unknown command and an unbind, refuses its submits with ESME_RTHROTTLED for a
while, holds a submit_sm_resp back to send its receipt first, and grades each answer: the right
response PDU, its sequence number and status, in time; the resubmits' backoff; the rebind.

No clock, no socket, no Twisted: events come in with the time as an argument (``frame_in``,
``submitted``, ``submit_answered``, ``closed``, ``bound``, ``tick``); what to do comes out as
actions (``Send``, ``SendRaw``, ``Release``, ``Unbind``), and the verdicts in ``report()``.  A
driver sends a ``Send`` through the connection's session and tells the probe which sequence
number it got (``sent``).
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from enum import Enum

from ..protocol import pdu as p
from ..protocol.codec import decode, encode
from ..protocol.constants import CommandId, CommandStatus, Tag, status_name
from ..protocol.errors import PduDecodeError

S = CommandStatus

UNKNOWN_COMMAND_ID = 0x00000200  # reserved in SMPP 3.4 (section 5.1.2.1): no client knows it
RAW_SEQUENCE_BASE = 0x7FFF0000  # raw frames' sequence numbers, far from the session's own


class Outcome(Enum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Timings:
    """``response``: how long an answer may take; ``submit_wait``: how long to wait for a submit
    (steps that need one are not applicable without); ``resubmit_wait``: for a throttled message
    to come again; ``min_backoff``: the least pause before a resubmit; ``rebind_wait``: for a new
    bind after the unbind; ``throttle_count``: how many times a message is refused; ``quiet``: how
    long a PDU that needs no answer is watched for a wrong one."""

    response: float = 5.0
    submit_wait: float = 10.0
    resubmit_wait: float = 20.0
    min_backoff: float = 0.5
    rebind_wait: float = 30.0
    throttle_count: int = 2
    quiet: float = 0.5

    def __post_init__(self) -> None:
        for name in ("response", "submit_wait", "resubmit_wait", "rebind_wait", "quiet"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {getattr(self, name)!r}")
        if self.min_backoff < 0:
            raise ValueError(f"min_backoff must not be negative, got {self.min_backoff!r}")
        if self.throttle_count < 1:
            raise ValueError(f"throttle_count must be at least 1, got {self.throttle_count!r}")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One PDU that proves a verdict: ``direction`` "out" (gateway to client) or "in"."""

    at: float  # seconds since the probe started
    direction: str
    hex: str
    summary: str


@dataclass(frozen=True, slots=True)
class Verdict:
    check: str
    title: str
    outcome: Outcome
    detail: str
    duration: float
    evidence: tuple[Evidence, ...]


# ---- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``pdu`` as a request on the probed connection; report its sequence number to ``sent``."""

    pdu: p.Pdu


@dataclass(frozen=True, slots=True)
class SendRaw:
    """Write ``frame`` as it is on the probed connection (a PDU the session would not send)."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class Release:
    """Send the submit response held back on connection ``conn``."""

    conn: int
    response: p.Pdu


@dataclass(frozen=True, slots=True)
class Unbind:
    """Unbind the probed connection from the gateway's side."""


Action = Send | SendRaw | Release | Unbind


# ---- decoding for the report --------------------------------------------------------------------


def summarize(frame: bytes) -> str:
    """One line naming a PDU's command, sequence number, status and the fields that matter here."""
    try:
        pdu = decode(frame)
    except PduDecodeError as err:
        if len(frame) >= 16:
            _, cid, status, seq = struct.unpack(">IIII", frame[:16])
            return f"command 0x{cid:08x} seq={seq} status={status_name(status)} (not decodable: {err})"
        return f"not decodable: {err}"
    return summarize_pdu(pdu)


def summarize_pdu(pdu: p.Pdu) -> str:
    parts = [pdu.command_id.name.lower(), f"seq={pdu.sequence_number}", f"status={status_name(pdu.command_status)}"]
    if isinstance(pdu, p.SubmitSm | p.DeliverSm):
        parts += [f"esm_class=0x{pdu.esm_class:02x}", f"data_coding=0x{pdu.data_coding:02x}"]
        parts.append(f"short_message={len(pdu.short_message)} octets")
        parts.append(f"to={pdu.destination_addr}")
    for tag, name in ((Tag.RECEIPTED_MESSAGE_ID, "receipted_message_id"), (Tag.MESSAGE_STATE, "message_state"),
                      (Tag.MESSAGE_PAYLOAD, "message_payload")):  # fmt: skip
        value = pdu.tlv(tag)
        if value is not None:
            shown = (
                f"{len(value)} octets"
                if tag == Tag.MESSAGE_PAYLOAD
                else (str(pdu.tlv_int(tag)) if tag == Tag.MESSAGE_STATE else pdu.tlv_cstr(tag))
            )
            parts.append(f"{name}={shown}")
    if isinstance(pdu, p.SubmitSmResp | p.DeliverSmResp) and pdu.message_id:
        parts.append(f"message_id={pdu.message_id}")
    if isinstance(pdu, p.BindTransmitter | p.BindReceiver | p.BindTransceiver):
        parts.append(f"system_id={pdu.system_id}")
    return " ".join(parts)


def raw_frame(command_id: int, status: int, seq: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


# ---- the script ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Addresses:
    """The numbers the probe's MO and receipts carry: from a handset to the account's service number."""

    handset: str = "8613900000000"
    service: str = "10690000"


def _mo(addresses: Addresses, data_coding: int, body: bytes, *, esm_class: int = 0,
        tlvs: tuple[p.Tlv, ...] = ()) -> p.DeliverSm:  # fmt: skip
    return p.DeliverSm(
        source_addr_ton=1, source_addr_npi=1, source_addr=addresses.handset,
        dest_addr_ton=0, dest_addr_npi=1, destination_addr=addresses.service,
        esm_class=esm_class, data_coding=data_coding, short_message=body, tlvs=tlvs,
    )  # fmt: skip


def _receipt(addresses: Addresses, message_id: str, *, text: bool) -> p.DeliverSm:
    body = (
        (
            f"id:{message_id} sub:001 dlvrd:001 submit date:2601010000 done date:2601010001 stat:DELIVRD err:000 text:"
        ).encode("ascii")
        if text
        else b""
    )
    return p.DeliverSm(
        source_addr_ton=1, source_addr_npi=1, source_addr=addresses.handset,
        dest_addr_ton=0, dest_addr_npi=1, destination_addr=addresses.service,
        esm_class=0x04, data_coding=0, short_message=body,
        tlvs=(p.cstr_tlv(Tag.RECEIPTED_MESSAGE_ID, message_id), p.int_tlv(Tag.MESSAGE_STATE, 2)),
    )  # fmt: skip


def _long_mo_parts(addresses: Addresses) -> tuple[p.DeliverSm, ...]:
    parts = (b"Certification long MO, part one of two; ", b"and part two.")
    return tuple(
        _mo(addresses, 0, bytes([0x05, 0x00, 0x03, 0x2A, len(parts), n + 1]) + text, esm_class=0x40)
        for n, text in enumerate(parts)
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One check: ``kind`` says how it is run; ``requests`` are sent one after the other, each
    answered before the next (``send``/``quiet`` kinds)."""

    check: str
    title: str
    kind: str  # "send", "quiet", "unknown", "before_resp", "throttle", "unbind", "rebind"
    requests: tuple[p.Pdu, ...] = ()


def script(addresses: Addresses) -> tuple[Step, ...]:
    """The checks, in the order they are run."""
    a = addresses
    gsm7 = "Certification MO GSM7 @$".encode("latin-1").replace(b"$", b"\x02")  # '$' is 0x02 in GSM 03.38
    return (
        Step("enquire_link", "answers enquire_link", "send", (p.EnquireLink(),)),
        Step("mo.gsm7", "acknowledges an MO in GSM 7-bit (data_coding 0)", "send", (_mo(a, 0x00, gsm7),)),
        Step("mo.latin1", "acknowledges an MO in Latin-1 (data_coding 3)", "send",
             (_mo(a, 0x03, "Certification MO Latin-1 café".encode("latin-1")),)),
        Step("mo.ucs2", "acknowledges an MO in UCS2 (data_coding 8)", "send",
             (_mo(a, 0x08, "认证 UCS2 MO".encode("utf-16-be")),)),
        Step("mo.udh_long", "acknowledges both parts of a long MO (8-bit UDH)", "send", _long_mo_parts(a)),
        Step("mo.message_payload", "acknowledges an MO in message_payload (empty short_message)", "send",
             (_mo(a, 0x00, b"", tlvs=(p.Tlv(Tag.MESSAGE_PAYLOAD, b"Certification MO in message_payload. " * 8),)),)),
        Step("receipt.text", "acknowledges a receipt in Appendix B text with its TLVs", "send",
             (_receipt(a, "CERT0001", text=True),)),
        Step("receipt.tlv_only", "acknowledges a receipt of TLVs only (no text)", "send",
             (_receipt(a, "CERT0002", text=False),)),
        Step("receipt.duplicate", "acknowledges the same receipt sent twice", "send",
             (_receipt(a, "CERT0003", text=True), _receipt(a, "CERT0003", text=True))),
        Step("receipt.before_submit_resp", "acknowledges a receipt that comes before its submit_sm_resp",
             "before_resp"),
        Step("throttling", "resubmits after ESME_RTHROTTLED, with a pause", "throttle"),
        Step("generic_nack", "stays bound and silent on a generic_nack", "quiet",
             (p.GenericNack(command_status=S.ESME_RSYSERR), p.EnquireLink())),
        Step("unknown_command", "answers an unknown command with generic_nack ESME_RINVCMDID", "unknown"),
        Step("unbind", "answers unbind with unbind_resp", "unbind"),
        Step("rebind", "binds again after the unbind", "rebind"),
    )  # fmt: skip


# ---- the probe ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Running:
    step: Step
    started: float
    deadline: float
    evidence: list[Evidence] = field(default_factory=list)
    index: int = 0  # the request of the step being answered
    waiting_seq: int | None = None  # its sequence number, once sent
    expect: int = 0  # the command id of the answer
    expect_status: int = S.ESME_ROK
    held: tuple[int, p.Pdu] | None = None  # (conn, submit_sm_resp) held back
    throttled: dict[tuple[str, bytes], list[float]] = field(default_factory=dict)
    key: tuple[str, bytes] | None = None  # the throttled message followed
    phase: str = ""
    others: list[int] = field(default_factory=list)  # sequence numbers of other answers seen


_RECEIVING = {"bind_receiver", "bind_transceiver"}
_SUBMITTING = {"bind_transmitter", "bind_transceiver"}


class Probe:
    """Certifies the client bound on connection ``conn`` (any number the driver uses for it) as
    ``bind`` ("bind_receiver", "bind_transceiver", or "bind_transmitter" for a submit-only client)."""

    def __init__(self, *, account: str, conn: int, bind: str, now: float, timings: Timings,
                 addresses: Addresses, steps: tuple[Step, ...] | None = None) -> None:  # fmt: skip
        self.account = account
        self.conn = conn
        self.bind = bind
        self.timings = timings
        self.addresses = addresses
        self.started = now
        self.verdicts: list[Verdict] = []
        self._steps = list(script(addresses) if steps is None else steps)
        self._running: _Running | None = None
        self._raw_seq = RAW_SEQUENCE_BASE
        self._closed = False
        self.finished_at: float | None = None

    # ---- state ----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    @property
    def current(self) -> str | None:
        return None if self._running is None else self._running.step.check

    def next_deadline(self) -> float | None:
        return None if self._running is None else self._running.deadline

    # ---- events ---------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        return self._advance(now)

    def tick(self, now: float) -> list[Action]:
        run = self._running
        if run is None or now < run.deadline:
            return []
        return self._on_deadline(run, now)

    def sent(self, pdu: p.Pdu, now: float) -> list[Action]:
        """The driver sent the last ``Send``'s PDU as ``pdu`` (with the session's sequence number)."""
        run = self._running
        if run is None:
            return []
        run.waiting_seq = pdu.sequence_number
        self._note(run, now, "out", encode(pdu))
        return []

    def frame_in(self, conn: int, frame: bytes, now: float) -> list[Action]:
        """A frame from a connection of the account (the probed one or another)."""
        run = self._running
        if run is None or len(frame) < 16:
            return []
        _, cid, status, seq = struct.unpack(">IIII", frame[:16])
        kind = run.step.kind
        if kind == "rebind":
            if cid in (CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER, CommandId.BIND_TRANSMITTER):
                self._note(run, now, "in", frame)
            return []
        if conn != self.conn:
            return []
        if kind == "quiet" and run.index == 0 and seq == run.waiting_seq:
            self._note(run, now, "in", frame)
            return self._finish(run, now, Outcome.FAIL, "the client answered a generic_nack (a response needs none)")
        if cid & 0x80000000 and seq == run.waiting_seq and run.waiting_seq is not None:
            self._note(run, now, "in", frame)
            if cid != run.expect:
                return self._finish(
                    run, now, Outcome.FAIL, f"answered with {_command_name(cid)}, expected {_command_name(run.expect)}"
                )
            if status != run.expect_status:
                return self._finish(run, now, Outcome.FAIL,
                                    f"answered with status {status_name(status)}, "
                                    f"expected {status_name(run.expect_status)}")  # fmt: skip
            return self._answered(run, now)
        if cid & 0x80000000 and cid == run.expect and run.waiting_seq is not None:
            # A response of the expected kind with another number: the gateway's own receipts are
            # answered on this connection too, so it only counts against the client for raw frames.
            if run.waiting_seq >= RAW_SEQUENCE_BASE:
                self._note(run, now, "in", frame)
                return self._finish(
                    run, now, Outcome.FAIL, f"answered with sequence number {seq}, expected {run.waiting_seq}"
                )
            run.others.append(seq)
        return []

    def submitted(self, conn: int, pdu: p.SubmitSm, now: float) -> p.Pdu | None:
        """A submit_sm of the account: the answer to send instead of handling it, or None."""
        run = self._running
        if run is None or run.step.kind != "throttle" or run.phase == "done":
            return None
        frame = encode(pdu)
        key = (pdu.destination_addr, pdu.short_message)
        times = run.throttled.setdefault(key, [])
        times.append(now - self.started)
        self._note(run, now, "in", frame)
        if run.key is None:
            run.key = key
            run.phase = "throttling"
        if key == run.key and len(times) > self.timings.throttle_count:
            run.phase = "passed"  # this resubmit is handled as usual; the step is graded at once
            run.deadline = now
            return None
        answer = p.SubmitSmResp(sequence_number=pdu.sequence_number, command_status=S.ESME_RTHROTTLED)
        self._note(run, now, "out", encode(answer))
        if key == run.key:
            run.deadline = now + self.timings.resubmit_wait
        return answer

    def submit_answered(self, conn: int, response: p.Pdu, now: float) -> tuple[bool, list[Action]]:
        """The gateway is about to answer a submit of the account: (held back, actions)."""
        run = self._running
        if (run is None or run.step.kind != "before_resp" or run.held is not None
                or not isinstance(response, p.SubmitSmResp) or response.command_status != S.ESME_ROK):  # fmt: skip
            return False, []
        run.held = (conn, response)
        run.phase = "receipt"
        run.expect = CommandId.DELIVER_SM_RESP
        run.deadline = now + self.timings.response
        receipt = _receipt(self.addresses, response.message_id, text=False)
        return True, [Send(receipt)]

    def closed(self, conn: int, now: float) -> list[Action]:
        """A connection of the account closed."""
        if conn != self.conn:
            return []
        self._closed = True
        run = self._running
        if run is None:
            return []
        if run.step.kind == "unbind" and run.phase == "answered":
            return self._finish(run, now, Outcome.PASS, "unbind_resp in time, then the connection closed")
        if run.step.kind == "unbind":
            return self._finish(run, now, Outcome.FAIL, "the connection closed without an unbind_resp")
        if run.step.kind == "rebind":
            return []
        return self._finish(run, now, Outcome.FAIL, "the client closed the connection during this check")

    def bound(self, conn: int, bind: str, now: float) -> list[Action]:
        """A connection of the account completed a bind (``bind`` as in the constructor)."""
        run = self._running
        if run is None or run.step.kind != "rebind" or conn == self.conn:
            return []
        took = now - run.started
        return self._finish(run, now, Outcome.PASS, f"bound again ({bind}) {took:.2f} s after the unbind")

    # ---- the steps ------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Action]:
        while self._steps:
            step = self._steps.pop(0)
            why = self._not_applicable(step)
            if why is not None:
                self.verdicts.append(Verdict(step.check, step.title, Outcome.NOT_APPLICABLE, why, 0.0, ()))
                continue
            run = self._running = _Running(step, now, now + self.timings.response)
            return self._begin(run, now)
        self._running = None
        self.finished_at = now
        return []

    def _not_applicable(self, step: Step) -> str | None:
        bind = self.bind.removeprefix("bind_")
        if self._closed and step.kind != "rebind":
            return "the connection closed before this check"
        if step.kind in ("before_resp", "throttle") and self.bind not in _SUBMITTING:
            return f"the client is bound as {bind} and does not submit"
        takes_deliveries = step.kind == "before_resp" or (step.kind == "send" and step.check != "enquire_link")
        if takes_deliveries and self.bind not in _RECEIVING:
            return f"the client is bound as {bind} and takes no deliver_sm"
        if step.kind == "rebind" and not self._closed:
            return "the connection was not unbound"
        return None

    def _begin(self, run: _Running, now: float) -> list[Action]:
        kind = run.step.kind
        t = self.timings
        if kind in ("send", "quiet"):
            return self._send_request(run, now)
        if kind == "unknown":
            seq = self._next_raw()
            frame = raw_frame(UNKNOWN_COMMAND_ID, 0, seq)
            run.waiting_seq, run.expect, run.expect_status = seq, CommandId.GENERIC_NACK, S.ESME_RINVCMDID
            self._note(run, now, "out", frame)
            return [SendRaw(frame)]
        if kind == "unbind":
            run.expect = CommandId.UNBIND_RESP
            run.phase = "sent"
            return [Unbind()]
        if kind == "before_resp":
            run.phase = "waiting"
            run.deadline = now + t.submit_wait
            return []
        if kind == "throttle":
            run.phase = "waiting"
            run.deadline = now + t.submit_wait
            return []
        if kind == "rebind":
            run.deadline = now + t.rebind_wait
            return []
        raise AssertionError(kind)

    def _send_request(self, run: _Running, now: float) -> list[Action]:
        request = run.step.requests[run.index]
        run.deadline = now + self.timings.response
        if isinstance(request, p.GenericNack):  # a response: only a raw frame carries it
            seq = self._next_raw()
            frame = encode(request.evolve(sequence_number=seq))
            run.waiting_seq = seq
            run.deadline = now + self.timings.quiet
            self._note(run, now, "out", frame)
            return [SendRaw(frame)]
        run.waiting_seq = None
        run.expect = p.RESPONSE_OF[type(request)].command_id
        run.expect_status = S.ESME_ROK
        return [Send(request)]

    def _answered(self, run: _Running, now: float) -> list[Action]:
        kind = run.step.kind
        if kind == "unbind":
            run.phase = "answered"
            run.deadline = now + self.timings.response  # for the connection to close
            return []
        if kind == "before_resp":
            assert run.held is not None
            conn, response = run.held
            run.held = None
            self._note(run, now, "out", encode(response))
            return [
                Release(conn, response),
                *self._finish(run, now, Outcome.PASS, "acknowledged the receipt before its submit_sm_resp"),
            ]
        run.index += 1
        if run.index < len(run.step.requests):
            return self._send_request(run, now)
        return self._finish(run, now, Outcome.PASS, _pass_detail(run, now))

    def _on_deadline(self, run: _Running, now: float) -> list[Action]:
        kind = run.step.kind
        t = self.timings
        if kind == "quiet" and run.index == 0:
            run.index = 1
            return self._send_request(run, now)
        if kind == "throttle":
            return self._grade_throttle(run, now)
        if kind == "before_resp" and run.held is None:
            return self._finish(run, now, Outcome.NOT_APPLICABLE, f"no submit_sm within {t.submit_wait:g} s")
        if kind == "before_resp" and run.held is not None:
            conn, response = run.held
            run.held = None
            return [
                Release(conn, response),
                *self._finish(run, now, Outcome.FAIL, f"no deliver_sm_resp to the receipt within {t.response:g} s"),
            ]
        if kind == "unbind" and run.phase == "answered":
            return self._finish(run, now, Outcome.PASS, "unbind_resp in time (the connection stays open)")
        if kind == "rebind":
            return self._finish(run, now, Outcome.FAIL, f"no new bind within {t.rebind_wait:g} s")
        wanted = f"{_command_name(run.expect)} with sequence number {run.waiting_seq}"
        others = f" (answers to other numbers: {run.others[:5]})" if run.others else ""
        return self._finish(run, now, Outcome.FAIL, f"no {wanted} within {t.response:g} s{others}")

    def _grade_throttle(self, run: _Running, now: float) -> list[Action]:
        t = self.timings
        if run.key is None:
            return self._finish(run, now, Outcome.NOT_APPLICABLE, f"no submit_sm within {t.submit_wait:g} s")
        times = run.throttled[run.key]
        pauses = [b - a for a, b in itertools.pairwise(times)]
        shown = ", ".join(f"{x:.2f} s" for x in pauses) or "none"
        if len(times) <= t.throttle_count:
            others = sum(len(v) for k, v in run.throttled.items() if k != run.key)
            meanwhile = f"; {others} other submit(s) refused meanwhile" if others else ""
            return self._finish(
                run,
                now,
                Outcome.FAIL,
                f"refused {len(times)} time(s) with ESME_RTHROTTLED, then not resubmitted within "
                f"{t.resubmit_wait:g} s (pauses: {shown}){meanwhile}",
            )
        short = [x for x in pauses if x < t.min_backoff]
        if short:
            return self._finish(run, now, Outcome.FAIL,
                                f"resubmitted without backing off: pauses {shown}, "
                                f"at least {t.min_backoff:g} s expected")  # fmt: skip
        grows = len(pauses) > 1 and all(b > a for a, b in itertools.pairwise(pauses))
        growing = " (growing)" if grows else ""
        return self._finish(run, now, Outcome.PASS, f"resubmitted after pauses of {shown}{growing}")

    def _finish(self, run: _Running, now: float, outcome: Outcome, detail: str) -> list[Action]:
        self.verdicts.append(
            Verdict(run.step.check, run.step.title, outcome, detail, now - run.started, tuple(run.evidence))
        )
        self._running = None
        actions: list[Action] = []
        if run.held is not None:  # never keep a client's answer
            actions.append(Release(*run.held))
        return actions + self._advance(now)

    def _note(self, run: _Running, now: float, direction: str, frame: bytes) -> None:
        run.evidence.append(Evidence(round(now - self.started, 3), direction, frame.hex(), summarize(frame)))

    def _next_raw(self) -> int:
        self._raw_seq += 1
        return self._raw_seq

    # ---- the report -----------------------------------------------------------------------

    def abort(self, now: float, why: str) -> list[Action]:
        """Stop: the check running and every one left fail with ``why``."""
        actions: list[Action] = []
        run = self._running
        if run is not None:
            self.verdicts.append(Verdict(run.step.check, run.step.title, Outcome.FAIL, why, now - run.started,
                                         tuple(run.evidence)))  # fmt: skip
            if run.held is not None:
                actions.append(Release(*run.held))
        for step in self._steps:
            self.verdicts.append(Verdict(step.check, step.title, Outcome.FAIL, why, 0.0, ()))
        self._steps.clear()
        self._running = None
        self.finished_at = now
        return actions


def _pass_detail(run: _Running, now: float) -> str:
    answers = sum(1 for e in run.evidence if e.direction == "in")
    return f"{answers} right answer(s), the last {now - run.started:.3f} s after the step began"


def _command_name(cid: int) -> str:
    try:
        return CommandId(cid).name.lower()
    except ValueError:
        return f"command 0x{cid:08x}"


__all__ = [
    "Action",
    "Addresses",
    "Evidence",
    "Outcome",
    "Probe",
    "Release",
    "Send",
    "SendRaw",
    "Step",
    "Timings",
    "Unbind",
    "Verdict",
    "raw_frame",
    "script",
    "summarize",
]
