"""Read the number portability override file (`msisdn,carrier`)."""

from __future__ import annotations

import os

from .csvfile import csv_records
from .numbers import InvalidNumber, normalise_msisdn

__all__ = ["load_ported_csv"]


def load_ported_csv(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return {E.164 msisdn: current carrier}; numbers may be in any form normalise_msisdn accepts.

    Blank lines and lines starting with "#" are skipped. Bad rows raise ValueError naming file and line.
    """
    name = os.fspath(path)
    ported: dict[str, str] = {}
    seen: dict[str, int] = {}
    for line, record in csv_records(path, ("msisdn", "carrier")):
        msisdn, carrier = record.get("msisdn", ""), record.get("carrier", "")
        if not carrier:
            raise ValueError(f"{name}:{line}: carrier must not be empty")
        try:
            e164 = normalise_msisdn(msisdn)
        except InvalidNumber as exc:
            raise ValueError(f"{name}:{line}: bad msisdn ({exc.reason})") from exc
        if e164 in seen:
            raise ValueError(f"{name}:{line}: number already listed on line {seen[e164]}")
        seen[e164] = line
        ported[e164] = carrier
    return ported
