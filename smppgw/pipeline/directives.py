"""A message that scripts its own outcome: the ``#smppgw:`` directive of an account that opted in
(``scripted_outcomes = true``), so one test drives any outcome without configuring anything.

Two forms carry the same ``key=value`` list, separated by commas:

* the text prefix: the decoded text (by the submit's data_coding) starts with ``#smppgw:`` and the
  directive runs to the first space or line break, which is stripped with it::

      #smppgw:receipt=UNDELIV,delay=2 Your code is 1234   ->   text "Your code is 1234"

  In a long message only its first part's text is read (part 1 of its UDH or SAR numbering): the
  text of later parts is the middle of the message;
* the private TLV ``0x1501`` (``DIRECTIVE_TAG``, vendor range), whose value is the list itself
  (ASCII, an ending NUL allowed), on any part; the text is then left alone.

Keys (each at most once; anything else refuses the submit with ``ESME_RINVOPTPARAMVAL``, the reason
naming the key):

``status``   command_status to answer the submit with (``0x58`` or ``88``); 0 accepts as usual
``receipt``  the final state: DELIVRD, UNDELIV, REJECTD, EXPIRED or UNKNOWN
``err``      the receipt's ``err:`` (0-999; default: the state's usual one, e.g. UNDELIV 006)
``code``     the carrier code kept with the message (default: the state's usual one)
``delay``    seconds from the carrier's acceptance to the receipt
``drop``     the carrier never reports (``drop`` or ``drop=1``): EXPIRED once the validity ends

Keys not given are drawn as usual, from the same random draws as without a directive.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from ..carriers.model import RULE_STATES, Script
from ..model import STAT_WORDS, MessageState
from ..protocol import pdu as p
from ..protocol.coding import decode_text, encode_text
from ..protocol.concat import concat_info, split_udh
from ..protocol.constants import ESM_CLASS_UDHI, CommandStatus, Tag

__all__ = [
    "DIRECTIVE_TAG",
    "MALFORMED_STATUS",
    "PREFIX",
    "Directive",
    "DirectiveError",
    "format_directive",
    "parse_directive",
    "split_text",
    "take_directive",
]

PREFIX = "#smppgw:"
DIRECTIVE_TAG = 0x1501
MALFORMED_STATUS = CommandStatus.ESME_RINVOPTPARAMVAL
KEYS = ("status", "receipt", "err", "code", "delay", "drop")
_CODE = re.compile(r"[A-Za-z0-9:_.-]{1,16}")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_MAX_DELAY = 30 * 86400.0  # beyond any validity a carrier keeps
_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
_BREAKS = (" ", "\r\n", "\n")
_HASH = ord("#")  # an int needle: `b"#" in` first tries its needle as an int and pays for the TypeError


class DirectiveError(ValueError):
    """A directive that cannot be read; ``key`` names the bad key ("" for the list as a whole)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"directive {key}: {problem}" if key else f"directive: {problem}")
        self.key = key


@dataclass(frozen=True, slots=True)
class Directive:
    status: int | None = None
    receipt: MessageState | None = None
    err: int | None = None
    code: str | None = None
    delay: float | None = None
    drop: bool = False

    @property
    def script(self) -> Script | None:
        """What the carrier is to do instead of its draw; None when nothing is scripted."""
        if self.receipt is None and self.err is None and self.code is None and self.delay is None and not self.drop:
            return None
        return Script(self.receipt, self.err, self.code, self.delay, self.drop)


def _status(value: str) -> int:
    text = value.lower()
    if text.startswith("0x") and len(text) > 2 and all(c in "0123456789abcdef" for c in text[2:]):
        status = int(text, 16)
    elif text.isdigit() and text.isascii():
        status = int(text)
    else:
        raise DirectiveError("status", f"{value!r} is not a number (0x58 or 88)")
    if status > 0xFFFFFFFF:
        raise DirectiveError("status", f"{value} does not fit a command_status")
    return status


def _field(key: str, value: str | None, found: dict[str, object]) -> None:
    if key not in KEYS:
        raise DirectiveError(key, f"is not a key (expected one of {', '.join(KEYS)})")
    if key in found:
        raise DirectiveError(key, "is given twice")
    if key == "drop":
        flag = True if value is None else _FLAGS.get(value.lower())
        if flag is None:
            raise DirectiveError("drop", f"{value!r} is not 1 or 0")
        found[key] = flag
        return
    if not value:
        raise DirectiveError(key, "has no value")
    if key == "status":
        found[key] = _status(value)
    elif key == "receipt":
        state = RULE_STATES.get(value.upper())
        if state is None:
            raise DirectiveError("receipt", f"{value!r} is not one of {', '.join(RULE_STATES)}")
        found[key] = state
    elif key == "err":
        if not (value.isascii() and value.isdigit()) or int(value) > 999:
            raise DirectiveError("err", f"{value!r} is not a whole number from 0 to 999")
        found[key] = int(value)
    elif key == "code":
        if not _CODE.fullmatch(value):
            raise DirectiveError("code", f"{value!r} must be 1 to 16 of A-Z a-z 0-9 : _ . -")
        found[key] = value
    else:  # delay
        if not _NUMBER.fullmatch(value) or not math.isfinite(float(value)) or float(value) > _MAX_DELAY:
            raise DirectiveError("delay", f"{value!r} is not a number of seconds from 0 to {_MAX_DELAY:g}")
        found[key] = float(value)


def parse_directive(fields: str) -> Directive:
    """The ``key=value,...`` list (without the prefix); DirectiveError naming the bad key."""
    if not fields:
        raise DirectiveError("", "is empty")
    found: dict[str, object] = {}
    for item in fields.split(","):
        key, sep, value = item.partition("=")
        _field(key, value if sep else None, found)
    directive = Directive(**found)  # type: ignore[arg-type]
    if directive.drop and (directive.receipt is not None or directive.delay is not None):
        raise DirectiveError("drop", "cannot go with receipt or delay: a dropped message is never reported")
    return directive


def format_directive(directive: Directive) -> str:
    """The list ``parse_directive`` reads back as ``directive``."""
    items: list[str] = []
    if directive.status is not None:
        items.append(f"status=0x{directive.status:X}")
    if directive.receipt is not None:
        items.append(f"receipt={STAT_WORDS[directive.receipt]}")
    if directive.err is not None:
        items.append(f"err={directive.err}")
    if directive.code is not None:
        items.append(f"code={directive.code}")
    if directive.delay is not None:
        items.append(f"delay={directive.delay!r}")
    if directive.drop:
        items.append("drop")
    return ",".join(items)


def split_text(text: str) -> tuple[str, str] | None:
    """(directive list, the text after it) when ``text`` starts with the prefix, else None.

    The directive ends at the first space or line break (LF or CRLF), which goes with it."""
    if not text.startswith(PREFIX):
        return None
    rest = text[len(PREFIX) :]
    cut = min((i for i in (rest.find(b) for b in (" ", "\n", "\r")) if i >= 0), default=len(rest))
    after = rest[cut:]
    for brk in _BREAKS:
        if after.startswith(brk):
            return rest[:cut], after[len(brk) :]
    return rest[:cut], after


def _first_part(pdu: p.SubmitSm | p.DataSm, payload: bytes) -> bool:
    try:
        info = concat_info(pdu.esm_class, payload, pdu.tlvs)
    except ValueError:
        return False  # refused later for its concatenation; nothing to strip
    return info is None or info.seqnum == 1


def _with_body(pdu: p.SubmitSm | p.DataSm, payload: bytes) -> p.SubmitSm | p.DataSm:
    if isinstance(pdu, p.SubmitSm) and pdu.short_message:
        return replace(pdu, short_message=payload)
    tlvs = tuple(p.Tlv(t.tag, payload) if t.tag == Tag.MESSAGE_PAYLOAD else t for t in pdu.tlvs)
    return replace(pdu, tlvs=tlvs)


def _from_text(pdu: p.SubmitSm | p.DataSm, dc0: str) -> tuple[p.SubmitSm | p.DataSm, str | None]:
    payload = pdu.payload
    if not pdu.esm_class & ESM_CLASS_UDHI and _HASH not in payload[:2]:
        return pdu, None  # the common case, cheaply: "#" is 0x23 in every coding (UCS2: 00 23)
    udh = b""
    body = payload
    if pdu.esm_class & ESM_CLASS_UDHI:
        try:
            udh, body = split_udh(payload)
        except ValueError:
            return pdu, None
    if not _first_part(pdu, payload):
        return pdu, None
    text = decode_text(pdu.data_coding, body, dc0=dc0)
    found = split_text(text)
    if found is None:
        return pdu, None
    fields, rest = found
    try:
        head = encode_text(text[: len(text) - len(rest)], pdu.data_coding, dc0=dc0)
    except ValueError:
        raise DirectiveError("", "holds characters its data_coding cannot carry") from None
    if not body.startswith(head):
        raise DirectiveError("", "is not written in the message's data_coding")
    return _with_body(pdu, udh + body[len(head) :]), fields


def take_directive(pdu: p.SubmitSm | p.DataSm, *, dc0: str = "gsm7") -> tuple[p.SubmitSm | p.DataSm, Directive | None]:
    """The submit without its directive (text prefix or TLV stripped), and the directive if any.

    Raises DirectiveError for a malformed one, or for one given both in the text and the TLV."""
    tlv = pdu.tlv(DIRECTIVE_TAG)
    stripped, fields = _from_text(pdu, dc0)
    if tlv is not None:
        if fields is not None:
            raise DirectiveError("", "given both in the text and in TLV 0x1501")
        stripped = replace(pdu, tlvs=tuple(t for t in pdu.tlvs if t.tag != DIRECTIVE_TAG))
        value = tlv[:-1] if tlv.endswith(b"\0") else tlv
        if not value.isascii():
            raise DirectiveError("", "TLV 0x1501 must be ASCII text")
        fields = value.decode("ascii")
    if fields is None:
        return pdu, None
    return stripped, parse_directive(fields)
