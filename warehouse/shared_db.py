"""A lake's readers and its writer in a process: cursors of DuckDB databases kept per lake, opened once.

Every DuckDB database checks the signature of each extension it LOADs: ducklake and sqlite are
~35 MB each and the check cost ~0.2 s of CPU apiece, ~0.35 s of the 0.42 s a reader cost on a
database of its own (DuckDB 1.5.5, measured).  So the first reader of a lake (at a snapshot, locked
or not) opens the database as before (:func:`warehouse.lake.open_reader`'s guards: attached
read-only, external access off, configuration locked) and keeps it; every reader is a cursor of it
(~0.01 ms; temporary tables and ``USE`` are per cursor).  An attached DuckLake reads the catalog's
latest snapshot at the start of each transaction, so a kept database sees every commit (measured:
a cursor of it saw the next writer's rows and a table it created).

The writer is kept the same way (:func:`warehouse.lake.open_writer`: one database per lake and
memory limit, its spill folder removed when it closes): a database of its own per file cost ~0.35 s
of a 10-line file's ~1 s.  Its cursors drop their temporary tables when they close, so no file sees
another's; a database that a fatal error invalidated is dropped (:func:`discard`).

A database is keyed by the catalog file's identity too (a lake deleted and created again is a new
one: the kept database holds the old file open, so its inode is not reused), closed when it has no
live cursor and more than :data:`KEEP` are cached, closed before Python's sqlite3 touches its
catalog (:func:`close_idle`), and at exit.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import duckdb

KEEP = 4          # idle databases kept per process (one per lake and snapshot a process reads, one writer)
_LOCK = threading.Lock()


@dataclass
class _Kept:
    db: duckdb.DuckDBPyConnection
    on_close: Callable[[], None] | None = None
    cursors: weakref.WeakSet = field(default_factory=weakref.WeakSet)

    def close(self) -> None:
        self.db.close()
        if self.on_close is not None:
            self.on_close()


_DATABASES: OrderedDict[Hashable, _Kept] = OrderedDict()


def _forget() -> None:
    """A forked child must not use its parent's databases (DuckDB's threads are not forked)."""
    _DATABASES.clear()


os.register_at_fork(after_in_child=_forget)


def _close_idle(keep: int, match: Callable[[Hashable], bool] = lambda key: True) -> None:
    """Close the least recently used databases without a live cursor until ``keep`` are left."""
    for key in list(_DATABASES):
        if len(_DATABASES) <= keep:
            break
        kept = _DATABASES[key]
        if match(key) and not kept.cursors:
            del _DATABASES[key]
            kept.close()


def kept_cursor(key: Hashable, open_database: Callable[[], tuple[duckdb.DuckDBPyConnection, Callable[[], None] | None]]
                ) -> duckdb.DuckDBPyConnection:
    """A new cursor of the database kept under ``key``; ``open_database`` opens it on first use and
    returns it with what to do once it is closed (or None).

    The cursor is made and registered under the same lock that found or added the database, before
    any eviction: an evicted database is one without a live cursor, so it is never the one returned
    (evicting first closed a database just opened when the older ones were busy: "Connection already
    closed!", seen when a file's writer and its readers were open at once)."""
    with _LOCK:
        entry = _DATABASES.get(key)
        if entry is not None:
            _DATABASES.move_to_end(key)
            return _new_cursor(entry)
    opened = _Kept(*open_database())         # outside the lock: ~0.4 s
    with _LOCK:
        entry = _DATABASES.setdefault(key, opened)
        _DATABASES.move_to_end(key)
        cursor = _new_cursor(entry)
        _close_idle(KEEP)
    if entry is not opened:                  # another thread opened it meanwhile
        opened.close()
    return cursor


def _new_cursor(entry: _Kept) -> duckdb.DuckDBPyConnection:
    cursor = entry.db.cursor()
    entry.cursors.add(cursor)
    return cursor


def discard(key: Hashable) -> None:
    """Close and forget the database kept under ``key`` (a fatal error invalidated it)."""
    with _LOCK:
        kept = _DATABASES.pop(key, None)
    if kept is not None:
        kept.close()


def file_identity(path) -> tuple[int, int]:
    """A file by (device, inode): a catalog deleted and created again is another lake."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def close_idle(match: Callable[[Hashable], bool]) -> None:
    """Close every kept database ``match`` selects that has no live cursor."""
    with _LOCK:
        _close_idle(0, match)


@atexit.register
def _close_all() -> None:
    with _LOCK:
        kept = list(_DATABASES.values())
        _DATABASES.clear()
    for k in kept:
        k.close()


__all__ = ["KEEP", "close_idle", "discard", "file_identity", "kept_cursor"]
