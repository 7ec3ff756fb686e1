"""The 64-bit CMPP Msg_Id: month 4, day 5, hour 5, minute 6, second 6, gateway code 22 and
sequence 16 bits, most significant first; and the decimal and hex forms partners print it in."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

# (name, width) from the most significant end
_LAYOUT: Final = (
    ("month", 4),
    ("day", 5),
    ("hour", 5),
    ("minute", 6),
    ("second", 6),
    ("gateway", 22),
    ("sequence", 16),
)
MAX_GATEWAY: Final = (1 << 22) - 1
SEQUENCES: Final = 1 << 16
_DECIMAL: Final = re.compile(r"\d{22}")
_HEX: Final = re.compile(r"[0-9A-Fa-f]{16}")


@dataclass(frozen=True, slots=True, order=True)
class MsgId:
    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway: int
    sequence: int

    def __post_init__(self) -> None:
        for name, width in _LAYOUT:
            if not 0 <= getattr(self, name) < 1 << width:
                raise ValueError(f"Msg_Id {name} {getattr(self, name)} does not fit {width} bits")

    @classmethod
    def from_int(cls, value: int) -> MsgId:
        if not 0 <= value < 1 << 64:
            raise ValueError(f"Msg_Id {value} does not fit 64 bits")
        fields: dict[str, int] = {}
        shift = 64
        for name, width in _LAYOUT:
            shift -= width
            fields[name] = (value >> shift) & ((1 << width) - 1)
        return cls(**fields)

    def __int__(self) -> int:
        value = 0
        for name, width in _LAYOUT:
            value = (value << width) | getattr(self, name)
        return value

    @property
    def decimal(self) -> str:
        """MMDDHHMMSS + 7-digit gateway code + 5-digit sequence: 22 digits."""
        return (
            f"{self.month:02d}{self.day:02d}{self.hour:02d}{self.minute:02d}{self.second:02d}"
            f"{self.gateway:07d}{self.sequence:05d}"
        )

    @classmethod
    def from_decimal(cls, text: str) -> MsgId:
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{text!r} is not a 22-digit Msg_Id")
        cuts = (0, 2, 4, 6, 8, 10, 17, 22)
        return cls(*(int(text[a:b]) for a, b in itertools.pairwise(cuts)))

    @property
    def hex(self) -> str:
        """The 64 bits as 16 upper-case hex digits."""
        return f"{int(self):016X}"

    @classmethod
    def from_hex(cls, text: str) -> MsgId:
        if not _HEX.fullmatch(text):
            raise ValueError(f"{text!r} is not a 16-digit hex Msg_Id")
        return cls.from_int(int(text, 16))


class MsgIdGenerator:
    """Issues Msg_Ids for one gateway code (one per cluster node, so nodes never collide).

    A mass send to n destinations takes n consecutive ids; the range never straddles the
    sequence's wrap, so Msg_Id + k stays inside the sequence bits.  One code issues at most
    65,536 ids per second before its sequences repeat.
    """

    __slots__ = ("_next", "gateway")

    def __init__(self, gateway: int, first_sequence: int = 0) -> None:
        if not 0 <= gateway <= MAX_GATEWAY:
            raise ValueError(f"gateway code {gateway} does not fit 22 bits")
        self.gateway = gateway
        self._next = first_sequence % SEQUENCES

    def next(self, when: datetime, count: int = 1) -> MsgId:
        """The first of ``count`` consecutive ids stamped with ``when`` (the gateway's clock)."""
        if not 1 <= count <= SEQUENCES:
            raise ValueError(f"cannot issue {count} ids at once")
        seq = self._next
        if seq + count > SEQUENCES:
            seq = 0
        self._next = (seq + count) % SEQUENCES
        return MsgId(when.month, when.day, when.hour, when.minute, when.second, self.gateway, seq)


def nth(first: MsgId | int, k: int) -> int:
    """The k-th id (from 0) of a range that starts at ``first``: the id of destination k."""
    return int(first) + k
