"""The process's one DuckDB database for lake readers, each reader a cursor of it.

Every DuckDB database checks the signature of each extension it LOADs: ducklake and sqlite are
~35 MB each and the check cost ~0.2 s of CPU apiece, ~0.4 s of the 0.42 s a reader cost on its own
in-memory database (DuckDB 1.5.5, measured).  A cursor of a database that has loaded them costs
~0.01 ms, its ATTACH of a lake ~4 ms.  Attached databases are the database's, not the cursor's, so
each reader attaches its lake under an alias of its own (:func:`reserve`), and the attachment is
DETACHed once its cursor is gone (:func:`release_dead`, run before every new one and before
Python's sqlite3 touches a catalog): readers still attach per connection and see every commit, and
temporary tables stay per cursor.  Only readers that change no database-wide setting share it: a
locked reader (``lock_configuration``), the writer (memory limit, spill folder) and a lake whose
data needs an S3 secret keep a database of their own.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref

import duckdb

_LOCK = threading.Lock()
_STATE: dict = {"db": None, "attached": {}}     # attached: alias -> weakref to the cursor using it
_ALIASES = itertools.count(1)


def _forget() -> None:
    """A forked child must not use its parent's database (DuckDB's threads are not forked)."""
    _STATE["db"], _STATE["attached"] = None, {}


os.register_at_fork(after_in_child=_forget)


def _release_dead(db: duckdb.DuckDBPyConnection) -> None:
    attached = _STATE["attached"]
    for alias, ref in list(attached.items()):
        if ref() is None:
            del attached[alias]
            try:
                db.execute(f"DETACH DATABASE IF EXISTS {alias}")
            except duckdb.Error:
                pass       # a catalog deleted meanwhile: nothing left to release


def release_dead() -> None:
    """DETACH every lake whose reader cursor has been garbage-collected."""
    with _LOCK:
        if _STATE["db"] is not None:
            _release_dead(_STATE["db"])


def reserve(config: dict, prefix: str) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A new cursor of the shared database (created with ``config`` on first use) and a fresh alias
    for its lake."""
    with _LOCK:
        db = _STATE["db"]
        if db is None:
            db = _STATE["db"] = duckdb.connect(":memory:", config=config)
        _release_dead(db)
        return db.cursor(), f"{prefix}_{next(_ALIASES)}"


def register(alias: str, cursor: duckdb.DuckDBPyConnection) -> None:
    """``alias`` is attached for ``cursor``: DETACH it once the cursor is gone."""
    with _LOCK:
        _STATE["attached"][alias] = weakref.ref(cursor)


__all__ = ["register", "release_dead", "reserve"]
