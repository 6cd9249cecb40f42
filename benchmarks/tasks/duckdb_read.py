"""The peer: DuckDB's own ``read_csv`` of a file into a fresh database (imports DuckDB alone, so its
peak RSS is DuckDB's)."""

from __future__ import annotations

import contextlib
import os
import time

import duckdb

from benchmarks.tasks.common import cpu


def duckdb_load(path: str, db: str, threads: int | None = None) -> dict:
    """DuckDB's own ``read_csv`` of the same file into a table of a fresh database file (durable:
    CREATE TABLE AS + CHECKPOINT), the practical upper bound for a CSV load on this machine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(db)
    con = duckdb.connect(db)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    t0, c0 = time.perf_counter(), cpu()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    t1 = time.perf_counter()
    con.execute("CHECKPOINT")
    t2, c2 = time.perf_counter(), cpu()
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    os.unlink(db)
    return {"seconds": round(t2 - t0, 4), "cpu_s": round(c2 - c0, 4), "load_s": round(t1 - t0, 4), "checkpoint_s": round(t2 - t1, 4),
            "rows": n, "threads": threads or os.cpu_count()}
