"""Read the number portability override file (`msisdn,carrier`)."""

from __future__ import annotations

import csv
import os

from .numbers import InvalidNumber, normalise_msisdn

__all__ = ["load_ported_csv"]


def load_ported_csv(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return {E.164 msisdn: current carrier}; numbers may be in any form normalise_msisdn accepts.

    Blank lines and lines starting with "#" are skipped. Bad rows raise ValueError naming file and line.
    """
    name = os.fspath(path)
    ported: dict[str, str] = {}
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header: list[str] | None = None
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            cells = [cell.strip() for cell in row]
            if header is None:
                header = [cell.lower() for cell in cells]
                if "msisdn" not in header or "carrier" not in header:
                    raise ValueError(f"{name}:{line}: header must have columns msisdn,carrier")
                continue
            record = dict(zip(header, cells, strict=False))
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
