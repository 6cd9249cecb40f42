"""``python -m benchmarks.one_path [--rows N] [--lis-rows N]``: stages 1-2 of the one path side by side
with DuckDB's own flat load of the same file (issue #15's peer).

Measures, on the same generated canonical wide CSV (:func:`benchmarks.gen.write_smc`) and, when
asked, the long LIS export (:func:`benchmarks.gen.write_knuh_labs`):

* ``duckdb_read_csv``: ``CREATE TABLE t AS SELECT * FROM read_csv(path)`` into a fresh database
  (the peer: DuckDB's typed flat load, no checks, no harmonising);
* ``read_raw``: the file as the temporary table ``raw`` of text cells (:mod:`centres.raw`:
  byte-level line checks, header checks, DuckDB's reader, privacy scan);
* ``harmonise_raw``: the profile compiled to SQL (:mod:`centres.sql_harmonise`): typed entity
  tables and findings.

Each measurement runs in a fresh connection of a fresh database file; results printed as one JSON
line per file (wall and CPU seconds, lines per second, ratios to the peer).  Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks import gen
from centres import builtin_profiles
from centres.raw import read_raw
from centres.sql_harmonise import harmonise_raw

KEY = b"benchmark-key-0123456789abcdef0123"


def cpu() -> float:
    """CPU seconds of this process, all threads (a fairer comparison than wall time on a shared machine)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peer(path: Path, db: Path) -> tuple[float, float]:
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    t0, c0 = time.perf_counter(), cpu()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')").fetchall()
    con.execute("CHECKPOINT").fetchall()
    seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
    con.close()
    db.unlink(missing_ok=True)
    return seconds, cpu_s


def one_path(path: Path, db: Path, centre: str) -> dict:
    profile = builtin_profiles()[centre]
    spec = profile.match(path.name)
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    t0, c0 = time.perf_counter(), cpu()
    raw = read_raw(con, path, spec, path.name)
    t1, c1 = time.perf_counter(), cpu()
    h = harmonise_raw(con, raw, spec, profile, KEY)
    t2, c2 = time.perf_counter(), cpu()
    con.close()
    db.unlink(missing_ok=True)
    return {"read_raw_s": round(t1 - t0, 3), "harmonise_raw_s": round(t2 - t1, 3), "seconds": round(t2 - t0, 3),
            "read_raw_cpu_s": round(c1 - c0, 3), "harmonise_raw_cpu_s": round(c2 - c1, 3), "cpu_s": round(c2 - c0, 3),
            "lines": raw.rows, "rows": h.rows, "findings": h.findings}


def measure(path: Path, centre: str, work: Path) -> dict:
    db = work / "bench.duckdb"
    flat, flat_cpu = peer(path, db)
    ours = one_path(path, db, centre)
    return {"file": path.name, "bytes": path.stat().st_size, **ours, "duckdb_read_csv_s": round(flat, 3),
            "duckdb_read_csv_cpu_s": round(flat_cpu, 3), "ratio_to_duckdb": round(flat / ours["seconds"], 3),
            "cpu_ratio_to_duckdb": round(flat_cpu / ours["cpu_s"], 3),
            "lines_per_s": round(ours["lines"] / ours["seconds"])}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="lines of the canonical wide CSV")
    ap.add_argument("--lis-rows", type=int, default=0, help="lines of the long LIS export (0: skip)")
    ap.add_argument("--work", default=os.environ.get("TMPDIR") or tempfile.gettempdir())
    a = ap.parse_args(argv)
    work = Path(a.work) / "one_path_bench"
    work.mkdir(parents=True, exist_ok=True)
    smc = gen.write_smc(work / "smc_bench.csv", a.rows)
    print(json.dumps(measure(smc, "smc", work)), flush=True)
    if a.lis_rows:
        lis = gen.write_knuh_labs(work / "knuh_lis_labs_bench.csv", a.lis_rows, n_patients=max(1000, a.lis_rows // 100))
        print(json.dumps(measure(lis, "knuh", work)), flush=True)


if __name__ == "__main__":
    main()
