"""The reader database a process keeps per lake (warehouse.shared_db): every reader is a cursor of
it, and it must read exactly what a database of the reader's own would."""

from __future__ import annotations

import shutil

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
    keys = [k for k in shared_db._DATABASES if k[1] == warehouse.lake.url]
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
