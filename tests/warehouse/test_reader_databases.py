"""The reader database a process keeps per lake (warehouse.shared_db): every reader is a cursor of
it, and it must read exactly what a database of the reader's own would."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from base.config import load_settings
from warehouse import shared_db
from warehouse.init import init_warehouse
from warehouse.lake import open_reader, open_writer


def _write(settings, sql: str) -> None:
    with open_writer(settings.lake, home=settings.home) as con:
        con.execute(sql)


def test_readers_of_a_lake_share_one_kept_database_and_see_every_commit(warehouse):
    before = open_reader(warehouse.lake)
    _write(warehouse, "CREATE TABLE ingest.probe AS SELECT 1 AS a")
    after = open_reader(warehouse.lake)
    keys = [k for k in shared_db._DATABASES if k[1] == warehouse.lake.url and "writer" not in k]
    assert len(keys) == 1                                       # one database, two cursors
    assert before.execute("SELECT a FROM ingest.probe").fetchall() == [(1,)]   # opened before the commit
    _write(warehouse, "INSERT INTO ingest.probe VALUES (2)")
    assert after.execute("SELECT a FROM ingest.probe ORDER BY a").fetchall() == [(1,), (2,)]
    before.execute("CREATE TEMP TABLE mine AS SELECT 1")          # temporary tables stay per cursor
    with pytest.raises(duckdb.CatalogException):
        after.execute("SELECT * FROM mine")
    with pytest.raises(duckdb.Error, match="locked"):             # the kept database is locked down
        after.execute("SET enable_external_access = true")
    before.close()
    after.close()


def test_a_lake_deleted_and_created_again_is_not_read_through_the_old_database(warehouse, tmp_path):
    other = load_settings(tmp_path / "other", mode="demo")
    other.ensure_dirs()
    init_warehouse(other)                                          # a lake without the probe table
    _write(warehouse, "CREATE TABLE ingest.probe AS SELECT 1 AS a")
    con = open_reader(warehouse.lake)
    assert con.execute("SELECT a FROM ingest.probe").fetchall() == [(1,)]
    con.close()
    shutil.rmtree(warehouse.home / "lake")                         # replaced behind this process's back
    shutil.copytree(other.home / "lake", warehouse.home / "lake")
    con = open_reader(warehouse.lake)
    try:
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT a FROM ingest.probe")
    finally:
        con.close()


def test_the_writer_is_a_cursor_of_one_kept_database_and_files_never_share_temporary_tables(warehouse, tmp_path):
    """Every open_writer of a lake in a process is a cursor of one database (extensions loaded once):
    a temporary table of one file is gone for the next, the spill folder is the database's own, and
    a database a fatal error invalidated is not reused."""
    spill_root = tmp_path / "spill"
    with open_writer(warehouse.lake, home=warehouse.home, spill_root=spill_root) as con:
        con.execute("CREATE TEMP TABLE raw AS SELECT 1 AS a")
        con.execute("CREATE TABLE ingest.probe AS SELECT 1 AS a")
        first = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    with open_writer(warehouse.lake, home=warehouse.home, spill_root=spill_root) as con:
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM raw")
        assert con.execute("SELECT a FROM ingest.probe").fetchall() == [(1,)]
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == first
    writers = [k for k in shared_db._DATABASES if k[1] == warehouse.lake.url and "writer" in k]
    assert len(writers) == 1 and Path(first).parent == spill_root and Path(first).is_dir()
    with pytest.raises(duckdb.FatalException):
        with open_writer(warehouse.lake, home=warehouse.home, spill_root=spill_root):
            raise duckdb.FatalException("simulated: the database was invalidated")
    assert not [k for k in shared_db._DATABASES if k == writers[0]] and not Path(first).exists()
    with open_writer(warehouse.lake, home=warehouse.home, spill_root=spill_root) as con:
        assert con.execute("SELECT a FROM ingest.probe").fetchall() == [(1,)]
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] != first


def test_a_database_opened_while_the_kept_ones_are_busy_is_not_evicted_before_its_cursor(tmp_path):
    """More than KEEP databases with live cursors: the one just opened is returned open, never
    closed by the eviction that makes room (it was: "Connection already closed!")."""
    busy = [shared_db.kept_cursor(("busy", i), lambda: (duckdb.connect(), None)) for i in range(shared_db.KEEP + 1)]
    try:
        fresh = shared_db.kept_cursor(("fresh",), lambda: (duckdb.connect(), None))
        assert fresh.execute("SELECT 42").fetchone() == (42,)
        fresh.close()
    finally:
        for c in busy:
            c.close()
        shared_db.close_idle(lambda key: key[0] in ("busy", "fresh"))
