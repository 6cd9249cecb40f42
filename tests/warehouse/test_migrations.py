"""alembic on DuckDB: up from empty, idempotent init, and a schema change on a populated database."""

from __future__ import annotations

import shutil
import textwrap

import duckdb

from tdm.warehouse import current_revision, init_warehouse
from tdm.warehouse.migrate import MIGRATIONS, upgrade
from tests.factories import accepted_result, file_meta, frame, patient


def test_upgrade_from_empty_and_init_is_idempotent(settings):
    assert current_revision(settings.warehouse) is None
    rev1 = init_warehouse(settings)
    rev2 = init_warehouse(settings)
    assert rev1 == rev2 == "0002_queries_and_audit_trail"
    con = duckdb.connect(str(settings.snapshot), read_only=True)
    views = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analysis'").fetchall()}
    con.close()
    assert {"cohort", "cohort_all", "eligibility", "labs"} <= views


SECOND_MIGRATION = '''
"""test-only: alter a populated table (index dropped and recreated around the change)."""
from alembic import op
import sqlalchemy as sa

revision = "0099_test_alter"
down_revision = "0002_queries_and_audit_trail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("weight_kg", sa.Double()), schema="core")
    op.execute("UPDATE core.patients SET weight_kg = 40.5")
    op.execute("CREATE INDEX ix_patients_pid ON core.patients (patient_id)")
    op.execute("DROP INDEX core.ix_patients_pid")
    op.alter_column("patients", "paris_age", new_column_name="paris_age_group", schema="core")
    op.execute("CREATE INDEX ix_patients_pid ON core.patients (patient_id)")


def downgrade() -> None:
    pass
'''


def test_second_migration_alters_a_populated_database_without_losing_rows(warehouse, tmp_path):
    from tdm.warehouse.connection import open_writer
    from tdm.warehouse.load import load_file, reserve_file_id

    rows = [patient(f"P{i}", paris_age="A1b") for i in range(50)]
    with open_writer(warehouse.warehouse) as con:
        load_file(con, reserve_file_id(con), file_meta(), accepted_result({"patient": frame("patient", rows)}))

    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts)
    (scripts / "versions" / "0099_test_alter.py").write_text(textwrap.dedent(SECOND_MIGRATION))
    upgrade(warehouse.warehouse, "0099_test_alter", script_location=scripts)

    con = duckdb.connect(str(warehouse.warehouse))
    try:
        n, w, groups = con.execute(
            "SELECT count(*), min(weight_kg), count(DISTINCT paris_age_group) FROM core.patients").fetchone()
        rev = con.execute("SELECT version_num FROM ingest.alembic_version").fetchone()[0]
    finally:
        con.close()
    assert (n, w, groups) == (50, 40.5, 1)
    assert rev == "0099_test_alter"
