"""A lake's readers in a process: cursors of one DuckDB database per lake, opened once.

Every DuckDB database checks the signature of each extension it LOADs: ducklake and sqlite are
~35 MB each and the check cost ~0.2 s of CPU apiece, ~0.35 s of the 0.42 s a reader cost on a
database of its own (DuckDB 1.5.5, measured).  So the first reader of a lake (at a snapshot, locked
or not) opens the database as before (:func:`warehouse.lake.open_reader`'s guards: attached
read-only, external access off, configuration locked) and keeps it; every reader is a cursor of it
(~0.01 ms; temporary tables and ``USE`` are per cursor).  An attached DuckLake reads the catalog's
latest snapshot at the start of each transaction, so a kept database sees every commit (measured:
a cursor of it saw the next writer's rows and a table it created).

A database is keyed by the catalog file's identity too (a lake deleted and created again is a new
one), closed when it has no live cursor and more than :data:`KEEP` are cached, and closed before
Python's sqlite3 touches its catalog (:func:`close_idle`).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable

import duckdb

KEEP = 4          # idle databases kept per process (one per lake and snapshot a process reads)
_LOCK = threading.Lock()
_DATABASES: OrderedDict[Hashable, tuple[duckdb.DuckDBPyConnection, weakref.WeakSet]] = OrderedDict()


def _forget() -> None:
    """A forked child must not use its parent's databases (DuckDB's threads are not forked)."""
    _DATABASES.clear()


os.register_at_fork(after_in_child=_forget)


def _close_idle(keep: int, match: Callable[[Hashable], bool] = lambda key: True) -> None:
    """Close the least recently used databases without a live cursor until ``keep`` are left."""
    for key in list(_DATABASES):
        if len(_DATABASES) <= keep:
            break
        db, cursors = _DATABASES[key]
        if match(key) and not cursors:
            del _DATABASES[key]
            db.close()


def reader_cursor(key: Hashable, open_database: Callable[[], duckdb.DuckDBPyConnection]) -> duckdb.DuckDBPyConnection:
    """A new cursor of the database kept under ``key``, opened by ``open_database`` on first use."""
    with _LOCK:
        entry = _DATABASES.get(key)
        if entry is not None:
            _DATABASES.move_to_end(key)
    if entry is None:
        db = open_database()                 # outside the lock: ~0.4 s
        with _LOCK:
            entry = _DATABASES.setdefault(key, (db, weakref.WeakSet()))
            if entry[0] is not db:           # another thread opened it meanwhile
                db.close()
            _close_idle(KEEP)
    with _LOCK:
        cursor = entry[0].cursor()
        entry[1].add(cursor)
    return cursor


def file_identity(path) -> tuple[int, int]:
    """A file by (device, inode): a catalog deleted and created again is another lake."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def close_idle(match: Callable[[Hashable], bool]) -> None:
    """Close every kept database ``match`` selects that has no live cursor."""
    with _LOCK:
        _close_idle(0, match)


__all__ = ["KEEP", "close_idle", "file_identity", "reader_cursor"]
