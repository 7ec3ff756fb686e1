"""Read the small CSV data files of routing: a header row, then records; blank lines and lines
starting with "#" are skipped; every error names the file and the line."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence


def csv_records(
    path: str | os.PathLike[str], columns: Sequence[str], *, require_header: bool = False
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, {column: stripped cell}) for each record; the header must name ``columns``."""
    name = os.fspath(path)
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
                missing = [col for col in columns if col not in header]
                if missing:
                    raise ValueError(f"{name}:{line}: header lacks column(s) {', '.join(missing)}")
                continue
            if len(cells) > len(header):
                raise ValueError(f"{name}:{line}: {len(cells)} fields, header has {len(header)}")
            yield line, dict(zip(header, cells, strict=False))
    if header is None and require_header:
        raise ValueError(f"{name}: empty file (no header)")
