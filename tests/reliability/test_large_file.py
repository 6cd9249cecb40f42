"""The "2 GB file": a large long-format lab export goes through the one path with bounded memory.

A subprocess ingests the file through ``run_pass`` and reports its peak RSS before and after; the
set-wise reader (``read_raw``: DuckDB's ``read_csv``) must have read it, and no CSV is ever read into
pandas.  The size is ``TDM_TEST_LARGE_FILE_MB`` (default 32 MB in the normal suite); the 2 GB
variant is ``-m slow``.

Memory is bounded by DuckDB's memory limit, not by the file: the file is read and harmonised into
the writer connection's temporary tables before its transaction begins (rows written inside one are
held in memory), capped by ``TDM_WRITER_MEMORY_LIMIT`` and spilled to ``TDM_SPILL_DIR`` beyond it,
and the set-wise checks run in DuckDB on those tables; so peak RSS stays within the limit plus a fixed
allowance, however large the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import KEY
from tests.reliability.large import MEASURE, write_large_lis
from tests.lake import read_lake

ROOT = str(Path(__file__).resolve().parents[2])
LARGE_MB = float(os.environ.get("TDM_TEST_LARGE_FILE_MB", "32"))
NAME = "knuh_lis_large.csv"


def _ingest_large(tmp_path: Path, sources, size_mb: float, *, writer_memory: str = "1GB"):
    home = tmp_path / "home"
    (home / "inbox" / "knuh").mkdir(parents=True)
    staged = tmp_path / NAME
    n_rows, baseline = write_large_lis(staged, sources.knuh_baseline, int(size_mb * 2**20))
    (home / "inbox" / "knuh" / "knuh_baseline.csv").write_bytes(baseline)
    size = staged.stat().st_size
    env = dict(os.environ, TDM_PSEUDONYM_KEY=KEY, TDM_MODE="demo", TDM_WRITER_MEMORY_LIMIT=writer_memory)
    proc = subprocess.run([sys.executable, "-c", MEASURE.format(root=ROOT, home=str(home), staged=str(staged))],
                          env=env, capture_output=True, text=True, timeout=3 * 3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home, json.loads(proc.stdout.strip().splitlines()[-1]), n_rows, size


def _check_loaded(home: Path, result: dict, n_rows: int) -> None:
    assert NAME in result["streamed"]                        # the set-wise reader, never pandas whole-file
    files = {f[0]: f[1:] for f in result["files"]}
    status, rows_read, rows_loaded, rows_rejected, message = files[NAME]
    assert status == "loaded", message
    kept = n_rows * 6 // 8                                     # Hb and AST are on the profile's drop list
    assert (rows_read, rows_loaded, rows_rejected) == (kept, kept, 0)
    con = read_lake(home)
    try:
        stored = con.execute("SELECT count(*) FROM core.lab_results l JOIN ingest.files f USING (file_id) "
                             "WHERE f.file_name = ?", [NAME]).fetchone()[0]
    finally:
        con.close()
    assert stored == rows_loaded
    assert not (home / "inbox" / "knuh" / NAME).exists()


def _growth(result: dict) -> int:
    return (result["after_kb"] - result["before_kb"]) * 1024


@pytest.fixture(scope="module")
def large_run(tmp_path_factory, sources):
    return _ingest_large(tmp_path_factory.mktemp("large"), sources, LARGE_MB)


def test_a_large_file_is_streamed_and_loaded_whole(large_run):
    home, result, n_rows, size = large_run
    assert size > 8 * 2**20
    _check_loaded(home, result, n_rows)


# 96 MB, not 64: one statement of the one path needs ~64 MB whatever the file's size.  The baseline's
# harmonise joins its 14 mapped columns to ``_maps`` in one pipeline, and DuckDB (1.5.5 and 2.0.1 alike)
# pins ~4.3 MB of partitioned build blocks per hash join even for 100 rows (measured: the smallest
# working limit was 6 MB for 1 join, 16 for 4, 34 for 8, 64-66 for 14), so 64 MB failed by chance.
def test_memory_is_bounded_by_the_writer_limit_not_by_the_file(tmp_path, sources):
    """The same 48 MB file under the writer's 96 MB limit and under 1 GB: under the small limit peak RSS
    grows by at most the limit plus a fixed allowance (DuckDB and Python outside the buffer pool; the
    peak of the large file's pass alone, the high-water mark reset before it), and
    under the large one it grows by clearly more, so it is the limit that binds, not the file's size.

    (A comparison of a 12 MB with a 48 MB file under one limit is not the guarantee: a file smaller
    than the pool does not fill it, so growth rises until the pool is full and is flat after that;
    measured +96/+109/+118 MB for 24/48/96 MB files at 96 MB.)
    """
    growth = {}
    for limit in ("96MB", "1GB"):
        home, result, n_rows, size = _ingest_large(tmp_path / limit, sources, 48, writer_memory=limit)
        _check_loaded(home, result, n_rows)
        growth[limit] = _growth(result)
        print(f"growth at {limit}: {growth[limit] / 2**20:.0f} MB")
    limit_bytes, allowance = 96 * 2**20, 80 * 2**20    # measured: 151 MB at 96 MB, 370 MB at 1 GB (2026-12-02)
    assert growth["96MB"] < limit_bytes + allowance, (
        f"peak RSS grew {growth['96MB'] / 2**20:.0f} MB under a 96 MB writer limit")
    assert growth["1GB"] > growth["96MB"] + 64 * 2**20, (
        f"the limit did not bind: {growth['1GB'] / 2**20:.0f} MB at 1 GB vs {growth['96MB'] / 2**20:.0f} MB at 96 MB")


@pytest.mark.slow
def test_a_2gb_file_is_streamed_with_bounded_memory(tmp_path, sources):
    size_mb = float(os.environ.get("TDM_TEST_HUGE_FILE_MB", "2048"))
    home, result, n_rows, size = _ingest_large(tmp_path, sources, size_mb, writer_memory="256MB")
    _check_loaded(home, result, n_rows)
    print(f"{size / 2**20:.0f} MB file, {n_rows} lines: peak RSS grew {_growth(result) / 2**20:.0f} MB under 256 MB")
    assert _growth(result) < 0.5 * size, f"peak RSS grew by {_growth(result) / 2**20:.0f} MB"
