"""Coverage-guided fuzzing of the codec and the pure session with a hypothesis state machine.

Hypothesis drives one SMPPSession through any interleaving of well-formed PDUs, mutated and
truncated PDUs, random bytes (split at arbitrary points), bind decisions, answers, deliveries,
time passing and connection loss.  Whatever it is fed, the session must not raise, must write only
well-formed PDUs, must keep its bounds, and must go silent once closed.

The suite runs a bounded number of examples; a longer run (figures in docs/reliability.md):

    SMPPGW_FUZZ_EXAMPLES=20000 python -m pytest tests/unit/test_fuzz_session.py -p no:cacheprovider -s
"""

from __future__ import annotations

import itertools
import os
import struct
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from hypothesis_budget import examples
from pdu_strategies import any_pdu, pdu_of

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.protocol.events import BindRequested, CloseConnection, RequestReceived
from smppgw.protocol.session import SessionConfig, SMPPSession

EXAMPLES = int(os.environ.get("SMPPGW_FUZZ_EXAMPLES", str(examples(60))))
CONFIG = SessionConfig(
    session_init_timeout=5,
    enquire_link_interval=3,
    inactivity_timeout=20,
    response_timeout=2,
    max_pdu_size=4096,
    max_pending_requests=4,
)
# What the machine fed, over all examples (printed by the long run, recorded in the docs).
FED: Counter[str] = Counter()

BINDS = st.sampled_from([p.BindTransmitter, p.BindReceiver, p.BindTransceiver]).flatmap(pdu_of)
REQUESTS = st.sampled_from([p.SubmitSm, p.QuerySm, p.CancelSm, p.ReplaceSm, p.DataSm, p.EnquireLink, p.Unbind])


def frames(data: bytes) -> list[bytes]:
    """Split what the session wrote into PDUs; fails on anything that is not whole PDUs."""
    out = []
    while data:
        assert len(data) >= 16, f"a partial PDU was written: {data!r}"
        (length,) = struct.unpack(">I", data[:4])
        assert 16 <= length <= len(data), f"bad command_length {length} written"
        out.append(data[:length])
        data = data[length:]
    return out


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.session = SMPPSession(CONFIG, self.now)
        self.binds: list[p.Pdu] = []
        self.requests: list[p.Pdu] = []
        self.closed_seen = False

    def _feed(self, data: bytes, cuts: list[int], kind: str) -> None:
        FED[kind] += 1
        was_closed = self.session.closed
        points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
        for start, end in itertools.pairwise(points):
            events = self.session.receive_data(data[start:end], self.now)
            if was_closed:
                assert events == []
            self._take(events)

    def _take(self, events: list[object]) -> None:
        for event in events:
            if isinstance(event, BindRequested):
                self.binds.append(event.pdu)
            elif isinstance(event, RequestReceived):
                self.requests.append(event.pdu)
            elif isinstance(event, CloseConnection):
                self.closed_seen = True

    # ---- input --------------------------------------------------------------------------

    @rule(pdu=any_pdu(), cuts=st.lists(st.integers(0, 600), max_size=3))
    def well_formed(self, pdu: p.Pdu, cuts: list[int]) -> None:
        self._feed(codec.encode(pdu), cuts, "well-formed PDU")

    @rule(pdu=BINDS)
    def bind(self, pdu: p.Pdu) -> None:
        self._feed(codec.encode(pdu), [], "bind")

    @rule(cls=REQUESTS, data=st.data())
    def request(self, cls: type[p.Pdu], data: st.DataObject) -> None:
        self._feed(codec.encode(data.draw(pdu_of(cls))), [], "request")

    @rule(
        pdu=any_pdu(),
        flips=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)), min_size=1, max_size=4),
        cut=st.integers(0, 400),
    )
    def mutated(self, pdu: p.Pdu, flips: list[tuple[int, int]], cut: int) -> None:
        raw = bytearray(codec.encode(pdu))
        for where, xor in flips:
            raw[where % len(raw)] ^= xor
        self._feed(bytes(raw[: max(cut, 4)]) if cut < len(raw) else bytes(raw), [], "malformed PDU")

    @rule(
        command_id=st.integers(0, 0xFFFF_FFFF),
        length=st.integers(0, 5000),
        body=st.binary(max_size=80),
    )
    def header(self, command_id: int, length: int, body: bytes) -> None:
        self._feed(struct.pack(">IIII", length, command_id, 0, 7) + body, [], "malformed PDU")

    @rule(data=st.binary(min_size=1, max_size=200), cuts=st.lists(st.integers(0, 200), max_size=3))
    def garbage(self, data: bytes, cuts: list[int]) -> None:
        self._feed(data, cuts, "random bytes")

    # ---- the host's side ------------------------------------------------------------------

    @precondition(lambda self: self.binds)
    @rule(ok=st.booleans())
    def decide_bind(self, ok: bool) -> None:
        bind = self.binds.pop(0)
        if self.session.closed:
            return
        self._take(self.session.complete_bind(bind, S.ESME_ROK if ok else S.ESME_RINVPASWD, self.now))

    @precondition(lambda self: self.requests)
    @rule(status=st.sampled_from([S.ESME_ROK, S.ESME_RINVMSGID, S.ESME_RTHROTTLED]))
    def answer(self, status: int) -> None:
        request = self.requests.pop(0)
        if self.session.closed:
            return
        self.session.respond(
            p.RESPONSE_OF[type(request)](sequence_number=request.sequence_number, command_status=status)
        )

    @precondition(lambda self: self.session.can_receive)
    @rule(body=st.binary(max_size=160))
    def deliver(self, body: bytes) -> None:
        self.session.send_request(p.DeliverSm(source_addr="13800138000", short_message=body), self.now)

    @rule(seconds=st.floats(0, 30))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        deadline = self.session.next_deadline()
        if deadline is not None and deadline <= self.now:
            self._take(self.session.handle_timers(self.now))

    @rule()
    def connection_lost(self) -> None:
        self.session.connection_lost()
        assert self.session.closed and self.session.next_deadline() is None

    # ---- what must always hold --------------------------------------------------------------

    @invariant()
    def writes_only_whole_decodable_pdus(self) -> None:
        for frame in frames(self.session.data_to_send()):
            codec.decode(frame)  # raises on anything we could not read back ourselves

    @invariant()
    def bounded(self) -> None:
        assert self.session.pending_requests <= CONFIG.max_pending_requests
        if self.session.closed:
            assert self.session.pending_requests == 0


SessionMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestSession = SessionMachine.TestCase


def teardown_module() -> None:
    if os.environ.get("SMPPGW_FUZZ_EXAMPLES"):
        total = sum(FED.values())
        print(f"\nfuzz: {total} inputs fed: " + ", ".join(f"{n} {kind}" for kind, n in FED.most_common()))
