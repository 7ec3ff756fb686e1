"""Which worker owns an account, and what each worker's share of the configuration is.

Every account lives in exactly one worker (its wallet, messages, receipts and limits), so money
and receipts stay exact without any locking between processes.  The owner is a stable hash of
the system_id: the same in every worker, in every run, without any table to keep in step.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from ..config import GatewayConfig

# Message ids are one numeric sequence per store; each worker counts in its own range so that an
# id names one message across all workers (10**12 ids per worker before ranges would meet).
MESSAGE_SEQ_SPAN = 10**12

# The internal admin API of a worker: loopback, a free port, reached only through the front.
WORKER_ADMIN_LISTEN = "tcp:0:interface=127.0.0.1"


def owner_of(system_id: str, workers: int) -> int:
    """The index of the worker that owns ``system_id`` (sha1, not hash(): stable across processes)."""
    digest = hashlib.sha1(system_id.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % workers


def worker_store_path(store_path: str | Path, index: int) -> Path:
    """``state/smppgw.db`` -> ``state/smppgw-w0.db``: one SQLite file per worker."""
    path = Path(store_path)
    return path.with_name(f"{path.stem}-w{index}{path.suffix}")


def workers_marker_path(store_path: str | Path) -> Path:
    """A file next to the stores recording how many workers wrote them: accounts are placed by
    that number, so the stores only make sense with it."""
    path = Path(store_path)
    return path.with_name(f"{path.stem}.workers")


def message_seq_floor(index: int) -> int:
    return index * MESSAGE_SEQ_SPAN + 1


def worker_config(config: GatewayConfig, index: int, workers: int) -> GatewayConfig:
    """Worker ``index``'s configuration: only the accounts it owns, its own store file, its admin
    API on a free loopback port, no CMPP listener."""
    owned = {name: account for name, account in config.accounts.items() if owner_of(name, workers) == index}
    return replace(
        config,
        accounts=owned,
        store=replace(config.store, path=str(worker_store_path(config.store.path, index))),
        admin=replace(config.admin, listen=WORKER_ADMIN_LISTEN),
        # CMPP connections are not handed between workers: ``serve --workers`` serves SMPP only.
        cmpp=replace(config.cmpp, listen=""),
    )


class StoreLayoutError(ValueError):
    pass


def check_store_layout(store_path: str | Path, workers: int) -> None:
    """Refuse to start when the stores on disk were written with another number of workers: the
    accounts would be placed differently and a wallet could be opened twice."""
    path = Path(store_path)
    marker = workers_marker_path(path)
    recorded = int(marker.read_text(encoding="ascii").strip() or "0") if marker.is_file() else None
    if workers == 1:
        if recorded is not None:
            raise StoreLayoutError(
                f"{marker}: the stores next to it were written by {recorded} workers: "
                f"start with --workers {recorded} (or move them away)"
            )
        return
    if recorded is None and path.is_file():
        raise StoreLayoutError(
            f"{path} holds the state of a single-process gateway; --workers keeps one store per worker "
            f"({worker_store_path(path, 0).name}, ...): start without --workers (or move it away)"
        )
    if recorded is not None and recorded != workers:
        raise StoreLayoutError(
            f"{marker}: the stores were written by {recorded} workers and accounts are placed by that "
            f"number: start with --workers {recorded} (or move the stores away)"
        )
    if recorded is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{workers}\n", encoding="ascii")


def existing_stores(store_path: str | Path) -> list[Path]:
    """The store files of a gateway: the single file, or one per worker."""
    path = Path(store_path)
    found = [path] if path.is_file() else []
    marker = workers_marker_path(path)
    if marker.is_file():
        workers = int(marker.read_text(encoding="ascii").strip() or "0")
        found += [p for p in (worker_store_path(path, i) for i in range(workers)) if p.is_file()]
    return found
