"""Connections: one writer at a time on the warehouse file, readers on a published snapshot.

DuckDB lets one process hold a database file for writing and then refuses every other process,
even read-only ones.  So analysts never open ``warehouse.duckdb``: after each successful write the
writer checkpoints and atomically replaces ``warehouse.read.duckdb`` with a copy (``os.replace``),
which readers open read-only.  A reader always sees a consistent state as of the last committed
load, and neither side ever waits for the other.  Writers in different processes (``tdm ingest``
while ``tdm watch`` runs) wait for the lock with a bounded retry, then raise
:class:`~tdm.errors.WarehouseBusy` (transient).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from tdm.config import DEFAULT_LIMITS
from tdm.errors import WarehouseBusy, WarehouseError

LOCK_WAIT_SECONDS = 30.0


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


@contextlib.contextmanager
def open_writer(path: Path, *, wait_seconds: float = LOCK_WAIT_SECONDS,
                memory_limit: str = DEFAULT_LIMITS.writer_memory_limit) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for writing, waiting up to ``wait_seconds`` for another writer.

    The writer only loads; capping DuckDB's buffer pool at ``memory_limit`` (``settings.limits``,
    TDM_WRITER_MEMORY_LIMIT; it spills to <db>.tmp beyond it) keeps a streamed multi-GB file's
    ingestion at a bounded footprint instead of caching every block it wrote."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), config={"memory_limit": memory_limit})
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"cannot open the warehouse: {exc}", file=str(path)) from exc
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    "the warehouse is locked by another writing process", file=str(path),
                    hint="wait for the running ingestion to finish, or stop 'tdm watch'",
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt)."""
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        con.rollback()
        raise


def publish_snapshot(con: duckdb.DuckDBPyConnection, warehouse: Path, snapshot: Path) -> None:
    """Checkpoint and atomically replace the analysts' read-only snapshot with the current state."""
    warehouse, snapshot = Path(warehouse), Path(snapshot)
    con.execute("CHECKPOINT").fetchall()
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", suffix=".duckdb", dir=snapshot.parent)
    os.close(fd)
    try:
        shutil.copyfile(warehouse, tmp)
        os.replace(tmp, snapshot)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def open_reader(snapshot: Path, *, external_access: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the read-only snapshot; with ``external_access=False`` no file can be read or written."""
    snapshot = Path(snapshot)
    if not snapshot.exists():
        raise WarehouseError("no warehouse snapshot yet", file=str(snapshot), hint="run 'tdm init' first")
    config = {"access_mode": "READ_ONLY"}
    if not external_access:
        config["enable_external_access"] = False
    try:
        return duckdb.connect(str(snapshot), read_only=True, config=config)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse snapshot: {exc}", file=str(snapshot)) from exc
