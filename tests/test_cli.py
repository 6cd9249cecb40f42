"""The tdm command: set-up and inspection commands through the real entry point."""

from __future__ import annotations

import json

from tdm.cli import main
from warehouse.lake import open_writer
from warehouse.load import load_file, reserve_file_id
from tests.factories import accepted_result, file_meta, frame, patient


def test_init_is_idempotent_and_installs_the_centres(tmp_path, capsys):
    home = str(tmp_path / "h")
    assert main(["init", "--home", home]) == 0
    assert main(["init", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "schema revision 0004_value_counts" in out
    for centre in ("smc", "sch", "knuh"):
        assert f"centre profile: {centre}" in out
        assert (tmp_path / "h" / "inbox" / centre).is_dir()


def test_status_and_sql_formats(warehouse, capsys):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        load_file(con, reserve_file_id(con), file_meta(centre="c1"),
                  accepted_result({"patient": frame("patient", [patient(f"P{i}", "c1") for i in range(3)])}))
    capsys.readouterr()
    assert main(["status", "--home", str(warehouse.home)]) == 0
    out = capsys.readouterr().out
    assert "c1" in out and "last publication: none yet" in out
    assert main(["sql", "SELECT patient_id FROM core.patients ORDER BY 1", "--format", "json",
                 "--home", str(warehouse.home)]) == 0
    assert [r["patient_id"] for r in json.loads(capsys.readouterr().out)] == ["P0", "P1", "P2"]
    assert main(["sql", "SELECT count(*) AS n FROM core.patients", "-f", "csv", "--home", str(warehouse.home)]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "3"]


def test_template_command_writes_the_canonical_template(tmp_path, capsys):
    from schema.dictionary import template_columns

    assert main(["template", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "tdm-template.csv").read_text().strip().split(",") == template_columns()
    assert "trough_ug_ml" in (tmp_path / "tdm-template-README.md").read_text()


def test_unknown_command_and_missing_snapshot_are_clear_errors(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--home", str(tmp_path / "nothing")]) == 2
    assert "tdm init" in capsys.readouterr().err
    assert main(["frobnicate"]) != 0


def test_connect_prints_one_line_each_for_duckdb_python_and_r(warehouse, capsys):
    assert main(["connect", "--print", "--home", str(warehouse.home)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0::2] == ["# DuckDB CLI", "# Python", "# R"]
    catalog = str(warehouse.lake.catalog_file)
    assert all(catalog in line and "(READ_ONLY)" in line for line in out[1::2])
    assert out[1].startswith("duckdb -cmd ") and out[3].startswith("import duckdb;") and "dbConnect" in out[5]


def test_analyse_as_of_an_unknown_publication_is_one_clear_error(warehouse, capsys):
    code = main(["analyse", "--as-of", "pub-nope", "--home", str(warehouse.home)])
    err = capsys.readouterr().err
    assert code != 0 and "there is no publication pub-nope" in err and "Traceback" not in err


def test_init_says_when_it_converts_a_single_file_warehouse(tmp_path, capsys):
    import duckdb

    from base.config import load_settings
    from warehouse.migrate import upgrade_file

    settings = load_settings(tmp_path / "h")
    settings.ensure_dirs()
    upgrade_file(settings.legacy_warehouse)
    con = duckdb.connect(str(settings.legacy_warehouse))
    load_file(con, reserve_file_id(con), file_meta(centre="c1"),
              accepted_result({"patient": frame("patient", [patient("P1", "c1")])}))
    con.close()
    assert main(["init", "--home", str(settings.home)]) == 0
    out = capsys.readouterr().out
    assert "converted the single-file warehouse into the lake: " in out and "warehouse.duckdb.converted" in out
    assert main(["sql", "SELECT patient_id FROM core.patients", "-f", "csv", "--home", str(settings.home)]) == 0
    assert capsys.readouterr().out.splitlines() == ["patient_id", "P1"]
