"""Dictionary -> tables -> migrations -> pandera -> template: one source of truth, no drift."""

from __future__ import annotations

import duckdb

from schema.dictionary import BY_ENTITY, ENTITIES, LAB_ANALYTES, VARIABLES, template_columns
from schema.docs import data_dictionary_markdown, template_csv, template_readme
from schema.models import entity_model
from schema.tables import ENTITY_TABLES, LINEAGE_COLUMNS, metadata
from tests.lake import read_lake


def test_every_variable_has_a_column_in_its_table():
    for entity, table in ENTITY_TABLES.items():
        expected = [v.name for v in BY_ENTITY[entity]] + list(LINEAGE_COLUMNS)
        assert [c.name for c in table.columns] == expected


def test_migrated_database_matches_the_sqlalchemy_tables(warehouse):
    con = read_lake(warehouse)
    try:
        rows = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema IN ('ingest', 'core', 'quarantine', 'published') AND table_name <> 'alembic_version'"
        ).fetchall()
    finally:
        con.close()
    in_db: dict[tuple[str, str], list[str]] = {}
    for schema, table, column, _ in rows:
        in_db.setdefault((schema, table), []).append(column)
    in_meta = {(t.schema, t.name): [c.name for c in t.columns] for t in metadata.sorted_tables}
    assert set(in_db) == set(in_meta), "a table exists in the metadata or the migrations but not both"
    for key, cols in in_meta.items():
        assert sorted(in_db[key]) == sorted(cols), f"{key}: columns differ between migrations and tables"


def test_pandera_models_cover_exactly_the_dictionary():
    for entity in ENTITIES:
        model = entity_model(entity)
        assert set(model.columns) == {v.name for v in BY_ENTITY[entity]} | {"source_line"}
        for v in BY_ENTITY[entity]:
            assert model.columns[v.name].nullable == (not v.required)


def test_template_has_every_exportable_variable_once():
    cols = template_columns()
    assert len(cols) == len(set(cols))
    exportable = {v.name for v in VARIABLES if v.in_template and v.entity != "lab" and v.name != "centre_id"}
    assert exportable <= set(cols)
    assert {v.name for v in LAB_ANALYTES} <= set(cols)
    assert template_csv().strip().split(",") == cols
    readme = template_readme()
    for c in cols:
        assert f"`{c}`" in readme


def test_data_dictionary_documents_every_variable():
    text = data_dictionary_markdown()
    for v in VARIABLES:
        assert f"`{v.name}`" in text


def test_units_are_in_the_names_of_numeric_lab_variables():
    for v in LAB_ANALYTES:
        assert v.unit, v.name


def test_checked_in_data_dictionary_is_current():
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "DATA_DICTIONARY.md"
    assert doc.read_text(encoding="utf-8") == data_dictionary_markdown(), "run: tdm dictionary -o docs/DATA_DICTIONARY.md"
