"""What an SQLite database file itself holds, without the write-ahead log beside it: what the
checkpoints have copied there so far."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def rows_in_database_file(path: Path, table: str) -> int:
    """Rows of ``table`` in the file alone (``immutable``: SQLite reads neither the log nor its
    index, and takes no lock); 0 while even the table's creation is still in the log, and 0 when
    the read caught a checkpoint half way through copying pages into the file ("database disk
    image is malformed": without a lock nothing keeps the two apart), for the caller to ask again."""
    other = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(other.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.DatabaseError:  # OperationalError (no such table yet) is one of them
        return 0
    finally:
        other.close()
