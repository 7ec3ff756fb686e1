"""Long messages: which part of which message a SUBMIT or DELIVER carries, and a pure
reassembler that puts the parts back together in any order.

A part is marked by TP_udhi = 1 and a GSM 03.40 UDH at the start of Msg_Content, with an 8-bit
(``05 00 03 ref total n``) or 16-bit (``06 08 04 refH refL total n``) concatenation element,
or only by Pk_total / Pk_number (no reference: the caller's key must tell messages apart).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08


@dataclass(frozen=True, slots=True)
class Part:
    total: int
    number: int
    ref: int | None  # None when only Pk_total/Pk_number mark the part
    ref_bits: int  # 8 or 16 from a UDH, 0 from Pk_total/Pk_number
    body: bytes  # Msg_Content without the UDH

    @property
    def is_single(self) -> bool:
        return self.total == 1


def _concat(udh: bytes) -> tuple[int, int, int, int] | None:
    """(ref, total, number, bits) of the UDH's concatenation element; the last one counts."""
    found = None
    i = 1
    while i < len(udh):
        if i + 2 > len(udh):
            raise ValueError("UDH ends inside an information element header")
        iei, length = udh[i], udh[i + 1]
        data = udh[i + 2 : i + 2 + length]
        if len(data) < length:
            raise ValueError(f"UDH element 0x{iei:02X} runs past the header")
        i += 2 + length
        if iei == IEI_CONCAT_8BIT:
            if length != 3:
                raise ValueError(f"8-bit concatenation element has length {length}, expected 3")
            found = (data[0], data[1], data[2], 8)
        elif iei == IEI_CONCAT_16BIT:
            if length != 4:
                raise ValueError(f"16-bit concatenation element has length {length}, expected 4")
            found = (int.from_bytes(data[:2], "big"), data[2], data[3], 16)
    return found


def _checked(total: int, number: int) -> None:
    if total == 0 or number == 0 or number > total:
        raise ValueError(f"part {number} of {total} is not a part")


def part_of(tp_udhi: int, pk_total: int, pk_number: int, content: bytes) -> Part:
    """The part ``content`` carries.  Raises ValueError with the reason for a malformed UDH or
    part numbers (a SUBMIT that is answered with Result 1, bad structure)."""
    body = content
    if tp_udhi:
        if not content:
            raise ValueError("TP_udhi is set but Msg_Content is empty")
        end = 1 + content[0]
        if end > len(content):
            raise ValueError(f"UDH length {content[0]} runs past the {len(content)}-octet content")
        udh, body = content[:end], content[end:]
        concat = _concat(udh)
        if concat is not None:
            ref, total, number, bits = concat
            _checked(total, number)
            return Part(total, number, ref, bits, body)
    if pk_total <= 1:  # some clients send 0/0 for a message of one part
        return Part(1, 1, None, 0, body)
    _checked(pk_total, pk_number)
    return Part(pk_total, pk_number, None, 0, body)


def split(body: bytes, ref: int, part_size: int, *, ref_bits: int = 8) -> list[bytes]:
    """Msg_Contents (UDH + slice) for ``body`` cut into parts of ``part_size`` octets (134 for
    UCS2 with an 8-bit reference, 133 with a 16-bit one); one part without a UDH when it fits."""
    udh_size = 6 if ref_bits == 8 else 7
    if len(body) <= part_size + udh_size:
        return [body]
    if part_size % 2:
        raise ValueError("part_size must be even so no UCS2 character is cut in two")
    chunks = [body[i : i + part_size] for i in range(0, len(body), part_size)]
    if len(chunks) > 255:
        raise ValueError(f"{len(chunks)} parts do not fit one concatenated message")
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        if ref_bits == 8:
            udh = bytes((5, IEI_CONCAT_8BIT, 3, ref & 0xFF, len(chunks), n))
        else:
            udh = bytes((6, IEI_CONCAT_16BIT, 4, (ref >> 8) & 0xFF, ref & 0xFF, len(chunks), n))
        parts.append(udh + chunk)
    return parts


@dataclass(slots=True)
class _Group:
    total: int
    started: float
    bodies: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Collects the parts of long messages under the caller's key (an account with sender,
    destination and reference, say, so parts over several connections meet).  Bounded: a group
    older than ``max_age`` seconds is dropped by ``expire``, and the oldest goes when
    ``max_groups`` are open."""

    __slots__ = ("_groups", "max_age", "max_groups")

    def __init__(self, max_age: float = 300.0, max_groups: int = 10_000) -> None:
        self.max_age = max_age
        self.max_groups = max_groups
        self._groups: dict[Hashable, _Group] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, key: Hashable, part: Part, now: float) -> bytes | None:
        """The whole body once every part of ``key`` has arrived, else None.  A repeated part
        replaces the earlier copy; a part whose total disagrees with the group's starts over."""
        if part.is_single:
            return part.body
        group = self._groups.get(key)
        if group is None or group.total != part.total:
            if group is None and len(self._groups) >= self.max_groups:
                del self._groups[next(iter(self._groups))]
            group = self._groups[key] = _Group(part.total, now)
        group.bodies[part.number] = part.body
        if len(group.bodies) < group.total:
            return None
        del self._groups[key]
        return b"".join(group.bodies[n] for n in range(1, group.total + 1))

    def expire(self, now: float) -> list[Hashable]:
        """Drop the groups older than ``max_age``; returns their keys."""
        old = [key for key, group in self._groups.items() if now - group.started >= self.max_age]
        for key in old:
            del self._groups[key]
        return old

    def next_deadline(self) -> float | None:
        if not self._groups:
            return None
        return min(group.started for group in self._groups.values()) + self.max_age
