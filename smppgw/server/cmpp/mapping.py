"""Pure translations between CMPP and the gateway's records.

The store keeps one id per message.  A message submitted over CMPP is stored under the decimal
form of its Msg_Id (MMDDHHMMSS + 7-digit gateway code + 5-digit sequence, 22 digits), so the same
id is the SMPP message_id (query_sm, receipts' ``id:``, the admin API) and converts back to the
64-bit Msg_Id exactly.  A message submitted over SMPP has no Msg_Id; its report over CMPP carries
the numeric value of its id (hex or decimal form), or its sequence number.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ...cmpp import packets as pk
from ...cmpp.constants import MsgFmt, Result
from ...cmpp.deliveries import mo_delivers, report_time
from ...cmpp.msgid import MsgId
from ...model import STAT_WORDS, Delivery, Message, MessageState
from ...protocol import pdu as p
from ...protocol.coding import decode_text
from ...protocol.constants import ESM_CLASS_UDHI, CommandStatus, Tag

S = CommandStatus

# Vendor Results (the spec leaves 100-199 to the gateway, each with one meaning).
NO_BALANCE = 100
NO_SIGNATURE = 101
CONTENT_REFUSED = 102
OUTSIDE_SEND_WINDOW = 103
OPTED_OUT = 104
ACCOUNT_SUSPENDED = 105
NOT_ACCEPTED = 106  # no tariff, an unsupported coding: refused by the gateway's rules
SYSTEM_ERROR = 107  # a carrier down (when_all_down = "reject"), the store failed

VENDOR_RESULTS: dict[int, str] = {
    NO_BALANCE: "the account's balance does not cover the message",
    NO_SIGNATURE: "the text lacks the account's registered signature",
    CONTENT_REFUSED: "the content rules refused the text",
    OUTSIDE_SEND_WINDOW: "outside the account's send window",
    OPTED_OUT: "the destination opted out of the account's messages",
    ACCOUNT_SUSPENDED: "the account is suspended",
    NOT_ACCEPTED: "the gateway does not take this message (no tariff, unsupported coding)",
    SYSTEM_ERROR: "system error (carrier down, store failure)",
}

_RESULT_OF_STATUS: dict[int, int] = {
    S.ESME_RTHROTTLED: Result.FLOW_CONTROL,
    S.ESME_RMSGQFUL: Result.FLOW_CONTROL,
    S.ESME_RINVDSTADR: Result.BAD_DEST_TERMINAL_ID,
    S.ESME_RINVSRCADR: Result.BAD_SRC_ID,
    S.ESME_RINVMSGLEN: Result.BAD_LENGTH,
    S.ESME_RINVEXPIRY: Result.BAD_STRUCTURE,
    S.ESME_RINVSCHED: Result.BAD_STRUCTURE,
    S.ESME_RINVESMCLASS: Result.BAD_STRUCTURE,
    S.ESME_RINVOPTPARAMVAL: Result.BAD_STRUCTURE,
    S.ESME_RINVREGDLVFLG: Result.BAD_STRUCTURE,
    S.ESME_RINVPRTFLG: Result.BAD_STRUCTURE,
    S.ESME_RSUBMITFAIL: NOT_ACCEPTED,
    S.ESME_RSYSERR: SYSTEM_ERROR,
    S.SMPPGW_RNOBALANCE: NO_BALANCE,
    S.SMPPGW_RNOSIGNATURE: NO_SIGNATURE,
    S.SMPPGW_RCONTENT: CONTENT_REFUSED,
    S.SMPPGW_RQUIETHOURS: OUTSIDE_SEND_WINDOW,
    S.SMPPGW_ROPTEDOUT: OPTED_OUT,
    S.SMPPGW_RSUSPENDED: ACCOUNT_SUSPENDED,
}


def result_of(status: int) -> int:
    """The SUBMIT_RESP Result for the gateway's refusal ``status`` (a submit_sm_resp status)."""
    return _RESULT_OF_STATUS.get(status, NOT_ACCEPTED)


_ZONES: dict[int, timezone] = {}


def local_time(at: float, utc_offset_minutes: int) -> datetime:
    # Several calls per message: the zone is made once per offset, not each time.
    zone = _ZONES.get(utc_offset_minutes)
    if zone is None:
        zone = _ZONES[utc_offset_minutes] = timezone(timedelta(minutes=utc_offset_minutes))
    return datetime.fromtimestamp(at, zone)


def submit_sms(submit: pk.Submit, source_addr: str) -> list[p.SubmitSm]:
    """One submit_sm per destination of ``submit``, as the pipeline takes them.

    Msg_Fmt 0 (ASCII) becomes data_coding 1 (IA5), so it is never read as GSM 7-bit; 8, 15 and 4
    are the same numbers in SMPP.  A UDH part keeps its UDH (esm_class UDHI); a part marked only
    by Pk_total/Pk_number carries them as SAR TLVs (reference 0), so the parts meet in compliance.
    """
    data_coding = 1 if submit.msg_fmt == MsgFmt.ASCII else submit.msg_fmt
    tlvs: tuple[p.Tlv, ...] = ()
    if not submit.tp_udhi and submit.pk_total > 1:
        tlvs = (
            p.int_tlv(Tag.SAR_MSG_REF_NUM, 0, 2),
            p.int_tlv(Tag.SAR_TOTAL_SEGMENTS, submit.pk_total),
            p.int_tlv(Tag.SAR_SEGMENT_SEQNUM, submit.pk_number),
        )
    return [
        p.SubmitSm(
            sequence_number=submit.sequence_id,
            source_addr=source_addr,
            dest_addr_ton=0,
            dest_addr_npi=1,
            destination_addr=destination.removeprefix("+"),
            esm_class=ESM_CLASS_UDHI if submit.tp_udhi else 0,
            priority_flag=min(submit.msg_level, 3),
            schedule_delivery_time=submit.at_time,
            validity_period=submit.valid_time,
            registered_delivery=1 if submit.registered_delivery else 0,
            data_coding=data_coding,
            short_message=submit.content,
            tlvs=tlvs,
        )
        for destination in submit.dest_terminal_ids
    ]


def msg_id_of(message_id: str, seq: int = 0) -> int:
    """The 64-bit Msg_Id behind a stored message id (see the module's docstring)."""
    if len(message_id) == 22 and message_id.isdigit():
        try:
            return int(MsgId.from_decimal(message_id))
        except ValueError:
            pass
    try:
        value = int(message_id, 10 if message_id.isdigit() else 16)
    except ValueError:
        return seq
    return value if 0 <= value < 1 << 64 else seq


def message_id_of(msg_id: int) -> str:
    """The stored id of the message a CMPP client names by ``msg_id`` (QUERY's and CANCEL's)."""
    try:
        return MsgId.from_int(msg_id).decimal
    except ValueError:
        return ""


def stat_of(message: Message | None, state: int) -> str:
    """The 7-character Stat of a report: the carrier plan's code when it is one (MK:0001, MA:0054),
    else the state's word (DELIVRD, UNDELIV, EXPIRED, REJECTD ...)."""
    code = message.code if message is not None else ""
    if len(code) == 7 and code.isascii() and code.isprintable():
        return code
    try:
        return STAT_WORDS.get(MessageState(state), "UNKNOWN")
    except ValueError:
        return "UNKNOWN"


def report_deliver(
    delivery: Delivery, message: Message | None, *, deliver_id: int, utc_offset_minutes: int
) -> pk.Deliver:
    """The status report DELIVER of a receipt ``delivery`` (``message``: the receipted message,
    when the store still has it).  ``deliver_id``: the DELIVER's own new Msg_Id."""
    done = delivery.created_at if message is None or message.final_at is None else message.final_at
    submitted = message.submitted_at if message is not None else done
    phone = delivery.source_addr.removeprefix("+")  # receipts swap the addresses: source is the handset
    return pk.Deliver(
        msg_id=deliver_id,
        dest_id=delivery.destination_addr,
        src_terminal_id=phone,
        content=pk.StatusReport(
            msg_id=msg_id_of(delivery.message_id, message.seq if message is not None else 0),
            stat=stat_of(message, delivery.state),
            submit_time=report_time(local_time(submitted, utc_offset_minutes)),
            done_time=report_time(local_time(done, utc_offset_minutes)),
            dest_terminal_id=phone,
        ),
    )


def mo_deliver_packets(delivery: Delivery, *, deliver_id: int, dc0: str) -> list[pk.Deliver]:
    """The DELIVERs of an MO ``delivery``: one, or UDH parts when the text does not fit one."""
    text = decode_text(delivery.data_coding, delivery.body, dc0=dc0)
    return mo_delivers(
        text,
        delivery.source_addr.removeprefix("+"),
        delivery.destination_addr,
        ref=delivery.delivery_id & 0xFF,
        msg_id=deliver_id,
    )
