"""SQLAlchemy tables of the warehouse, derived from the data dictionary.

Schemas:

``ingest``      files received (lineage), validation issues, queries (data clarification) and their
                audit trail; ``reviews`` is the legacy confirmation table (kept, no longer written)
``core``        harmonised rows, one table per entity, each row with its file and line
``quarantine``  rejected rows with their original values and reasons
``published``   versioned analysis publications
``analysis``    curated read-only views (created by :mod:`schema.views`, not tables)

Migrations under ``schema/migrations`` are hand-written (autogenerate does not work on
duckdb-engine with SQLAlchemy 2.1); a test checks that ``alembic upgrade head`` yields exactly
these tables and columns, so the dictionary, the tables and the migrations cannot drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa

from schema.dictionary import BY_ENTITY, ENTITIES, Variable

metadata = sa.MetaData()

SQL_TYPES = {
    "str": sa.String,
    "code": sa.String,
    "bool": sa.Boolean,
    "int": sa.Integer,
    "float": sa.Double,
    "date": sa.Date,
    "datetime": sa.DateTime,
}

# The warehouse is a DuckLake (issue 16): no sequences, primary keys or server defaults; the writer
# takes the ids and checks the keys (warehouse/keys.py).

# Lineage carried by every harmonised row.
LINEAGE_COLUMNS = ("file_id", "source_line", "is_current", "superseded_by_file_id", "warnings")


def _column(v: Variable) -> sa.Column:
    # NOT NULL only on identity/key columns: required-ness of the rest is enforced by validation,
    # so a future optional->required change never needs an ALTER on a populated table.
    key = ENTITIES[v.entity].key
    return sa.Column(v.name, SQL_TYPES[v.dtype](), nullable=v.name not in key, comment=v.description)


def _lineage() -> list[sa.Column]:
    return [
        sa.Column("file_id", sa.BigInteger, nullable=False, comment="ingest.files.file_id the row came from"),
        sa.Column("source_line", sa.Integer, nullable=False,
                  comment="1-based line in the source file (header = line 1) or spreadsheet row"),
        sa.Column("is_current", sa.Boolean, nullable=False,
                  comment="false once a corrected export for the same key superseded the row"),
        sa.Column("superseded_by_file_id", sa.BigInteger, comment="file whose row replaced this one"),
        sa.Column("warnings", sa.String, comment="validation warnings kept with the row (JSON list)"),
    ]


def _entity_table(entity: str) -> sa.Table:
    e = ENTITIES[entity]
    return sa.Table(
        e.table,
        metadata,
        *[_column(v) for v in BY_ENTITY[entity]],
        *_lineage(),
        schema="core",
        comment=e.description,
    )


patients = _entity_table("patient")
assessments = _entity_table("assessment")
elisa_results = _entity_table("elisa")
lab_results = _entity_table("lab")
ENTITY_TABLES: dict[str, sa.Table] = {
    "patient": patients,
    "assessment": assessments,
    "elisa": elisa_results,
    "lab": lab_results,
}

files = sa.Table(
    "files",
    metadata,
    sa.Column("file_id", sa.BigInteger, nullable=False),
    sa.Column("centre_id", sa.String, nullable=False),
    sa.Column("file_name", sa.String, nullable=False),
    sa.Column("file_kind", sa.String, comment="wide | baseline | visit | elisa | labs_long"),
    sa.Column("checksum_sha256", sa.String, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("processed_at", sa.DateTime),
    sa.Column("status", sa.String, nullable=False,
              comment="loaded | loaded_with_rejections | rejected | duplicate"),
    sa.Column("rows_read", sa.Integer),
    sa.Column("rows_loaded", sa.Integer),
    sa.Column("rows_warned", sa.Integer),
    sa.Column("rows_rejected", sa.Integer),
    sa.Column("message", sa.String, comment="file-level error or duplicate notice"),
    sa.Column("error_code", sa.String),
    sa.Column("report_path", sa.String),
    sa.Column("archive_path", sa.String),
    sa.Column("duplicate_of_file_id", sa.BigInteger),
    sa.Column("code_version", sa.String, nullable=False),
    schema="ingest",
    comment="One row per file received: lineage, status and counts.",
)

issues = sa.Table(
    "issues",
    metadata,
    sa.Column("file_id", sa.BigInteger, nullable=False),
    sa.Column("source_line", sa.Integer),
    sa.Column("entity", sa.String),
    sa.Column("patient_id", sa.String),
    sa.Column("column_name", sa.String),
    sa.Column("value", sa.String),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False, comment="error | warning | file_error"),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("expected", sa.String),
    sa.Column("fix", sa.String),
    sa.Column("record", sa.String, comment="the record beyond the patient (its key: a date, a date and analyte)"),
    schema="ingest",
    comment="Every validation finding, with where it was found and how to fix it.",
)

queries = sa.Table(
    "queries",
    metadata,
    sa.Column("query_id", sa.BigInteger, nullable=False),
    sa.Column("centre_id", sa.String, nullable=False),
    sa.Column("scope", sa.String, nullable=False,
              comment="'row' (a finding on a record) or the file kind of a whole-file finding ('file:wide'...)"),
    sa.Column("entity", sa.String),
    sa.Column("patient_id", sa.String),
    sa.Column("record", sa.String, comment="the record beyond the patient (a date, a date and analyte)"),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("column_name", sa.String),
    sa.Column("severity", sa.String, nullable=False, comment="error | warning | file_error"),
    sa.Column("value", sa.String, comment="the value as found in the latest file that had the finding"),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("expected", sa.String),
    sa.Column("fix", sa.String),
    sa.Column("first_file_id", sa.BigInteger, nullable=False),
    sa.Column("last_file_id", sa.BigInteger, nullable=False, comment="latest file with the finding"),
    sa.Column("source_line", sa.Integer, comment="line in the latest file with the finding"),
    sa.Column("state", sa.String, nullable=False, comment="open | answered | closed"),
    sa.Column("answer", sa.String, comment="confirmed | will_correct (set while answered, kept when closed)"),
    sa.Column("answer_reason", sa.String),
    sa.Column("answered_value", sa.String, comment="the value a data manager confirmed as true"),
    sa.Column("answered_by", sa.String),
    sa.Column("answered_at", sa.DateTime),
    sa.Column("closed_reason", sa.String, comment="superseded (a corrected file) | accepted (by the coordinator)"),
    sa.Column("closed_by_file_id", sa.BigInteger),
    sa.Column("opened_at", sa.DateTime, nullable=False, comment="when the finding was first (or again) open"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    schema="ingest",
    comment="One data-clarification query per finding (centre, patient, record, rule, column), across files.",
)

query_events = sa.Table(
    "query_events",
    metadata,
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("query_id", sa.BigInteger, nullable=False),
    sa.Column("event_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False, comment="user, or 'tdm ingest' for changes a file made"),
    sa.Column("action", sa.String, nullable=False,
              comment="opened | answered | closed | reopened | revoked"),
    sa.Column("old_state", sa.String),
    sa.Column("new_state", sa.String, nullable=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("file_id", sa.BigInteger, comment="the file that caused the change, if one did"),
    schema="ingest",
    comment="Append-only audit trail of every query change (never updated or deleted).",
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("centre_id", sa.String, nullable=False),
    sa.Column("patient_id", sa.String, nullable=False),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("column_name", sa.String),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("reviewer", sa.String, nullable=False),
    sa.Column("reviewed_at", sa.DateTime, nullable=False),
    schema="ingest",
    comment="Warnings a data manager confirmed as correct (e.g. a true extreme value).",
)

value_counts = sa.Table(
    "value_counts",
    metadata,
    sa.Column("variable", sa.String, nullable=False, comment="a lab analyte, or trough_ug_ml"),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False, comment="+ rows made current, - rows superseded"),
    sa.Column("file_id", sa.BigInteger, nullable=False, comment="the file whose load changed the counts"),
    schema="ingest",
    comment="Append-only deltas of how many current rows hold each value of a lab analyte or the trough "
            "(warehouse.value_counts): the study's medians read from them, not from every row.",
)

quarantine_rows = sa.Table(
    "rows",
    metadata,
    sa.Column("file_id", sa.BigInteger, nullable=False),
    sa.Column("source_line", sa.Integer, nullable=False),
    sa.Column("entity", sa.String, nullable=False),
    sa.Column("centre_id", sa.String, nullable=False),
    sa.Column("patient_id", sa.String),
    sa.Column("record_json", sa.String, nullable=False, comment="the harmonised row as JSON"),
    sa.Column("reasons", sa.String, nullable=False, comment="rule names, '; '-separated"),
    schema="quarantine",
    comment="Rejected rows, with their original line and the reasons.",
)

publications = sa.Table(
    "publications",
    metadata,
    sa.Column("publication_id", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("code_version", sa.String, nullable=False),
    sa.Column("data_snapshot", sa.String, nullable=False, comment="JSON list of source file checksums"),
    sa.Column("parameters", sa.String, nullable=False, comment="JSON of the analysis parameters"),
    sa.Column("seed", sa.BigInteger),
    sa.Column("n_patients", sa.Integer),
    sa.Column("folder", sa.String),
    sa.Column("lake_snapshot", sa.BigInteger),   # the lake snapshot the publication read (tdm analyse --as-of)
    schema="published",
    comment="One row per analysis publication.",
)

published_tables = sa.Table(
    "tables",
    metadata,
    sa.Column("publication_id", sa.String, nullable=False),
    sa.Column("table_name", sa.String, nullable=False),
    sa.Column("row_number", sa.Integer, nullable=False),
    sa.Column("row_json", sa.String, nullable=False),
    schema="published",
    comment="Every published result table, one JSON row per result row; typed views in published.*",
)

SCHEMAS = ("ingest", "core", "quarantine", "published", "analysis")
