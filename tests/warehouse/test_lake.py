"""The lake's connections: the setting, the extensions, the analysts' line, keys the lake cannot enforce."""

from __future__ import annotations

import subprocess
import sys

import pytest

from schema.dictionary import ENTITIES

from base.config import LakeSpec, load_settings
from base.errors import ConfigError, WarehouseError
from warehouse import extensions as X
from warehouse import lake as L
from warehouse.lake import connect_lines, open_reader, open_writer
from warehouse.load import check_current_keys, insert_file_row, load_file, reserve_file_id
from tests.factories import accepted_result, file_meta, frame, patient


def test_the_lake_setting_default_and_a_bad_value(tmp_path):
    s = load_settings(tmp_path, environ={})
    assert s.lake == LakeSpec(f"ducklake:sqlite:{tmp_path.resolve()}/lake/catalog.sqlite",
                              f"{tmp_path.resolve()}/lake/data/")
    pg = load_settings(tmp_path, environ={"TDM_LAKE": "ducklake:postgres:dbname=lake host=db;data_path=s3://b/l/"})
    assert pg.lake == LakeSpec("ducklake:postgres:dbname=lake host=db", "s3://b/l/") and pg.lake.catalog_file is None
    with pytest.raises(ConfigError, match="TDM_LAKE must be a DuckLake connection string") as bad:
        load_settings(tmp_path, environ={"TDM_LAKE": "postgres://db/lake"})
    assert "docs/LAKE.md" in bad.value.hint             # where the connection strings are explained
    with pytest.raises(ConfigError, match="may only add ';data_path=") as bad:
        load_settings(tmp_path, environ={"TDM_LAKE": "ducklake:x.ducklake;path=/y"})
    assert "docs/LAKE.md" in bad.value.hint


def test_without_a_matching_extension_package_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(X, "packaged_extension", lambda name, version=None: None)
    monkeypatch.setattr(L, "NO_AUTOLOAD", {**L.NO_AUTOLOAD, "extension_directory": str(tmp_path / "none"),
                                            "custom_extension_repository": "http://127.0.0.1:9/"})
    with pytest.raises(WarehouseError) as err:
        L.connect(LakeSpec.embedded(tmp_path), read_only=False)
    assert "duckdb-extension-ducklake==" in str(err.value) and "INSTALL ducklake failed" in str(err.value)


def test_the_python_line_of_tdm_connect_reads_the_lake_read_only(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        load_file(con, reserve_file_id(con), file_meta(), accepted_result({"patient": frame("patient", [patient("P1")])}))
    line = connect_lines(warehouse.lake)["python"]
    code = (f"{line}\nprint(con.execute('SELECT count(*) FROM core.patients').fetchone()[0])\n"
            "try:\n    con.execute(\"DELETE FROM core.patients\")\nexcept Exception as e:\n    print('refused', type(e).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["1", "refused InvalidInputException"]


def test_a_duplicate_current_key_or_file_id_cannot_land(warehouse):
    """DuckLake has no UNIQUE: the loader checks before its commit, and the whole file rolls back."""
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        first = load_file(con, reserve_file_id(con), file_meta(checksum="a"),
                          accepted_result({"patient": frame("patient", [patient("P1")])}))
        # a row slipping past superseding (a bug, or a racing writer) is refused with its key
        con.execute("INSERT INTO core.patients (centre_id, patient_id, file_id, source_line, is_current) "
                    "VALUES ('c1', 'P1', 99, 2, true)")
        with pytest.raises(WarehouseError, match=r"would share the key \(t.centre_id, t.patient_id\)"):
            check_current_keys(con, "patient", 99)
        con.execute("DELETE FROM core.patients WHERE file_id = 99")
        # another centre's P1, and a duplicate among keys the file did not load, are not its concern
        con.execute("INSERT INTO core.patients (centre_id, patient_id, file_id, source_line, is_current) "
                    "VALUES ('c2', 'P1', 98, 2, true), ('c1', 'P9', 97, 2, true), ('c1', 'P9', 96, 3, true)")
        check_current_keys(con, "patient", first.file_id)
        con.execute("DELETE FROM core.patients WHERE file_id >= 96")
        # the same file id twice
        with pytest.raises(WarehouseError, match=f"file id {first.file_id} is already recorded"):
            load_file(con, first.file_id, file_meta(checksum="b"),
                      accepted_result({"patient": frame("patient", [patient("P2")])}))
    con = open_reader(warehouse.lake)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT file_id) FROM ingest.files").fetchone() == (1, 1)
        assert con.execute("SELECT patient_id FROM core.patients").fetchall() == [("P1",)]
    finally:
        con.close()


def test_every_entity_key_starts_with_the_centre():
    """``check_current_keys`` groups only the rows of the centres a file loaded: sound only so."""
    assert all(e.key[0] == "centre_id" for e in ENTITIES.values())


def test_writers_wait_for_each_other_across_processes(warehouse):
    """The writers' lock: a second process waits (here: gives up after 0.5 s with WarehouseBusy)."""
    code = ("import sys; from base.config import load_settings; from warehouse.lake import open_writer\n"
            "s = load_settings(sys.argv[1])\n"
            "try:\n    open_writer(s.lake, home=s.home, wait_seconds=0.5).__enter__()\n"
            "except Exception as e:\n    print(type(e).__name__)")
    with open_writer(warehouse.lake, home=warehouse.home):
        out = subprocess.run([sys.executable, "-c", code, str(warehouse.home)], capture_output=True, text=True,
                             timeout=120)
    assert out.stdout.strip() == "WarehouseBusy", out.stderr


def test_an_idle_reader_in_the_same_process_never_blocks_the_writers_commit(warehouse):
    """The web app reads while its drop zone ingests: in SQLite's rollback journal the commit failed
    with "database is locked" (measured); the catalog is put in WAL mode, so both go on."""
    mode = subprocess.run([sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
                           ".execute('PRAGMA journal_mode').fetchone()[0])", str(warehouse.lake.catalog_file)],
                          capture_output=True, text=True, timeout=60).stdout.strip()
    assert mode == "wal"        # asked from another process: a second SQLite library here would drop our locks
    reader = open_reader(warehouse.lake)
    try:
        assert reader.execute("SELECT count(*) FROM ingest.files").fetchone() == (0,)
        with open_writer(warehouse.lake, home=warehouse.home) as con:
            load_file(con, reserve_file_id(con), file_meta(), accepted_result({"patient": frame("patient", [patient("P1")])}))
        assert reader.execute("SELECT count(*) FROM ingest.files").fetchone() == (1,)   # sees the commit
    finally:
        reader.close()


def test_a_commit_the_lake_refuses_is_transient_and_leaves_nothing(warehouse):
    """Two writers that bypass the lock (two machines on one catalog): the second COMMIT is refused;
    it is WarehouseBusy (retried), and nothing of it lands."""
    from base.errors import WarehouseBusy
    from warehouse.connection import transaction

    a = L.connect(warehouse.lake, read_only=False)
    b = L.connect(warehouse.lake, read_only=False)
    try:
        with pytest.raises(WarehouseBusy, match="the lake refused the commit"):
            with transaction(b):
                b.execute("INSERT INTO ingest.reviews VALUES ('c1', 'PB', 'r', NULL, 'b', 'x', now())")
                with transaction(a):
                    a.execute("INSERT INTO ingest.reviews VALUES ('c1', 'PA', 'r', NULL, 'a', 'x', now())")
    finally:
        a.close()
        b.close()
    con = open_reader(warehouse.lake)
    try:
        assert con.execute("SELECT patient_id FROM ingest.reviews").fetchall() == [("PA",)]
    finally:
        con.close()
