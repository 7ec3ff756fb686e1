"""Coverage-guided fuzzing of the CMPP codec and server session with a hypothesis state machine.

Hypothesis drives one CMPPServerSession through any interleaving of logins (good, bad and in
either version), well-formed packets, mutated and truncated packets, random bytes split at any
point, the host's answers, DELIVERs, time passing and connection loss.  Whatever it is fed, the
session must not raise, must write only whole packets it can read back in its own layout, must
keep its bounds, and must go silent once closed.

    CMPP_FUZZ_EXAMPLES=20000 python -m pytest tests/unit/cmpp/test_cmpp_fuzz_session.py -p no:cacheprovider
"""

from __future__ import annotations

import itertools
import os
import struct

from cmpp_client import connect_packet, lookup
from cmpp_strategies import any_packet, packet_of
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from hypothesis_budget import examples

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import decode, encode
from smppgw.cmpp.constants import Result, Version
from smppgw.cmpp.events import CancelReceived, CloseConnection, QueryReceived, SubmitReceived
from smppgw.cmpp.session import CMPPServerSession, SessionConfig

EXAMPLES = int(os.environ.get("CMPP_FUZZ_EXAMPLES", str(examples(60))))
CONFIG = SessionConfig(
    connect_timeout=5,
    active_test_interval=4,
    response_timeout=2,
    max_tries=3,
    window=3,
    max_pending_requests=4,
    duplicate_memory=6,
    max_remembered=8,
    max_packet_size=4096,
)
VERSIONS = st.sampled_from(list(Version))
LOGINS = st.sampled_from(
    [("900001", "demo1234", 0x30), ("900001", "demo1234", 0x20), ("900002", "demo5678", 0x21),
     ("900002", "demo5678", 0x30), ("900001", "nope", 0x30), ("123456", "x", 0x30)]
)  # fmt: skip
REQUESTS = st.sampled_from([pk.Submit, pk.Query, pk.Cancel, pk.ActiveTest, pk.Terminate, pk.Deliver])


def frames(data: bytes) -> list[bytes]:
    out = []
    while data:
        assert len(data) >= 12, f"a partial packet was written: {data!r}"
        (length,) = struct.unpack(">I", data[:4])
        assert 12 <= length <= len(data), f"bad Total_Length {length} written"
        out.append(data[:length])
        data = data[length:]
    return out


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.session = CMPPServerSession(CONFIG, lookup, self.now)
        self.waiting: list[pk.Packet] = []

    def _feed(self, data: bytes, cuts: list[int]) -> None:
        was_closed = self.session.closed
        points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
        for start, end in itertools.pairwise(points):
            events = self.session.receive_data(data[start:end], self.now)
            if was_closed:
                assert events == []
            for event in events:
                if isinstance(event, SubmitReceived):
                    self.waiting.append(event.submit)
                elif isinstance(event, QueryReceived):
                    self.waiting.append(event.query)
                elif isinstance(event, CancelReceived):
                    self.waiting.append(event.cancel)
                elif isinstance(event, CloseConnection):
                    assert self.session.closed

    def _open(self, login: tuple[str, str, int] | None, layout: Version) -> None:
        self.session = CMPPServerSession(CONFIG, lookup, self.now)
        self.waiting.clear()
        if login is not None:
            self._feed(encode(connect_packet(*login), layout), [])
            self.check_output()

    # Most garbage closes the connection, so open a fresh one (logged in or not) when it has.
    @initialize(login=st.one_of(st.none(), LOGINS), layout=VERSIONS)
    def start(self, login: tuple[str, str, int] | None, layout: Version) -> None:
        self._open(login, layout)

    @precondition(lambda self: self.session.closed)
    @rule(login=st.one_of(st.none(), LOGINS), layout=VERSIONS)
    def reconnect(self, login: tuple[str, str, int] | None, layout: Version) -> None:
        self.check_output()
        self._open(login, layout)

    # ---- input ------------------------------------------------------------------------------

    @rule(login=LOGINS, layout=VERSIONS)
    def connect(self, login: tuple[str, str, int], layout: Version) -> None:
        self.check_output()  # what was written so far is in the layout before the login
        self._feed(encode(connect_packet(*login), layout), [])

    @rule(version=VERSIONS, data=st.data(), cuts=st.lists(st.integers(0, 400), max_size=3))
    def well_formed(self, version: Version, data: st.DataObject, cuts: list[int]) -> None:
        self._feed(encode(data.draw(any_packet(version)), version), cuts)

    @rule(cls=REQUESTS, data=st.data())
    def request(self, cls: type[pk.Packet], data: st.DataObject) -> None:
        packet = data.draw(packet_of(cls, self.session.version))
        if isinstance(packet, pk.Submit) and data.draw(st.booleans()):
            packet = packet.evolve(msg_src="900001", src_id="10690000" if data.draw(st.booleans()) else "")
        if data.draw(st.booleans()):
            packet = packet.evolve(sequence_id=data.draw(st.integers(1, 6)))  # duplicates happen
        self._feed(encode(packet, self.session.version), [])

    @precondition(lambda self: self.session.account is not None and not self.session.closed)
    @rule(
        seq=st.integers(1, 8),
        udh=st.sampled_from([b"", bytes((5, 0, 3, 1, 2, 1)), bytes((6, 8, 4, 0, 1, 2, 2)), b"\x09"]),
        body=st.binary(max_size=120),
    )
    def good_submit(self, seq: int, udh: bytes, body: bytes) -> None:
        account = self.session.account
        assert account is not None
        submit = pk.Submit(
            sequence_id=seq,
            msg_src=account.sp_id,
            src_id=account.service_code + "1",
            dest_terminal_ids=("13800138000",),
            tp_udhi=1 if udh else 0,
            content=udh + body,
        )
        self._feed(encode(submit, self.session.version), [])

    @precondition(lambda self: not self.session.closed)
    @rule(
        version=VERSIONS,
        data=st.data(),
        flips=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)), min_size=1, max_size=4),
        cut=st.integers(0, 400),
    )
    def mutated(self, version: Version, data: st.DataObject, flips: list[tuple[int, int]], cut: int) -> None:
        raw = bytearray(encode(data.draw(any_packet(version)), version))
        for where, xor in flips:
            raw[where % len(raw)] ^= xor
        self._feed(bytes(raw[: max(cut, 4)]) if cut < len(raw) else bytes(raw), [])

    @precondition(lambda self: not self.session.closed)
    @rule(command_id=st.integers(0, 0xFFFF_FFFF), length=st.integers(0, 5000), body=st.binary(max_size=80))
    def header(self, command_id: int, length: int, body: bytes) -> None:
        self._feed(struct.pack(">III", length, command_id, 7) + body, [])

    @precondition(lambda self: not self.session.closed)
    @rule(data=st.binary(min_size=1, max_size=200), cuts=st.lists(st.integers(0, 200), max_size=3))
    def garbage(self, data: bytes, cuts: list[int]) -> None:
        self._feed(data, cuts)

    # ---- the host's side ----------------------------------------------------------------------

    @precondition(lambda self: self.waiting)
    @rule(result=st.sampled_from([Result.OK, Result.FLOW_CONTROL, Result.BAD_FEE_CODE]), msg_id=st.integers(0, 99))
    def answer(self, result: int, msg_id: int) -> None:
        request = self.waiting.pop(0)
        if self.session.closed:
            return
        if isinstance(request, pk.Submit):
            self.session.respond_submit(request.sequence_id, msg_id, self.now, result)
        elif isinstance(request, pk.Query):
            self.session.respond_query(pk.QueryResp(sequence_id=request.sequence_id, mt_tlmsg=msg_id), self.now)
        else:
            self.session.respond_cancel(request.sequence_id, bool(msg_id % 2), self.now)

    @precondition(lambda self: self.session.window_open)
    @rule(report=st.booleans(), body=st.binary(max_size=140))
    def deliver(self, report: bool, body: bytes) -> None:
        content: bytes | pk.StatusReport = pk.StatusReport(1, "DELIVRD", "", "", "13800138000", 1) if report else body
        self.session.send_deliver(pk.Deliver(src_terminal_id="13800138000", content=content), self.now)

    @precondition(lambda self: self.session.connected)
    @rule()
    def terminate(self) -> None:
        self.session.terminate(self.now)

    @rule(seconds=st.floats(0, 30))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        deadline = self.session.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.session.handle_timers(self.now)

    @rule()
    def connection_lost(self) -> None:
        self.session.connection_lost()
        assert self.session.closed and self.session.next_deadline() is None

    # ---- what must always hold ------------------------------------------------------------------

    @invariant()
    def check_output(self) -> None:
        data = self.session.data_to_send()
        for frame in frames(data):
            # A refused CONNECT is answered in the client's layout, the rest in the session's.
            try:
                decode(frame, self.session.version)
            except Exception:
                other = Version.V20 if self.session.version is Version.V30 else Version.V30
                packet = decode(frame, other)
                assert isinstance(packet, pk.ConnectResp), packet

    @invariant()
    def bounded(self) -> None:
        assert self.session.pending_requests <= CONFIG.max_pending_requests
        assert self.session.outstanding <= CONFIG.window + 2  # DELIVERs, plus an ACTIVE_TEST or TERMINATE
        if self.session.closed:
            assert self.session.pending_requests == 0 and self.session.outstanding == 0


SessionMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestCMPPSession = SessionMachine.TestCase
