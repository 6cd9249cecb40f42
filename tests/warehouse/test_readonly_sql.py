"""Analysts' SQL is read-only: statement check and a read-only, no-file-access connection."""

from __future__ import annotations

import pytest

from tdm.cli import main
from tdm.errors import ReadOnlyViolation
from tdm.warehouse.readonly import check_readonly, run_readonly_query


@pytest.mark.parametrize("query", [
    "DROP TABLE core.patients",
    "INSERT INTO core.patients (centre_id) VALUES ('x')",
    "COPY (SELECT 1) TO '/tmp/leak.csv'",
    "ATTACH '/tmp/other.duckdb' AS o",
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
