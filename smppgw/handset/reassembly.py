"""A number's parts, in the order they arrived, as the messages its phone shows, each broken one
with the exact causes.

A phone puts the parts of a long message together by sender and reference (8-bit UDH, 16-bit UDH
and SAR references are different references).  A part joins the open message of its sender and
reference, unless that message is complete already: then the same octets again are a duplicate,
and anything else starts a new message (clients reuse their random 8-bit references).  What is
flagged:

- ``missing_part``: a part number below the part count never came;
- ``duplicate_part``: a part number came twice (identical or not);
- ``part_count_changed``: parts of one reference say different part counts;
- ``mixed_codings``: parts of one message are in codings the phone reads differently;
- ``several_accounts``: parts of one message were submitted by different accounts;
- ``mixed_references``: incomplete messages of one sender, with the same part count and part
  numbers that do not overlap, arriving within ``MIXED_WINDOW`` of each other, are one message
  whose parts carry different references (or reference kinds); they are shown together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .parts import METHOD_NAMES, Method, ReceivedPart
from .text import coding_name, decode, decoder_of, signature_of

__all__ = ["MIXED_WINDOW", "Cause", "Problem", "ShownMessage", "reassemble"]

MIXED_WINDOW = 300.0  # s: parts this close with different references are taken for one message


class Cause(StrEnum):
    MISSING_PART = "missing_part"
    DUPLICATE_PART = "duplicate_part"
    PART_COUNT_CHANGED = "part_count_changed"
    MIXED_CODINGS = "mixed_codings"
    SEVERAL_ACCOUNTS = "several_accounts"
    MIXED_REFERENCES = "mixed_references"


@dataclass(frozen=True, slots=True)
class Problem:
    cause: Cause
    detail: str


@dataclass(frozen=True, slots=True)
class ShownMessage:
    """One message on the phone.  ``parts``: one per part number, in part order; ``duplicates``:
    the parts that came again; ``text`` (or ``hex`` for data) of the parts that are in."""

    source_addr: str
    method: Method
    total: int
    parts: tuple[ReceivedPart, ...]
    duplicates: tuple[ReceivedPart, ...]
    text: str | None
    hex: str | None
    signature: tuple[str, str] | None
    problems: tuple[Problem, ...]

    @property
    def first_at(self) -> float:
        return min(p.at for p in (*self.parts, *self.duplicates))

    @property
    def last_at(self) -> float:
        return max(p.at for p in (*self.parts, *self.duplicates))

    @property
    def missing(self) -> tuple[int, ...]:
        present = {p.part for p in self.parts}
        return tuple(n for n in range(1, self.total + 1) if n not in present)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.account for p in self.parts))


@dataclass
class _Group:
    parts: dict[int, ReceivedPart] = field(default_factory=dict)
    duplicates: list[ReceivedPart] = field(default_factory=list)

    @property
    def total(self) -> int:
        return max(p.total for p in self.parts.values())

    @property
    def complete(self) -> bool:
        return all(n in self.parts for n in range(1, self.total + 1))

    @property
    def first(self) -> ReceivedPart:
        return min(self.parts.values(), key=lambda p: p.at)

    @property
    def last_at(self) -> float:
        return max(p.at for p in (*self.parts.values(), *self.duplicates))

    @property
    def keys(self) -> set[tuple[Method, int]]:
        return {(p.method, p.reference) for p in self.parts.values()}


def _numbers(numbers: Iterable[int]) -> str:
    listed = sorted(numbers)
    return ", ".join(str(n) for n in listed)


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _reference(part: ReceivedPart) -> str:
    return f"reference {part.reference} ({METHOD_NAMES[part.method]})"


def _problems(group: _Group, dc0: str) -> list[Problem]:
    parts = [group.parts[n] for n in sorted(group.parts)]
    problems: list[Problem] = []
    total = group.total
    missing = [n for n in range(1, total + 1) if n not in group.parts]
    if missing:
        problems.append(
            Problem(
                Cause.MISSING_PART,
                f"{_plural(len(missing), 'part', 'parts')} {_numbers(missing)} of {total} "
                f"{_plural(len(missing), 'has', 'have')} not arrived",
            )
        )
    if len(group.keys) > 1:
        refs = "; ".join(f"part {p.part} has {_reference(p)}" for p in parts)
        problems.append(Problem(Cause.MIXED_REFERENCES, refs))
    if len({p.total for p in parts}) > 1:
        counts = "; ".join(f"part {p.part} says {p.total}" for p in parts)
        problems.append(Problem(Cause.PART_COUNT_CHANGED, f"the part count changes: {counts}"))
    if len({decoder_of(p.data_coding, dc0=dc0) for p in parts}) > 1:
        codings = "; ".join(
            f"part {p.part} is data_coding {p.data_coding} ({coding_name(p.data_coding, dc0=dc0)})" for p in parts
        )
        problems.append(Problem(Cause.MIXED_CODINGS, codings))
    if len({p.account for p in parts}) > 1:
        accounts = "; ".join(f"part {p.part} from {p.account}" for p in parts)
        problems.append(Problem(Cause.SEVERAL_ACCOUNTS, f"parts submitted by several accounts: {accounts}"))
    if group.duplicates:
        again: dict[int, int] = {}
        for p in group.duplicates:
            again[p.part] = again.get(p.part, 0) + 1
        said: list[str] = []
        for number, extra in sorted(again.items()):
            kept = group.parts.get(number)
            differs = any(d.body != (kept.body if kept else b"") for d in group.duplicates if d.part == number)
            said.append(f"part {number} arrived {extra + 1} times" + (" with different content" if differs else ""))
        problems.append(Problem(Cause.DUPLICATE_PART, "; ".join(said)))
    return problems


def _shown(group: _Group, dc0: str) -> ShownMessage:
    parts = tuple(group.parts[n] for n in sorted(group.parts))
    decoders = {decoder_of(p.data_coding, dc0=dc0) for p in parts}
    text: str | None
    hex_: str | None
    if len(decoders) == 1:
        # One coding: decoded as a whole, so a character split between parts is read as one.
        decoded = decode(parts[0].data_coding, b"".join(p.body for p in parts), dc0=dc0)
        text, hex_ = decoded.text, decoded.hex
    else:
        pieces = [decode(p.data_coding, p.body, dc0=dc0) for p in parts]
        text, hex_ = "".join(d.text if d.text is not None else f"[{d.hex}]" for d in pieces), None
    first = group.first
    return ShownMessage(
        source_addr=first.source_addr,
        method=first.method,  # of its first part; mixed references are a problem of their own
        total=group.total,
        parts=parts,
        duplicates=tuple(group.duplicates),
        text=text,
        hex=hex_,
        signature=signature_of(text) if text is not None else None,
        problems=tuple(_problems(group, dc0)),
    )


def _mergeable(into: _Group, other: _Group) -> bool:
    return (
        not into.complete
        and not other.complete
        and into.first.source_addr == other.first.source_addr
        and into.total == other.total
        and not set(into.parts) & set(other.parts)
        and not into.keys & other.keys
        and abs(other.first.at - into.last_at) <= MIXED_WINDOW
    )


def _merge_mixed_references(groups: list[_Group]) -> list[_Group]:
    kept: list[_Group] = []
    for group in groups:
        if len(group.parts) and group.first.concatenated:
            into = next((g for g in kept if _mergeable(g, group)), None)
            if into is not None:
                into.parts.update(group.parts)
                into.duplicates += group.duplicates
                continue
        kept.append(group)
    return kept


def reassemble(parts: Sequence[ReceivedPart], *, dc0: str = "gsm7") -> list[ShownMessage]:
    """The messages the phone shows, in the order their first parts arrived (``parts`` in arrival order)."""
    groups: list[_Group] = []
    open_: dict[tuple[str, Method, int], _Group] = {}
    for part in parts:
        if not part.concatenated:
            groups.append(_Group({1: part}))
            continue
        key = (part.source_addr, part.method, part.reference)
        group = open_.get(key)
        if group is not None:
            same = group.parts.get(part.part)
            if group.complete:
                if same is not None and same.body == part.body:
                    group.duplicates.append(part)
                    continue
                group = None  # the reference used again: a new message
            elif same is not None:
                group.duplicates.append(part)
                continue
        if group is None:
            group = _Group()
            open_[key] = group
            groups.append(group)
        group.parts[part.part] = part
    return [_shown(g, dc0) for g in _merge_mixed_references(groups)]
