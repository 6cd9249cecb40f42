"""Analysts' SQL is read-only: statement check and a read-only, no-file-access connection."""

from __future__ import annotations

import pytest

from tdm.cli import main
from base.errors import ReadOnlyViolation
from warehouse.readonly import check_readonly, run_readonly_query


@pytest.mark.parametrize("query", [
    "DROP TABLE core.patients",
    "INSERT INTO core.patients (centre_id) VALUES ('x')",
    "COPY (SELECT 1) TO '/tmp/leak.csv'",
    "ATTACH '/tmp/other.duckdb' AS o",
    "ATTACH '/tmp/other.sqlite' AS o (TYPE sqlite)",
    "SELECT 1; DELETE FROM ingest.files",
    "CREATE TABLE t AS SELECT 1",
    "INSTALL httpfs",
    "SET enable_external_access = true",
])
def test_writes_are_refused(query):
    with pytest.raises(ReadOnlyViolation):
        check_readonly(query)


def test_reads_work_and_file_functions_are_blocked(warehouse, tmp_path):
    df = run_readonly_query(warehouse.lake, "SELECT count(*) AS n FROM analysis.cohort")
    assert df["n"].tolist() == [0]
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(ReadOnlyViolation):
        run_readonly_query(warehouse.lake, f"SELECT * FROM read_csv('{secret}')")


def test_cli_gives_one_clear_message_and_exit_code(warehouse, capsys):
    code = main(["sql", "DROP TABLE core.patients", "--home", str(warehouse.home)])
    err = capsys.readouterr().err
    assert code == 2
    assert "DROP statements are refused" in err
    assert "Traceback" not in err


def test_sqlite_functions_that_bypass_the_file_setting_are_refused(warehouse):
    """SQLite opens files itself: ``sqlite_scan`` read another SQLite file with external access off
    (measured), so the catalog's extension functions are refused by name, however nested."""
    accounts = warehouse.home / "web" / "accounts.sqlite"
    for q in (f"SELECT * FROM sqlite_scan('{accounts}', 'users')",
              f"WITH a AS (SELECT * FROM SQLITE_QUERY('{accounts}', 'SELECT 1')) SELECT * FROM a",
              f"EXPLAIN ANALYZE SELECT * FROM sqlite_attach('{accounts}')"):
        with pytest.raises(ReadOnlyViolation, match="is refused here"):
            run_readonly_query(warehouse.lake, q)


def test_the_reader_itself_refuses_files_writes_and_attach_without_the_statement_check(warehouse, tmp_path):
    """The second guard alone (the statement check bypassed): lake attached READ_ONLY, only its data
    path readable, external access off and the configuration locked."""
    import duckdb

    from warehouse.lake import open_reader

    (tmp_path / "x.csv").write_text("a\n1\n")
    con = open_reader(warehouse.lake)
    try:
        for stmt in ("INSERT INTO ingest.reviews (centre_id) VALUES ('x')", "CREATE TABLE core.t (a INT)",
                     f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')", f"COPY (SELECT 1) TO '{tmp_path / 'y.csv'}'",
                     f"ATTACH '{tmp_path / 'o.duckdb'}' AS o", "SET enable_external_access = true",
                     "SET allowed_directories = ['/']", "LOAD httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(stmt)
        assert con.execute("SELECT count(*) FROM ingest.files").fetchone() == (0,)
    finally:
        con.close()
    assert not (tmp_path / "y.csv").exists()


def test_the_locked_reader_still_attaches_sqlite_so_the_statement_check_guards_it(warehouse, tmp_path):
    """The documented exception (warehouse/readonly.py): SQLite opens files itself, so the locked
    connection ATTACHes a SQLite file outside the lake; the statement check refuses the ATTACH.  If a
    DuckDB release closes this, the first assertion fails and the docstring should say so."""
    import sqlite3

    from warehouse.lake import open_reader

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (42)")
    db.close()
    con = open_reader(warehouse.lake)
    try:
        con.execute(f"ATTACH '{other}' AS o (TYPE sqlite)")
        assert con.execute("SELECT x FROM o.t").fetchall() == [(42,)]
        con.execute("DETACH o")
    finally:
        con.close()
    with pytest.raises(ReadOnlyViolation, match="ATTACH statements are refused"):
        run_readonly_query(warehouse.lake, f"ATTACH '{other}' AS o (TYPE sqlite)")
