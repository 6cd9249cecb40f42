"""Initial warehouse: lineage, harmonised core tables, quarantine, publications.

Written for DuckLake (issue 16): no sequence, primary key or server default (DuckLake has none);
``ingest.files.file_id`` is taken by the loader (``warehouse.keys``) and the keys are checked
there.  The same script still upgrades a pre-DuckLake single-file warehouse before its conversion.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

SCHEMAS = ("ingest", "core", "quarantine", "published", "analysis")


def upgrade() -> None:
    for s in SCHEMAS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
    op.create_table(
        "assessments",
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=False),
        sa.Column("colonoscopy_date", sa.Date(), nullable=False),
        sa.Column("infusion_date", sa.Date()),
        sa.Column("n_infusions", sa.Integer()),
        sa.Column("dose_intensification", sa.Boolean()),
        sa.Column("concomitant_aza", sa.Boolean()),
        sa.Column("corticosteroids", sa.Boolean()),
        sa.Column("gi_surgery", sa.Boolean()),
        sa.Column("pcdai", sa.Double()),
        sa.Column("ses_cd_total", sa.Integer()),
        sa.Column("ses_cd_ileum", sa.Integer()),
        sa.Column("ses_cd_right_colon", sa.Integer()),
        sa.Column("ses_cd_transverse_colon", sa.Integer()),
        sa.Column("ses_cd_left_colon", sa.Integer()),
        sa.Column("ses_cd_rectum", sa.Integer()),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("superseded_by_file_id", sa.BigInteger()),
        sa.Column("warnings", sa.String()),
        schema="core",
    )
    op.create_table(
        "elisa_results",
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=False),
        sa.Column("trough_sample_datetime", sa.DateTime(), nullable=False),
        sa.Column("assay_name", sa.String()),
        sa.Column("trough_ug_ml", sa.Double()),
        sa.Column("trough_censor", sa.String()),
        sa.Column("lloq_ug_ml", sa.Double()),
        sa.Column("uloq_ug_ml", sa.Double()),
        sa.Column("ati_status", sa.String()),
        sa.Column("ati_titre_ng_ml", sa.Double()),
        sa.Column("ati_cutoff_ng_ml", sa.Double()),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("superseded_by_file_id", sa.BigInteger()),
        sa.Column("warnings", sa.String()),
        schema="core",
    )
    op.create_table(
        "lab_results",
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=False),
        sa.Column("sample_date", sa.Date(), nullable=False),
        sa.Column("analyte", sa.String(), nullable=False),
        sa.Column("value", sa.Double()),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("superseded_by_file_id", sa.BigInteger()),
        sa.Column("warnings", sa.String()),
        schema="core",
    )
    op.create_table(
        "patients",
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=False),
        sa.Column("sex", sa.String()),
        sa.Column("birth_date", sa.Date()),
        sa.Column("diagnosis_date", sa.Date()),
        sa.Column("diagnosis_type", sa.String()),
        sa.Column("paris_age", sa.String()),
        sa.Column("paris_location", sa.String()),
        sa.Column("paris_upper", sa.String()),
        sa.Column("paris_behaviour", sa.String()),
        sa.Column("paris_perianal", sa.Boolean()),
        sa.Column("paris_growth", sa.String()),
        sa.Column("family_history_ibd", sa.Boolean()),
        sa.Column("ifx_start_date", sa.Date()),
        sa.Column("ifx_indication", sa.String()),
        sa.Column("anti_tnf_naive", sa.Boolean()),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("superseded_by_file_id", sa.BigInteger()),
        sa.Column("warnings", sa.String()),
        schema="core",
    )
    op.create_table(
        "files",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("file_kind", sa.String()),
        sa.Column("checksum_sha256", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("processed_at", sa.DateTime()),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("rows_read", sa.Integer()),
        sa.Column("rows_loaded", sa.Integer()),
        sa.Column("rows_warned", sa.Integer()),
        sa.Column("rows_rejected", sa.Integer()),
        sa.Column("message", sa.String()),
        sa.Column("error_code", sa.String()),
        sa.Column("report_path", sa.String()),
        sa.Column("archive_path", sa.String()),
        sa.Column("duplicate_of_file_id", sa.BigInteger()),
        sa.Column("code_version", sa.String(), nullable=False),
        schema="ingest",
    )
    op.create_table(
        "issues",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer()),
        sa.Column("entity", sa.String()),
        sa.Column("patient_id", sa.String()),
        sa.Column("column_name", sa.String()),
        sa.Column("value", sa.String()),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("expected", sa.String()),
        sa.Column("fix", sa.String()),
        schema="ingest",
    )
    op.create_table(
        "reviews",
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("column_name", sa.String()),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("reviewer", sa.String(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=False),
        schema="ingest",
    )
    op.create_table(
        "publications",
        sa.Column("publication_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("code_version", sa.String(), nullable=False),
        sa.Column("data_snapshot", sa.String(), nullable=False),
        sa.Column("parameters", sa.String(), nullable=False),
        sa.Column("seed", sa.BigInteger()),
        sa.Column("n_patients", sa.Integer()),
        sa.Column("folder", sa.String()),
        schema="published",
    )
    op.create_table(
        "tables",
        sa.Column("publication_id", sa.String(), nullable=False),
        sa.Column("table_name", sa.String(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("row_json", sa.String(), nullable=False),
        schema="published",
    )
    op.create_table(
        "rows",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("patient_id", sa.String()),
        sa.Column("record_json", sa.String(), nullable=False),
        sa.Column("reasons", sa.String(), nullable=False),
        schema="quarantine",
    )


def downgrade() -> None:
    for schema, table in (
        ("published", "tables"), ("published", "publications"), ("quarantine", "rows"),
        ("ingest", "reviews"), ("ingest", "issues"), ("ingest", "files"),
        ("core", "lab_results"), ("core", "elisa_results"), ("core", "assessments"), ("core", "patients"),
    ):
        op.drop_table(table, schema=schema)
