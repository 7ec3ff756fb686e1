"""Long fuzzing of the SMPP and CMPP codecs and sessions: a fast seeded generator, no hypothesis.

Each case is built from (seed, target, case number) alone, so any case replays on its own.
A case is either

* a codec case: one input (a valid PDU or packet encoded from the codec's own schema, or a
  structured mutation of one: bit flips, truncation, a lying or huge length field, two inputs
  spliced, a C-string without its NUL, duplicated TLVs, inserted or deleted bytes, random bytes)
  decoded directly and fed, cut at random points, through the frame buffer; or
* a session case: one connection's life.  A peer sends a stream of such inputs (a bind or
  CONNECT first, mostly), cut at random points, answers some of the session's requests and
  lets time pass; a host answers the session's events as the gateway does (binds at once,
  requests at once or later, DELIVERs/deliver_sm within a window, timers at their deadline).

Checked after every step: only the documented decode errors are raised (PduDecodeError,
CmppDecodeError), and the session raises nothing at all; a decoded input encodes again and
decodes to the same value; the fast submit_sm decoder agrees with the schema decoder; framing
does not depend on where the stream is cut; everything the session writes is whole frames that
decode and re-encode to the same bytes; no request is answered more often than it was sent; the
host is handed at most one bind per connection; every request of ours ends exactly once (answered
or timed out); pending and outstanding maps and the frame buffer stay bounded; a closed session
stays silent; a timer handled leaves no deadline in the past.

A failing case is written to ``--failures`` as JSON (seed, target, case, the inputs in hex and
the traceback) and printed; ``--replay FILE`` runs it again.

    python tests/fuzz_long.py --seed 1 --count 1000000 --seconds 3600
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script from the checkout: import this checkout's smppgw
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smppgw.cmpp import codec as cc
from smppgw.cmpp import packets as pk
from smppgw.cmpp import session as cmpp_session_module
from smppgw.cmpp.account import CmppAccount
from smppgw.cmpp.constants import MAX_DESTINATIONS, Version
from smppgw.cmpp.errors import CmppDecodeError
from smppgw.cmpp.errors import FramingError as CmppFramingError
from smppgw.cmpp.events import CancelReceived as CmppCancelReceived
from smppgw.cmpp.events import CloseConnection as CmppClose
from smppgw.cmpp.events import DeliverAcknowledged, DeliverTimedOut, QueryReceived, SubmitReceived
from smppgw.cmpp.events import ProtocolViolation as CmppViolation
from smppgw.cmpp.framing import FrameBuffer as CmppFrameBuffer
from smppgw.cmpp.login import authenticator_source
from smppgw.cmpp.session import CMPPServerSession
from smppgw.cmpp.session import SessionConfig as CmppConfig
from smppgw.protocol import codec as sc
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import TLV_LENGTHS, CommandStatus
from smppgw.protocol.errors import FramingError, PduDecodeError
from smppgw.protocol.events import (
    BindRequested,
    CloseConnection,
    ProtocolViolation,
    RequestReceived,
    ResponseReceived,
    ResponseTimedOut,
)
from smppgw.protocol.framing import FrameBuffer
from smppgw.protocol.session import SessionConfig, SMPPSession

S = CommandStatus
DIGITS = "0123456789"
KNOWN_TAGS = sorted(TLV_LENGTHS)
RESPONSE_BIT = 0x80000000


class InvariantError(AssertionError):
    """An invariant broke (or something raised that must not)."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantError(what)


@dataclass(slots=True)
class Tally:
    """What one target was fed: inputs by kind, cases, findings."""

    inputs: Counter[str] = field(default_factory=Counter)
    cases: int = 0
    sessions: int = 0
    steps: int = 0
    failures: int = 0
    events: Counter[str] = field(default_factory=Counter)  # what the sessions told the host
    layers: Counter[str] = field(default_factory=Counter)  # inputs decoded directly / fed to a session

    @property
    def total(self) -> int:
        return sum(self.inputs.values())


# ---- byte-level mutations (shared by both protocols) ---------------------------------------


def _set_u32(raw: bytearray, at: int, value: int) -> None:
    if len(raw) >= at + 4:
        raw[at : at + 4] = struct.pack(">I", value & 0xFFFFFFFF)


def mutate(rng: random.Random, raw: bytes, other: bytes, header: int, fix_length: Callable[[bytearray], None]) -> bytes:
    """One structured mutation of an encoded frame; ``header`` is the protocol's header size,
    ``other`` a second frame to splice with, ``fix_length`` rewrites the length field."""
    out = bytearray(raw)
    how = rng.randrange(14)
    if how == 0:  # a few bit flips anywhere
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif how == 1:  # a few octets replaced by a boundary value or a random one
        for _ in range(rng.randint(1, 3)):
            out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x7F, 0x80, 1, rng.randrange(256)))
    elif how == 2:  # cut short, the length field left as it was (the stream waits for more)
        del out[rng.randrange(len(out)) :]
    elif how == 3:  # cut short and the length field told the truth
        del out[rng.randint(header, len(out)) :]
        fix_length(out)
    elif how == 4:  # trailing junk inside the frame
        out += rng.randbytes(rng.randint(1, 12))
        fix_length(out)
    elif how == 5:  # the length field lies by a little
        _set_u32(out, 0, len(out) + rng.choice((-4, -2, -1, 1, 2, 4, 16)))
    elif how == 6:  # the length field lies by a lot: huge, zero, below the header, at the bound
        _set_u32(out, 0, rng.choice((0, 1, header - 1, 0xFFFFFFFF, 0x7FFFFFFF, 4096, 4097, 65536, 65537)))
    elif how == 7:  # two frames spliced at random points, length fixed or not
        out = out[: rng.randint(header, len(out))] + other[rng.randrange(max(1, len(other))) :]
        if rng.random() < 0.5:
            fix_length(out)
    elif how == 8:  # a C-string (or padding) loses its NUL
        nuls = [i for i in range(header, len(out)) if out[i] == 0]
        for i in rng.sample(nuls, min(len(nuls), rng.randint(1, 3))):
            out[i] = rng.choice((0x41, 0x31, 0xFF))
    elif how == 9:  # octets inserted into the body
        at = rng.randint(header, len(out))
        out[at:at] = rng.randbytes(rng.randint(1, 8))
        fix_length(out)
    elif how == 10:  # octets deleted from the body
        if len(out) > header:
            at = rng.randrange(header, len(out))
            del out[at : at + rng.randint(1, 8)]
        fix_length(out)
    elif how == 11:  # the command id swapped for another (known or not), the body kept
        _set_u32(out, 4, rng.choice((rng.getrandbits(32), rng.getrandbits(8), RESPONSE_BIT | rng.getrandbits(4))))
    elif how == 12:  # the same frame twice (a duplicated sequence number)
        out += bytes(out)
    else:  # a random header with a plausible length, a random body
        out = bytearray(rng.randbytes(header + rng.randrange(64)))
        if rng.random() < 0.7:
            fix_length(out)
    return bytes(out)


def random_bytes(rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice((1, 4, 11, 12, 15, 16, 17, rng.randrange(1, 300))))


def cuts(rng: random.Random, data: bytes) -> list[bytes]:
    """``data`` in pieces cut at random points (often whole, sometimes octet by octet)."""
    r = rng.random()
    if r < 0.4 or len(data) < 2:
        return [data]
    if r < 0.45:
        return [data[i : i + 1] for i in range(len(data))]
    points = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 4))))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


# ---- SMPP: valid PDUs from codec.SCHEMAS ----------------------------------------------------


def _latin(rng: random.Random, n: int) -> str:
    return rng.randbytes(n).replace(b"\0", b"1").decode("latin-1")


def smpp_cstr(rng: random.Random, size: int) -> str:
    r = rng.random()
    if r < 0.25:
        return ""
    if r < 0.5:
        return "".join(rng.choices(DIGITS, k=rng.randrange(size)))
    if r < 0.6:
        return _latin(rng, size - 1)  # the longest that fits
    return _latin(rng, rng.randrange(size))


def smpp_tlvs(rng: random.Random) -> tuple[p.Tlv, ...]:
    if rng.random() < 0.5:
        return ()
    out = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.7:
            tag = rng.choice(KNOWN_TAGS)
            low, high = TLV_LENGTHS[tag]
            out.append(p.Tlv(tag, rng.randbytes(rng.randint(low, max(low, min(high, 64))))))
        else:
            tag = rng.randrange(0x10000)
            while tag in TLV_LENGTHS:
                tag = rng.randrange(0x10000)
            out.append(p.Tlv(tag, rng.randbytes(rng.randrange(40))))
    if rng.random() < 0.15:  # the same TLV twice
        out.append(rng.choice(out))
    return tuple(out)


def smpp_field(rng: random.Random, kind: int, size: int) -> object:
    if kind == sc.CSTR:
        return smpp_cstr(rng, size)
    if kind == sc.U8:
        return rng.randrange(256) if rng.random() < 0.5 else 0
    if kind == sc.SM:
        return rng.randbytes(rng.choice((0, 254, rng.randrange(size))))
    if kind == sc.DESTS:
        n = rng.randrange(size + 1) if rng.random() < 0.02 else rng.randrange(5)
        return tuple(
            p.SmeAddress(rng.randrange(256), rng.randrange(256), smpp_cstr(rng, 21))
            if rng.random() < 0.7
            else p.DistributionList(smpp_cstr(rng, 21))
            for _ in range(n)
        )
    return tuple(
        p.UnsuccessSme(rng.randrange(256), rng.randrange(256), smpp_cstr(rng, 21), rng.getrandbits(32))
        for _ in range(rng.randrange(5))
    )


def smpp_pdu(rng: random.Random, cls: type[p.Pdu] | None = None, seq: int | None = None, status: int = 0) -> p.Pdu:
    cls = cls or rng.choice(p.ALL_PDU_TYPES)
    fields = {name: smpp_field(rng, kind, size) for name, kind, size, _ in sc.SCHEMAS[cls]}
    return cls(
        sequence_number=rng.getrandbits(32) if seq is None else seq,
        command_status=status,
        tlvs=smpp_tlvs(rng),
        **fields,
    )


def smpp_fix_length(raw: bytearray) -> None:
    _set_u32(raw, 0, len(raw))


def smpp_input(rng: random.Random, valid: bytes, other: bytes, tally: Tally, bad: float = 0.65) -> bytes:
    """``valid`` itself, a mutation of it, or random bytes; counted by kind."""
    r = rng.random()
    if r >= bad:
        tally.inputs["valid"] += 1
        return valid
    if r < bad * 0.9:
        tally.inputs["mutated"] += 1
        return mutate(rng, valid, other, sc.HEADER_SIZE, smpp_fix_length)
    tally.inputs["random"] += 1
    return random_bytes(rng)


def smpp_decode_checked(frame: bytes) -> p.Pdu | None:
    """decode, holding it to its contract: only PduDecodeError, and what decodes re-encodes."""
    try:
        pdu = sc.decode(frame)
    except FramingError as err:
        raise InvariantError(f"decode raised FramingError for a framed PDU: {err}") from err
    except PduDecodeError:
        pdu = None
    if len(frame) >= 16 and struct.unpack_from(">I", frame, 4)[0] == sc._SUBMIT_SM:
        _, cid, status, seq = sc.peek_header(frame)
        try:
            reference: p.Pdu | None = sc.decode_by_schema(p.SubmitSm, frame, cid, status, seq)
        except PduDecodeError:
            reference = None
        check(pdu == reference or len(frame) != struct.unpack_from(">I", frame)[0], "fast and schema decoders differ")
    if pdu is None:
        return None
    again = sc.encode(pdu)
    check(sc.decode(again) == pdu, f"decode(encode(decode(x))) differs for {type(pdu).__name__}")
    check(sc.encode(sc.decode(again)) == again, "encoding is not canonical")
    return pdu


def smpp_frames_checked(data: bytes, pieces: list[bytes], max_size: int) -> None:
    """Framing must not depend on where the stream is cut, and raises only FramingError."""

    def run(chunks: list[bytes]) -> tuple[list[bytes], str | None, int]:
        buf, out = FrameBuffer(max_size), []
        try:
            for chunk in chunks:
                buf.feed(chunk)
                while (frame := buf.next_frame()) is not None:
                    out.append(frame)
        except FramingError as err:
            return out, err.detail, -1  # raised as soon as the header is in, however much followed
        return out, None, len(buf)

    whole, pieced = run([data]), run(pieces)
    check(whole == pieced, "framing depends on where the stream is cut")
    for frame in whole[0]:
        check(16 <= len(frame) <= max_size, "a frame outside the bounds")
        smpp_decode_checked(frame)


def smpp_codec_input(rng: random.Random, tally: Tally) -> None:
    valid = smpp_pdu(rng, status=rng.choice((0, 0, rng.getrandbits(32))))
    raw = sc.encode(valid)
    check(sc.decode(raw) == valid, f"{type(valid).__name__} does not round-trip")
    check(sc.encode(sc.decode(raw)) == raw, f"{type(valid).__name__} re-encodes differently")
    other = sc.encode(smpp_pdu(rng))
    data = smpp_input(rng, raw, other, tally)
    if len(data) >= 16:
        smpp_decode_checked(data)
    else:
        try:
            sc.decode(data)
            raise InvariantError("a frame shorter than the header decoded")
        except PduDecodeError:
            pass
    stream = data + (other if rng.random() < 0.5 else b"")
    smpp_frames_checked(stream, cuts(rng, stream), rng.choice((4096, 65536)))


CODEC_INPUTS_PER_CASE = 8  # about as many inputs as a session case feeds


def smpp_codec_case(rng: random.Random, tally: Tally) -> None:
    for _ in range(CODEC_INPUTS_PER_CASE):
        smpp_codec_input(rng, tally)


# ---- SMPP: one connection's life ------------------------------------------------------------


SMPP_REQUESTS = (p.SubmitSm, p.SubmitSm, p.SubmitSm, p.QuerySm, p.CancelSm, p.ReplaceSm, p.DataSm, p.SubmitMulti)
SMPP_BINDS = (p.BindTransmitter, p.BindReceiver, p.BindTransceiver)


class _SeenRequests:
    """Counts the request frames a session decodes, by sequence number (wraps its ``decode``)."""

    def __init__(self, seq_at: int) -> None:
        self.seq_at = seq_at
        self.counts: Counter[int] = Counter()

    def see(self, frame: bytes, _now: float = 0.0) -> None:
        if not struct.unpack_from(">I", frame, 4)[0] & RESPONSE_BIT:
            self.counts[struct.unpack_from(">I", frame, self.seq_at)[0]] += 1

    def wrap(self, decode: Callable[..., Any]) -> Callable[..., Any]:
        def counting(frame: bytes, *args: Any) -> Any:
            self.see(frame)
            return decode(frame, *args)

        return counting


SMPP_SEEN = _SeenRequests(12)


def split_frames(data: bytes, header: int) -> list[bytes]:
    out = []
    while data:
        check(len(data) >= header, f"a partial frame was written: {data.hex()}")
        (length,) = struct.unpack_from(">I", data)
        check(header <= length <= len(data), f"bad length {length} written")
        out.append(data[:length])
        data = data[length:]
    return out


@dataclass(slots=True)
class SmppRun:
    rng: random.Random
    tally: Tally
    config: SessionConfig
    bad: float  # the share of the peer's inputs that are mutated or random
    now: float = 0.0
    session: SMPPSession = field(init=False)
    deferred: list[p.Pdu] = field(default_factory=list)
    sent: dict[int, p.Pdu] = field(default_factory=dict)  # our requests by sequence number
    ended: Counter[int] = field(default_factory=Counter)  # how each of ours ended
    to_answer: list[p.Pdu] = field(default_factory=list)  # the session's requests the peer may answer
    answered: Counter[int] = field(default_factory=Counter)
    binds_requested: int = 0
    peer_seq: int = 1
    closed_seen: bool = False
    violation_seqs: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.session = SMPPSession(self.config, self.now)
        SMPP_SEEN.counts.clear()

    # -- the host --

    def handle(self, events: list[Any]) -> None:
        rng = self.rng
        for event in events:
            self.tally.events[type(event).__name__] += 1
            if isinstance(event, BindRequested):
                # Once a bind is asked for, the session answers every further bind itself.
                self.binds_requested += 1
                check(self.binds_requested == 1, "a second bind handed to the host")
                status = S.ESME_ROK if rng.random() < 0.8 else rng.choice((S.ESME_RINVPASWD, S.ESME_RBINDFAIL))
                self.handle(self.session.complete_bind(event.pdu, status, self.now))
            elif isinstance(event, RequestReceived):
                if rng.random() < 0.5:
                    self.answer(event.pdu)
                else:
                    self.deferred.append(event.pdu)
            elif isinstance(event, ResponseReceived | ResponseTimedOut):
                request = event.request
                seq = request.sequence_number
                if seq in self.sent:
                    check(self.sent[seq] == request, "an outcome names another request than ours")
                    self.ended[seq] += 1
                    check(self.ended[seq] == 1, f"request {seq} of ours ended twice")
                    del self.sent[seq]
                else:
                    check(request.command_id in (p.EnquireLink.command_id, p.Unbind.command_id), "unknown outcome")
            elif isinstance(event, ProtocolViolation):
                if event.sequence_number is not None:
                    self.violation_seqs[event.sequence_number] += 1
            elif isinstance(event, CloseConnection):
                self.closed_seen = True

    def answer(self, request: p.Pdu) -> None:
        # Answered whether or not the session closed since (as the gateway does): it drops a late answer.
        status = self.rng.choice((S.ESME_ROK, S.ESME_ROK, S.ESME_RTHROTTLED, S.ESME_RINVMSGID))
        resp = p.RESPONSE_OF[type(request)]
        self.session.respond(resp(sequence_number=request.sequence_number, command_status=status))

    # -- the peer --

    def next_seq(self) -> int:
        r = self.rng.random()
        if r < 0.08 and self.peer_seq > 1:
            return self.rng.randrange(1, self.peer_seq)  # a sequence number used before
        if r < 0.1:
            return self.rng.getrandbits(32)
        self.peer_seq += 1
        return self.peer_seq

    def peer_pdu(self) -> p.Pdu:
        rng = self.rng
        r = rng.random()
        if (not self.session.is_bound and r < 0.8) or r < 0.03:
            bind = smpp_pdu(rng, rng.choice(SMPP_BINDS), self.next_seq())
            version = rng.choice((0x34, 0x34, 0x34, 0x50, 0x33, rng.randrange(256)))
            return bind.evolve(interface_version=version)
        if self.to_answer and r < 0.45:
            request = self.to_answer.pop(rng.randrange(len(self.to_answer)))
            if rng.random() < 0.1:
                self.to_answer.append(request)  # answered twice
            cls = p.RESPONSE_OF.get(type(request), p.GenericNack)
            if rng.random() < 0.05:
                cls = rng.choice((p.GenericNack, p.SubmitSmResp, p.DataSmResp))
            return smpp_pdu(rng, cls, request.sequence_number, rng.choice((0, 0, 0, S.ESME_RTHROTTLED)))
        if r < 0.85:
            return smpp_pdu(rng, rng.choice(SMPP_REQUESTS), self.next_seq())
        if r < 0.9:
            return p.EnquireLink(sequence_number=self.next_seq())
        if r < 0.91:
            return p.Unbind(sequence_number=self.next_seq())
        return smpp_pdu(rng, seq=self.next_seq(), status=rng.choice((0, rng.getrandbits(32))))

    # -- the invariants --

    def check_output(self, was_closed: bool) -> None:
        data = self.session.data_to_send()
        if was_closed:
            check(data == b"", "a closed session wrote")
        for frame in split_frames(data, 16):
            pdu = sc.decode(frame)
            check(sc.encode(pdu) == frame, "output does not re-encode to the same bytes")
            if pdu.is_response:
                self.answered[pdu.sequence_number] += 1
                seq = pdu.sequence_number
                allowed = SMPP_SEEN.counts[seq] + (1 if isinstance(pdu, p.GenericNack) else 0)
                check(self.answered[seq] <= allowed, f"request {seq} answered more often than sent")
            elif pdu.command_id in (p.DeliverSm.command_id, p.DataSm.command_id, p.EnquireLink.command_id,
                                    p.Unbind.command_id):  # fmt: skip
                self.to_answer.append(pdu)
        s = self.session
        check(s.pending_requests <= self.config.max_pending_requests + 1, "pending requests unbounded")
        check(s.outstanding <= HOST_WINDOW + 2, "outstanding requests unbounded")
        if s.closed:
            check(s.pending_requests == 0, "a closed session keeps pending requests")
            check(s.next_deadline() is None, "a closed session keeps a deadline")
        else:
            check(len(s._frames) < self.config.max_pdu_size, "the frame buffer grows past max_pdu_size")

    def step(self) -> None:
        rng, s = self.rng, self.session
        was_closed = s.closed
        r = rng.random()
        if r < 0.6:
            pieces = []
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                raw = sc.encode(self.peer_pdu())
                pieces.append(smpp_input(rng, raw, sc.encode(smpp_pdu(rng)), self.tally, self.bad))
            data = b"".join(pieces)
            for chunk in cuts(rng, data):
                # The session's own tap counts the frames it cuts: it works on the compiled build too.
                events = s.receive_data(chunk, self.now, SMPP_SEEN.see)
                if was_closed:
                    check(events == [], "a closed session raised events")
                self.handle(events)
        elif r < 0.7 and self.deferred:
            self.answer(self.deferred.pop(rng.randrange(len(self.deferred))))
        elif r < 0.8 and s.can_receive and s.outstanding < HOST_WINDOW:
            body = rng.randbytes(rng.randrange(160))
            seq = s.send_request(p.DeliverSm(source_addr="13800138000", short_message=body), self.now)
            check(seq not in self.sent, "a sequence number of ours reused while outstanding")
            self.sent[seq] = p.DeliverSm(sequence_number=seq, source_addr="13800138000", short_message=body)
        elif r < 0.97:
            self.now += rng.choice((0.0, 0.1, 0.5, 1.0, 2.5, 5.0, 30.0))
            deadline = s.next_deadline()
            if (deadline is not None and deadline <= self.now) or rng.random() < 0.1:
                self.handle(s.handle_timers(self.now))
                after = s.next_deadline()
                check(after is None or after > self.now, "a deadline left in the past after handle_timers")
        elif r < 0.98:
            s.unbind(self.now)
        else:
            self.handle(s.connection_lost())
        self.tally.steps += 1
        self.check_output(was_closed)
        if self.closed_seen and not s.closed:
            raise InvariantError("CloseConnection while the session stays open")

    def finish(self) -> None:
        self.handle(self.session.connection_lost())
        check(not self.sent, f"requests of ours never ended: {sorted(self.sent)}")


HOST_WINDOW = 6
# A peer's share of bad inputs: most errors close the connection, so mostly-good peers reach deep states.
HOSTILITY = (0.0, 0.02, 0.05, 0.15, 0.4, 0.65)


def smpp_session_case(rng: random.Random, tally: Tally) -> None:
    config = SessionConfig(
        session_init_timeout=rng.choice((0, 5.0)),
        enquire_link_interval=rng.choice((0, 3.0)),
        inactivity_timeout=rng.choice((0, 20.0)),
        response_timeout=rng.choice((2.0, 10.0)),
        max_pdu_size=rng.choice((512, 4096, 65536)),
        max_pending_requests=rng.choice((1, 4, 8)),
    )
    run = SmppRun(rng, tally, config, rng.choice(HOSTILITY))
    tally.sessions += 1
    for _ in range(rng.randint(5, 60)):
        run.step()
        if run.session.closed and rng.random() < 0.5:
            break
    run.finish()


# ---- CMPP: valid packets from codec.LAYOUTS -------------------------------------------------


ACCOUNTS = {
    "900001": CmppAccount("900001", "demo1234", Version.V30, "10690000", "demo"),
    "900002": CmppAccount("900002", "demo5678", Version.V20, "10690001", "demo2"),
}
TIMESTAMP = 1127093000


def lookup(sp_id: str) -> CmppAccount | None:
    return ACCOUNTS.get(sp_id)


def cmpp_string(rng: random.Random, size: int, check_: cc.Check) -> str:
    if check_ is cc.Check.TEXT:
        return _latin(rng, rng.choice((0, size, rng.randrange(size + 1))))
    if check_ is cc.Check.PRINTABLE:
        return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(size + 1))).rstrip("\0")
    if check_ is cc.Check.DIGITS:
        return "".join(rng.choices(DIGITS, k=rng.randrange(size + 1)))
    return rng.choice(("", "+")) + "".join(rng.choices(DIGITS, k=rng.randint(1, size - 1)))


def cmpp_value(rng: random.Random, f: cc.Field, version: Version, values: dict[str, Any]) -> Any:
    kind = f.kind
    if kind is cc.Kind.U8:
        return rng.randrange(256) if rng.random() < 0.5 else 0
    if kind is cc.Kind.U32:
        return rng.getrandbits(32)
    if kind is cc.Kind.U64:
        return rng.getrandbits(64)
    if kind is cc.Kind.RESULT:
        return rng.getrandbits(8 * f.size) if rng.random() < 0.3 else rng.randrange(14)
    if kind is cc.Kind.STR:
        return cmpp_string(rng, f.size, f.check)
    if kind is cc.Kind.OCTETS:
        return rng.randbytes(f.size)
    if kind is cc.Kind.DESTS:
        n = rng.randint(1, MAX_DESTINATIONS) if rng.random() < 0.02 else rng.randint(1, 4)
        return tuple(cmpp_string(rng, f.size, f.check) for _ in range(n))
    limit = cc.content_limit(values["msg_fmt"])
    content = rng.randbytes(rng.choice((0, limit, rng.randrange(limit + 1))))
    if kind is cc.Kind.CONTENT or rng.random() < 0.6:
        return content
    report = {g.name: cmpp_value(rng, g, version, {}) for g in cc.REPORT_LAYOUTS[version]}
    return pk.StatusReport(**report)


def cmpp_packet(rng: random.Random, version: Version, cls: type[pk.Packet] | None = None, **fixed: Any) -> pk.Packet:
    cls = cls or rng.choice(pk.ALL_PACKET_TYPES)
    values: dict[str, Any] = {"sequence_id": rng.getrandbits(32)}
    for f in cc.LAYOUTS[version][cls]:
        values[f.name] = fixed[f.name] if f.name in fixed else cmpp_value(rng, f, version, values)
    if "sequence_id" in fixed:
        values["sequence_id"] = fixed["sequence_id"]
    return cls(**values)


def cmpp_fix_length(raw: bytearray) -> None:
    _set_u32(raw, 0, len(raw))


def cmpp_input(rng: random.Random, valid: bytes, other: bytes, tally: Tally, bad: float = 0.65) -> bytes:
    r = rng.random()
    if r >= bad:
        tally.inputs["valid"] += 1
        return valid
    if r < bad * 0.9:
        tally.inputs["mutated"] += 1
        return mutate(rng, valid, other, 12, cmpp_fix_length)
    tally.inputs["random"] += 1
    return random_bytes(rng)


def cmpp_decode_checked(frame: bytes, version: Version) -> pk.Packet | None:
    try:
        packet = cc.decode(frame, version)
    except CmppFramingError as err:
        raise InvariantError(f"decode raised FramingError for a framed packet: {err}") from err
    except CmppDecodeError:
        return None
    again = cc.encode(packet, version)
    check(cc.decode(again, version) == packet, f"decode(encode(decode(x))) differs for {type(packet).__name__}")
    check(cc.encode(cc.decode(again, version), version) == again, "encoding is not canonical")
    return packet


def cmpp_frames_checked(data: bytes, pieces: list[bytes], max_size: int, version: Version) -> None:
    def run(chunks: list[bytes]) -> tuple[list[bytes], str | None, int]:
        buf, out = CmppFrameBuffer(max_size), []
        try:
            for chunk in chunks:
                buf.feed(chunk)
                while (frame := buf.next_frame()) is not None:
                    out.append(frame)
        except CmppFramingError as err:
            return out, err.detail, -1  # raised as soon as the header is in, however much followed
        return out, None, len(buf)

    whole, pieced = run([data]), run(pieces)
    check(whole == pieced, "framing depends on where the stream is cut")
    for frame in whole[0]:
        check(12 <= len(frame) <= max_size, "a frame outside the bounds")
        cmpp_decode_checked(frame, version)


def cmpp_codec_input(rng: random.Random, tally: Tally) -> None:
    version = rng.choice((Version.V20, Version.V30))
    valid = cmpp_packet(rng, version)
    raw = cc.encode(valid, version)
    check(cc.decode(raw, version) == valid, f"{type(valid).__name__} does not round-trip")
    other = cc.encode(cmpp_packet(rng, version), version)
    data = cmpp_input(rng, raw, other, tally)
    if len(data) >= 12:
        cmpp_decode_checked(data, version)
        cmpp_decode_checked(data, Version.V20 if version is Version.V30 else Version.V30)  # the wrong layout
    else:
        try:
            cc.decode(data, version)
            raise InvariantError("a frame shorter than the header decoded")
        except CmppDecodeError:
            pass
    stream = data + (other if rng.random() < 0.5 else b"")
    cmpp_frames_checked(stream, cuts(rng, stream), rng.choice((512, 4096)), version)


def cmpp_codec_case(rng: random.Random, tally: Tally) -> None:
    for _ in range(CODEC_INPUTS_PER_CASE):
        cmpp_codec_input(rng, tally)


# ---- CMPP: one connection's life ------------------------------------------------------------


CMPP_SEEN = _SeenRequests(8)
# Six logins that succeed, four refused (version too high, wrong secret, unknown SP, version too low).
LOGINS = (("900001", "demo1234", 0x30), ("900001", "demo1234", 0x30), ("900001", "demo1234", 0x20),
          ("900002", "demo5678", 0x21), ("900002", "demo5678", 0x20), ("900002", "demo5678", 0x21),
          ("900002", "demo5678", 0x30), ("900001", "nope", 0x30), ("123456", "x", 0x30),
          ("900001", "demo1234", 0x10))  # fmt: skip
UDHS = (b"", bytes((5, 0, 3, 1, 2, 1)), bytes((6, 8, 4, 0, 1, 2, 2)), bytes((5, 0, 3, 1, 2, 3)), b"\x09", b"\x00")


@dataclass(slots=True)
class CmppRun:
    rng: random.Random
    tally: Tally
    config: CmppConfig
    bad: float
    now: float = 0.0
    session: CMPPServerSession = field(init=False)
    deferred: list[pk.Packet] = field(default_factory=list)
    sent: dict[int, pk.Deliver] = field(default_factory=dict)
    ended: Counter[int] = field(default_factory=Counter)
    to_answer: list[pk.Packet] = field(default_factory=list)
    answered: Counter[int] = field(default_factory=Counter)
    peer_seq: int = 1
    login_version: Version = Version.V30
    last_violation: int | None = None

    def __post_init__(self) -> None:
        self.session = CMPPServerSession(self.config, lookup, self.now)
        CMPP_SEEN.counts.clear()

    def handle(self, events: list[Any]) -> None:
        rng = self.rng
        for event in events:
            self.tally.events[type(event).__name__] += 1
            if isinstance(event, SubmitReceived | QueryReceived | CmppCancelReceived):
                request = event.submit if isinstance(event, SubmitReceived) else (
                    event.query if isinstance(event, QueryReceived) else event.cancel)  # fmt: skip
                if rng.random() < 0.5:
                    self.answer(request)
                else:
                    self.deferred.append(request)
            elif isinstance(event, DeliverAcknowledged | DeliverTimedOut):
                seq = event.deliver.sequence_id
                check(seq in self.sent and self.sent[seq] == event.deliver, "an outcome for no DELIVER of ours")
                self.ended[seq] += 1
                check(self.ended[seq] == 1, f"DELIVER {seq} ended twice")
                del self.sent[seq]
            elif isinstance(event, CmppViolation):
                self.last_violation = event.sequence_id
            elif isinstance(event, CmppClose):
                check(self.session.closed, "CloseConnection while the session stays open")

    def answer(self, request: pk.Packet) -> None:
        s, rng = self.session, self.rng  # answered even after a close: the session drops it
        if isinstance(request, pk.Submit):
            s.respond_submit(request.sequence_id, rng.getrandbits(64), self.now, rng.choice((0, 0, 8, 5)))
        elif isinstance(request, pk.Query):
            s.respond_query(pk.QueryResp(sequence_id=request.sequence_id, mt_tlmsg=rng.getrandbits(32)), self.now)
        else:
            s.respond_cancel(request.sequence_id, rng.random() < 0.5, self.now)

    def next_seq(self) -> int:
        r = self.rng.random()
        if r < 0.08 and self.peer_seq > 1:
            return self.rng.randrange(1, self.peer_seq)
        if r < 0.1:
            return self.rng.getrandbits(32)
        self.peer_seq += 1
        return self.peer_seq

    def peer_packet(self) -> tuple[pk.Packet, Version]:
        rng, s = self.rng, self.session
        version = s.version
        r = rng.random()
        if (not s.connected and r < 0.9) or r < 0.02:
            sp_id, secret, asked = rng.choice(LOGINS)
            connect = pk.Connect(
                sequence_id=self.next_seq(),
                source_addr=sp_id,
                authenticator_source=authenticator_source(sp_id, secret, TIMESTAMP),
                version=asked,
                timestamp=TIMESTAMP,
            )
            return connect, rng.choice((Version.V20, Version.V30))
        if self.to_answer and r < 0.45:
            request = self.to_answer.pop(rng.randrange(len(self.to_answer)))
            if rng.random() < 0.1:
                self.to_answer.append(request)
            cls = pk.RESPONSE_OF[type(request)]
            if rng.random() < 0.05:
                cls = rng.choice((pk.SubmitResp, pk.DeliverResp, pk.ActiveTestResp))
            return cmpp_packet(rng, version, cls, sequence_id=request.sequence_id), version
        if r < 0.85:
            account = s.account or ACCOUNTS["900001"]
            udh = rng.choice(UDHS)
            fixed: dict[str, Any] = {"sequence_id": self.next_seq()}
            if rng.random() < 0.8:
                fixed.update(msg_src=account.sp_id, src_id=account.service_code + rng.choice(("", "1", "99")))
            if rng.random() < 0.7:
                fixed.update(tp_udhi=1 if udh else 0, msg_fmt=rng.choice((0, 8, 15)), pk_total=1, pk_number=1)
                fixed["content"] = udh + rng.randbytes(rng.randrange(100))
            cls = rng.choice((pk.Submit, pk.Submit, pk.Submit, pk.Submit, pk.Query, pk.Cancel))
            return cmpp_packet(rng, version, cls, **fixed), version
        if r < 0.9:
            return pk.ActiveTest(sequence_id=self.next_seq()), version
        if r < 0.905:
            return pk.Terminate(sequence_id=self.next_seq()), version
        return cmpp_packet(rng, version, sequence_id=self.next_seq()), version

    def check_output(self, was_closed: bool) -> None:
        s = self.session
        data = s.data_to_send()
        if was_closed:
            check(data == b"", "a closed session wrote")
        for frame in split_frames(data, 12):
            # A refused CONNECT is answered in the client's layout, the rest in the session's.
            try:
                packet = cc.decode(frame, s.version)
                layout = s.version
            except CmppDecodeError:
                layout = Version.V20 if s.version is Version.V30 else Version.V30
                packet = cc.decode(frame, layout)
                check(isinstance(packet, pk.ConnectResp), f"{type(packet).__name__} written in the other layout")
            check(cc.encode(packet, layout) == frame, "output does not re-encode to the same bytes")
            seq = packet.sequence_id
            if packet.is_response:
                self.answered[seq] += 1
                allowed = CMPP_SEEN.counts[seq] + (1 if self.last_violation == seq else 0)
                check(self.answered[seq] <= allowed, f"request {seq} answered more often than sent")
            else:
                self.to_answer.append(packet)
        check(s.pending_requests <= self.config.max_pending_requests, "pending requests unbounded")
        check(s.outstanding <= self.config.window + 2, "outstanding requests unbounded")
        check(len(s._answered) <= self.config.max_remembered, "remembered sequence numbers unbounded")
        if s.closed:
            check(s.pending_requests == 0 and s.outstanding == 0, "a closed session keeps requests")
            check(s.next_deadline() is None, "a closed session keeps a deadline")
            check(not self.sent, "a closed session left DELIVERs without an outcome")
        else:
            check(len(s._frames) < self.config.max_packet_size, "the frame buffer grows past max_packet_size")

    def step(self) -> None:
        rng, s = self.rng, self.session
        was_closed = s.closed
        r = rng.random()
        if r < 0.6:
            pieces = []
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                packet, layout = self.peer_packet()
                raw = cc.encode(packet, layout)
                pieces.append(cmpp_input(rng, raw, cc.encode(cmpp_packet(rng, layout), layout), self.tally, self.bad))
            data = b"".join(pieces)
            for chunk in cuts(rng, data):
                events = s.receive_data(chunk, self.now)
                if was_closed:
                    check(events == [], "a closed session raised events")
                self.handle(events)
        elif r < 0.7 and self.deferred:
            self.answer(self.deferred.pop(rng.randrange(len(self.deferred))))
        elif r < 0.8 and s.window_open:
            content: bytes | pk.StatusReport
            if rng.random() < 0.5:
                content = pk.StatusReport(rng.getrandbits(64), "DELIVRD", "2612020707", "2612020708", "13800138000", 1)
            else:
                content = rng.randbytes(rng.randrange(141))
            deliver = pk.Deliver(src_terminal_id="13800138000", content=content, msg_fmt=8)
            seq = s.send_deliver(deliver, self.now)
            check(seq not in self.sent, "a Sequence_Id of ours reused while outstanding")
            self.sent[seq] = deliver.evolve(sequence_id=seq)
        elif r < 0.97:
            self.now += rng.choice((0.0, 0.1, 0.5, 1.0, 2.5, 5.0, 30.0))
            deadline = s.next_deadline()
            if (deadline is not None and deadline <= self.now) or rng.random() < 0.1:
                self.handle(s.handle_timers(self.now))
                after = s.next_deadline()
                check(after is None or after > self.now, "a deadline left in the past after handle_timers")
        elif r < 0.98:
            s.terminate(self.now)
        else:
            self.handle(s.connection_lost())
        self.tally.steps += 1
        self.check_output(was_closed)

    def finish(self) -> None:
        self.handle(self.session.connection_lost())
        check(not self.sent, f"DELIVERs of ours never ended: {sorted(self.sent)}")


def cmpp_session_case(rng: random.Random, tally: Tally) -> None:
    config = CmppConfig(
        connect_timeout=rng.choice((0, 5.0)),
        active_test_interval=rng.choice((0, 4.0)),
        response_timeout=rng.choice((2.0, 10.0)),
        max_tries=rng.choice((1, 3)),
        window=rng.choice((1, 3, 16)),
        max_pending_requests=rng.choice((1, 4, 16)),
        duplicate_memory=rng.choice((0.0, 6.0, 180.0)),
        max_remembered=rng.choice((2, 8, 4096)),
        max_packet_size=rng.choice((512, 4096)),
    )
    run = CmppRun(rng, tally, config, rng.choice(HOSTILITY))
    tally.sessions += 1
    for _ in range(rng.randint(5, 60)):
        run.step()
        if run.session.closed and rng.random() < 0.5:
            break
    run.finish()


# ---- the runner -----------------------------------------------------------------------------


TARGETS: dict[str, tuple[int, Callable[[random.Random, Tally], None], Callable[[random.Random, Tally], None]]] = {
    "smpp": (1, smpp_codec_case, smpp_session_case),
    "cmpp": (2, cmpp_codec_case, cmpp_session_case),
}


def case_rng(seed: int, target: str, case: int) -> random.Random:
    return random.Random((seed * 4 + TARGETS[target][0]) * 1_000_000_007 + case)


@contextmanager
def counting_requests() -> Iterator[None]:
    """While fuzzing, the CMPP session's ``decode`` counts the request frames it takes, so no
    request can be answered more often than it was sent (restored afterwards).  The SMPP session
    may be compiled, where a module global cannot be swapped: its frames are counted through
    ``receive_data``'s ``frame_seen`` tap instead."""
    saved = cmpp_session_module.decode  # type: ignore[attr-defined]
    cmpp_session_module.decode = CMPP_SEEN.wrap(cc.decode)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        cmpp_session_module.decode = saved  # type: ignore[attr-defined]


def run_case(seed: int, target: str, case: int, tally: Tally) -> None:
    _, codec_case, session_case = TARGETS[target]
    rng = case_rng(seed, target, case)
    before = tally.total
    try:
        with counting_requests():
            (session_case if case % 2 else codec_case)(rng, tally)
    finally:
        tally.layers["session" if case % 2 else "codec"] += tally.total - before


def save_failure(directory: Path, seed: int, target: str, case: int, error: BaseException) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    recorder = _Recorder(inputs)
    with suppress(Exception):  # the failure comes again: only the inputs are wanted
        recorder.replay(seed, target, case)
    path = directory / f"fuzz-{target}-seed{seed}-case{case}.json"
    path.write_text(
        json.dumps(
            {
                "seed": seed,
                "target": target,
                "case": case,
                "error": f"{type(error).__name__}: {error}",
                "traceback": "".join(traceback.format_exception(error)),
                "inputs_hex": inputs,
                "replay": f"python tests/fuzz_long.py --replay {path}",
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return path


class _Recorder:
    """Replays a case with the sessions' and decoders' input recorded (for the failure file)."""

    def __init__(self, inputs: list[str]) -> None:
        self.inputs = inputs

    def replay(self, seed: int, target: str, case: int) -> None:
        originals = (SMPPSession.receive_data, CMPPServerSession.receive_data, sc.decode, cc.decode)
        inputs = self.inputs

        def smpp_receive(session: SMPPSession, data: bytes, now: float, frame_seen: Any = None) -> Any:
            inputs.append(f"t={now} {data.hex()}")
            return originals[0](session, data, now, frame_seen)

        def cmpp_receive(session: CMPPServerSession, data: bytes, now: float) -> Any:
            inputs.append(f"t={now} {data.hex()}")
            return originals[1](session, data, now)

        SMPPSession.receive_data = smpp_receive  # type: ignore[method-assign,assignment]
        CMPPServerSession.receive_data = cmpp_receive  # type: ignore[method-assign,assignment]
        try:
            run_case(seed, target, case, Tally())
        finally:
            SMPPSession.receive_data, CMPPServerSession.receive_data = originals[0], originals[1]  # type: ignore[method-assign]


@dataclass(slots=True)
class Report:
    seed: int
    tallies: dict[str, Tally]
    wall: float
    cpu: float
    failures: list[Path]

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tallies.values())

    def lines(self) -> list[str]:
        rate = self.total / self.wall if self.wall else 0.0
        out = [
            f"seed {self.seed}: {self.total:,} inputs in {self.wall:.1f} s wall, {self.cpu:.1f} s CPU "
            f"({rate:,.0f} inputs/s), {len(self.failures)} failing case(s)"
        ]
        for name, t in self.tallies.items():
            kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(t.inputs.items()))
            out.append(
                f"  {name}: {t.total:,} inputs ({kinds}) in {t.cases:,} cases, "
                f"{t.sessions:,} sessions, {t.steps:,} session steps, {t.failures} failure(s)"
            )
            out.append(f"    {t.layers['codec']:,} decoded directly, {t.layers['session']:,} fed to sessions")
            out.append("    events: " + ", ".join(f"{n:,} {kind}" for kind, n in sorted(t.events.items())))
        out.extend(f"  failure saved: {path}" for path in self.failures)
        return out


def fuzz(
    seed: int,
    count: int,
    seconds: float,
    targets: list[str],
    failures_dir: Path,
    *,
    max_failures: int = 10,
    progress: float = 0.0,
) -> Report:
    """Run cases round-robin over ``targets`` until ``count`` inputs were fed or ``seconds`` passed."""
    tallies = {name: Tally() for name in targets}
    saved: list[Path] = []
    start, cpu0 = time.perf_counter(), time.process_time()
    deadline = start + seconds
    next_report = start + progress if progress else float("inf")
    case = 0
    while sum(t.total for t in tallies.values()) < count and len(saved) < max_failures:
        for name in targets:
            tally = tallies[name]
            tally.cases += 1
            try:
                run_case(seed, name, case, tally)
            except Exception as error:  # every exception is a finding
                tally.failures += 1
                path = save_failure(failures_dir, seed, name, case, error)
                saved.append(path)
                print(f"FAIL {name} case {case}: {type(error).__name__}: {error}\n  saved to {path}", flush=True)
        case += 1
        if case % 64 == 0:
            now = time.perf_counter()
            if now >= deadline:
                break
            if now >= next_report:
                total = sum(t.total for t in tallies.values())
                print(f"... {total:,} inputs, {now - start:.0f} s, {total / (now - start):,.0f}/s", flush=True)
                next_report = now + progress
    return Report(seed, tallies, time.perf_counter() - start, time.process_time() - cpu0, saved)


def replay(path: Path) -> int:
    record = json.loads(path.read_text(encoding="utf-8"))
    print(f"replaying {record['target']} seed {record['seed']} case {record['case']}: {record['error']}")
    try:
        run_case(record["seed"], record["target"], record["case"], Tally())
    except Exception:
        traceback.print_exc()
        return 1
    print("passes now")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Long seeded fuzzing of the SMPP and CMPP codecs and sessions (see the module docstring)."
    )
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (default 1); a run replays exactly")
    parser.add_argument("--count", type=int, default=100_000, help="stop after this many inputs (default 100000)")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop after this much wall time (default 600)")
    parser.add_argument("--target", choices=("smpp", "cmpp", "all"), default="all", help="what to fuzz (default all)")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures"), help="folder for failing cases")
    parser.add_argument("--max-failures", type=int, default=10, help="stop after this many failing cases")
    parser.add_argument("--progress", type=float, default=30.0, help="print a progress line every N s (0: never)")
    parser.add_argument("--replay", type=Path, help="run one saved failing case again and exit")
    args = parser.parse_args(argv)
    if args.replay is not None:
        return replay(args.replay)
    targets = ["smpp", "cmpp"] if args.target == "all" else [args.target]
    report = fuzz(
        args.seed,
        args.count,
        args.seconds,
        targets,
        args.failures,
        max_failures=args.max_failures,
        progress=args.progress,
    )
    print("\n".join(report.lines()))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
