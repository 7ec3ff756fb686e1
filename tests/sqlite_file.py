"""What an SQLite database file itself holds, without the write-ahead log beside it: what the
checkpoints have copied there so far."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def rows_in_database_file(path: Path, table: str) -> int:
    """Rows of ``table`` in the file alone (``immutable``: SQLite reads neither the log nor its
    index); 0 while even the table's creation is still in the log."""
    other = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(other.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        other.close()
