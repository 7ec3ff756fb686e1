"""One frozen dataclass per CMPP packet an SP-facing gateway sends or receives.

A packet is the same Python value in 2.0 and 3.0; the codec's layout tables decide the wire
form (21- or 32-octet terminal ids, 1- or 4-octet results, Reserve or LinkID).  Fields that one
version lacks keep their default in the other.  Fixed-length octet strings are ``str`` (one
latin-1 character per octet, NUL padding removed); Msg_Content is ``bytes``, never interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, TypeVar

from .constants import CommandId

_P = TypeVar("_P", bound="Packet")


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    command_id: ClassVar[CommandId]
    sequence_id: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)

    def evolve(self: _P, **changes: object) -> _P:
        return replace(self, **changes)  # type: ignore[arg-type]


# ---- login and logout -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect(Packet):
    command_id = CommandId.CONNECT
    source_addr: str = ""  # SP_Id, 6 octets
    authenticator_source: bytes = bytes(16)
    version: int = 0x30
    timestamp: int = 0  # MMDDHHMMSS as an integer


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectResp(Packet):
    command_id = CommandId.CONNECT_RESP
    status: int = 0  # 1 octet in 2.0, 4 in 3.0
    authenticator_ismg: bytes = bytes(16)
    version: int = 0x30


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminate(Packet):
    command_id = CommandId.TERMINATE


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminateResp(Packet):
    command_id = CommandId.TERMINATE_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveTest(Packet):
    command_id = CommandId.ACTIVE_TEST


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveTestResp(Packet):
    command_id = CommandId.ACTIVE_TEST_RESP
    reserved: int = 0


# ---- messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit(Packet):
    command_id = CommandId.SUBMIT
    msg_id: int = 0  # the SP sends 0; the gateway fills it in
    pk_total: int = 1
    pk_number: int = 1
    registered_delivery: int = 0
    msg_level: int = 0
    service_id: str = ""
    fee_user_type: int = 0
    fee_terminal_id: str = ""
    fee_terminal_type: int = 0  # 3.0 only
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = 0
    msg_src: str = ""  # SP_Id
    fee_type: str = ""
    fee_code: str = ""
    valid_time: str = ""
    at_time: str = ""
    src_id: str = ""  # service code (+ extension): the sender the handset sees
    dest_terminal_ids: tuple[str, ...] = ()
    dest_terminal_type: int = 0  # 3.0 only
    content: bytes = b""
    link_id: str = ""  # 3.0 only
    reserve: str = ""  # 2.0 only


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResp(Packet):
    command_id = CommandId.SUBMIT_RESP
    msg_id: int = 0
    result: int = 0  # 1 octet in 2.0, 4 in 3.0


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Msg_Content of a DELIVER with Registered_Delivery = 1 (71 octets in 3.0, 60 in 2.0)."""

    msg_id: int = 0  # the Msg_Id of the SUBMIT_RESP
    stat: str = ""  # 7 characters: DELIVRD, UNDELIV, MA:0001 ...
    submit_time: str = ""  # YYMMDDHHMM
    done_time: str = ""  # YYMMDDHHMM
    dest_terminal_id: str = ""
    smsc_sequence: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver(Packet):
    """An MO message (``content`` is bytes) or a status report (``content`` is a StatusReport;
    Registered_Delivery is 1 on the wire exactly then)."""

    command_id = CommandId.DELIVER
    msg_id: int = 0
    dest_id: str = ""  # the SP's service number the handset sent to
    service_id: str = ""
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = 0
    src_terminal_id: str = ""
    src_terminal_type: int = 0  # 3.0 only
    content: bytes | StatusReport = b""
    link_id: str = ""  # 3.0 only
    reserve: str = ""  # 2.0 only

    @property
    def report(self) -> StatusReport | None:
        return self.content if isinstance(self.content, StatusReport) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverResp(Packet):
    command_id = CommandId.DELIVER_RESP
    msg_id: int = 0
    result: int = 0  # 1 octet in 2.0, 4 in 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Query(Packet):
    """Per-day statistics: Query_Type 0 totals, 1 for the Service_Id in Query_Code."""

    command_id = CommandId.QUERY
    time: str = ""  # YYYYMMDD
    query_type: int = 0
    query_code: str = ""
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryResp(Packet):
    command_id = CommandId.QUERY_RESP
    time: str = ""
    query_type: int = 0
    query_code: str = ""
    mt_tlmsg: int = 0  # MT messages received from the SP
    mt_tlusr: int = 0  # MT destinations received from the SP
    mt_scs: int = 0  # MT forwarded successfully
    mt_wt: int = 0  # MT waiting
    mt_fl: int = 0  # MT failed
    mo_scs: int = 0  # MO delivered to the SP
    mo_wt: int = 0
    mo_fl: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel(Packet):
    command_id = CommandId.CANCEL
    msg_id: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelResp(Packet):
    command_id = CommandId.CANCEL_RESP
    success_id: int = 0  # 0 failed, 1 cancelled; 1 octet in 2.0, 4 in 3.0


ALL_PACKET_TYPES: tuple[type[Packet], ...] = (
    Connect,
    ConnectResp,
    Terminate,
    TerminateResp,
    Submit,
    SubmitResp,
    Deliver,
    DeliverResp,
    Query,
    QueryResp,
    Cancel,
    CancelResp,
    ActiveTest,
    ActiveTestResp,
)
PACKET_BY_ID: dict[int, type[Packet]] = {cls.command_id: cls for cls in ALL_PACKET_TYPES}
RESPONSE_OF: dict[type[Packet], type[Packet]] = {
    Connect: ConnectResp,
    Terminate: TerminateResp,
    Submit: SubmitResp,
    Deliver: DeliverResp,
    Query: QueryResp,
    Cancel: CancelResp,
    ActiveTest: ActiveTestResp,
}
