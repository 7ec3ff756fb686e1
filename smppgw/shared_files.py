"""The data files a cluster's shared configuration names (route tables, ported numbers, keyword
list) travel with its text: the node that reloads reads them (``read``), every other node writes
them into a folder of its own, one per configuration generation (``write``), and parses the text
reading those copies instead of its own files (``config.parse(..., copies)``).  A node never
writes over its own configuration or data files: only inside its state folder's
``shared-config/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePath, PurePosixPath

# A configuration whose files weigh more than this in all is not shared: each node reads them
# from the database at once, and a reload should not stall the nodes on megabytes of copying.
SHARE_LIMIT = 50_000_000

_ELSEWHERE = "_elsewhere"  # copies of files named absolutely, or outside the configuration's folder


class ShareRefusedError(ValueError):
    pass


def read(files: Mapping[str, Path], limit: int | None = None) -> dict[str, bytes]:
    """The contents of the files a configuration names (path as written -> bytes); refused with a
    ShareRefusedError naming the sizes when they exceed ``limit`` bytes (SHARE_LIMIT) in all."""
    limit = SHARE_LIMIT if limit is None else limit
    sizes = {written: path.stat().st_size for written, path in files.items()}
    total = sum(sizes.values())
    if total > limit:
        largest = max(sizes, key=sizes.__getitem__)
        raise ShareRefusedError(
            f"its files weigh {total / 1e6:.1f} MB in all (largest {largest}, {sizes[largest] / 1e6:.1f} MB), "
            f"over the {limit / 1e6:g} MB a cluster shares"
        )
    return {written: path.read_bytes() for written, path in files.items()}


def folder(state: Path, generation: int) -> Path:
    """Where a node keeps the copies of a configuration generation: beside its store."""
    return state / "shared-config" / str(generation)


def write(target: Path, contents: Mapping[str, bytes]) -> dict[str, Path]:
    """Write ``contents`` (path as written -> bytes) under ``target``, a name relative to the
    configuration's folder keeping its layout; return path as written -> the copy.  Other
    generations' folders beside ``target`` are removed."""
    target.mkdir(parents=True, exist_ok=True)  # even for a configuration that names no files
    copies: dict[str, Path] = {}
    taken: set[PurePosixPath] = set()
    for index, written in enumerate(sorted(contents)):
        name = _inside(written)
        if name is None or name in taken:
            name = PurePosixPath(_ELSEWHERE, str(index), PurePath(written).name or "file")
        taken.add(name)
        path = target.joinpath(*name.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(contents[written])
        os.replace(partial, path)  # a copy is whole or absent
        copies[written] = path.resolve()
    for other in target.parent.iterdir():
        if other.is_dir() and other.name != target.name and other.name.isdigit():
            shutil.rmtree(other, ignore_errors=True)
    return copies


def _inside(written: str) -> PurePosixPath | None:
    """``written`` as a name inside the configuration's folder, or None when it is absolute or climbs out."""
    path = PurePosixPath(written.replace("\\", "/"))
    parts = [part for part in path.parts if part not in ("", ".")]
    if path.is_absolute() or not parts or ".." in parts or parts[0] == _ELSEWHERE:
        return None
    return PurePosixPath(*parts)
