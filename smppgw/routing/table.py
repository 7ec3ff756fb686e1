"""Prefix route table: E.164 prefix -> carrier, longest prefix wins."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .csvfile import csv_records

__all__ = ["RouteEntry", "RouteTable"]

_COLUMNS = ("prefix", "carrier", "type")


@dataclass(frozen=True, slots=True)
class RouteEntry:
    prefix: str  # E.164 digits, e.g. "86138" or "852"
    carrier: str  # carrier of record for the block, e.g. "CMCC"
    kind: str  # "mobile", "MVNO", "data-only", "IoT", "satellite", "international", ...
    note: str = ""


class RouteTable:
    """Immutable longest-prefix table.

    Lookup probes a dict once per distinct prefix length (a handful), longest first, so it
    costs O(number length) however many rules the table holds.
    """

    __slots__ = ("_by_prefix", "_lengths")

    def __init__(self, entries: Iterable[RouteEntry] = ()) -> None:
        by_prefix: dict[str, RouteEntry] = {}
        for entry in entries:
            _check_entry(entry)
            if entry.prefix in by_prefix:
                raise ValueError(f"duplicate route prefix {entry.prefix!r}")
            by_prefix[entry.prefix] = entry
        # A plain dict, private to the table: a MappingProxyType's get is a generic method call
        # (compiled, ~800 instructions a probe against ~130; three probes a message).
        self._by_prefix = by_prefix
        self._lengths = tuple(sorted({len(p) for p in by_prefix}, reverse=True))

    @classmethod
    def merge(cls, *tables: RouteTable) -> RouteTable:
        """Combine tables; where two define the same prefix, the later table wins (override files)."""
        combined: dict[str, RouteEntry] = {}
        for table in tables:
            combined.update(table._by_prefix)
        return cls(combined.values())

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], *, country_code: str = "") -> RouteTable:
        """Read a `prefix,carrier,type,notes` file; `country_code` is put in front of every prefix.

        The national number plan uses national prefixes ("138"): load it with country_code="86".
        Blank lines and lines starting with "#" are skipped. Bad rows raise ValueError naming file and line.
        """
        if country_code and not _is_digits(country_code):
            raise ValueError(f"country_code must be digits, got {country_code!r}")
        name = os.fspath(path)
        entries: list[RouteEntry] = []
        seen: dict[str, int] = {}
        for line, record in csv_records(path, _COLUMNS, require_header=True):
            prefix, carrier, kind = (record.get(col, "") for col in _COLUMNS)
            if not _is_digits(prefix):
                raise ValueError(f"{name}:{line}: prefix must be digits, got {prefix!r}")
            if not carrier or not kind:
                raise ValueError(f"{name}:{line}: carrier and type must not be empty")
            full = country_code + prefix
            if full in seen:
                raise ValueError(f"{name}:{line}: prefix {prefix!r} already defined on line {seen[full]}")
            seen[full] = line
            entries.append(RouteEntry(full, carrier, kind, record.get("notes", "")))
        return cls(entries)

    def lookup(self, e164: str) -> RouteEntry | None:
        """Return the entry with the longest prefix of `e164`, or None when no rule matches."""
        size = len(e164)
        for length in self._lengths:
            if length <= size:
                entry = self._by_prefix.get(e164[:length])
                if entry is not None:
                    return entry
        return None

    def __len__(self) -> int:
        return len(self._by_prefix)

    def __iter__(self) -> Iterator[RouteEntry]:
        return iter(self._by_prefix.values())

    def __repr__(self) -> str:
        return f"RouteTable({len(self)} entries)"


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_entry(entry: RouteEntry) -> None:
    if not _is_digits(entry.prefix):
        raise ValueError(f"route prefix must be digits, got {entry.prefix!r}")
    if not entry.carrier or not entry.kind:
        raise ValueError(f"route {entry.prefix!r}: carrier and kind must not be empty")
