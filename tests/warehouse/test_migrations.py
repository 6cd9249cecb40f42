"""alembic on the lake (duckdb-engine, the lake attached in a connect event): up from empty,
idempotent init, a schema change on a populated lake, the 0002 back-fill, the revision constant,
and the one-time conversion of a single-file warehouse."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb

from warehouse.lake import open_writer
from warehouse import current_revision
from warehouse.init import init_warehouse
from warehouse.migrate import MIGRATIONS, upgrade
from tests.factories import accepted_result, file_meta, frame, patient
from tests.lake import read_lake


def test_upgrade_from_empty_and_init_is_idempotent(settings):
    assert current_revision(settings.lake) is None
    rev1 = init_warehouse(settings).revision
    rev2 = init_warehouse(settings).revision
    assert rev1 == rev2 == "0003_publication_lake_snapshot"
    con = read_lake(settings)
    views = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analysis'").fetchall()}
    con.close()
    assert {"cohort", "cohort_all", "eligibility", "labs"} <= views


SECOND_MIGRATION = '''
"""test-only: alter a populated table (DuckLake has no indexes: add, fill and rename columns)."""
from alembic import op
import sqlalchemy as sa

revision = "0099_test_alter"
down_revision = "0003_publication_lake_snapshot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("weight_kg", sa.Double()), schema="core")
    op.execute("UPDATE core.patients SET weight_kg = 40.5")
    op.alter_column("patients", "paris_age", new_column_name="paris_age_group", schema="core")


def downgrade() -> None:
    pass
'''


def test_second_migration_alters_a_populated_database_without_losing_rows(warehouse, tmp_path):
    from warehouse.lake import open_writer
    from warehouse.load import load_file, reserve_file_id

    rows = [patient(f"P{i}", paris_age="A1b") for i in range(50)]
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        load_file(con, reserve_file_id(con), file_meta(), accepted_result({"patient": frame("patient", rows)}))

    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts)
    (scripts / "versions" / "0099_test_alter.py").write_text(textwrap.dedent(SECOND_MIGRATION))
    upgrade(warehouse.lake, "0099_test_alter", home=warehouse.home, script_location=scripts)

    con = read_lake(warehouse)
    try:
        n, w, groups = con.execute(
            "SELECT count(*), min(weight_kg), count(DISTINCT paris_age_group) FROM core.patients").fetchone()
        rev = con.execute("SELECT version_num FROM ingest.alembic_version").fetchone()[0]
    finally:
        con.close()
    assert (n, w, groups) == (50, 40.5, 1)
    assert rev == "0099_test_alter"


def test_0002_turns_the_findings_of_a_populated_warehouse_into_queries(settings):
    """Findings stored before queries existed become queries: open, superseded by a later file that
    carried the patient, or answered by a legacy confirmation; each with its audit rows."""
    settings.ensure_dirs()
    upgrade(settings.lake, "0001_initial", home=settings.home)
    with open_writer(settings.lake, home=settings.home) as con:
        for fid, centre, kind, status in ((1, "smc", "wide", "loaded"), (2, "smc", "labs_long", "loaded"),
                                          (3, "knuh", "baseline", "rejected"), (4, "smc", "wide", "duplicate")):
            con.execute("INSERT INTO ingest.files (file_id, centre_id, file_name, file_kind, checksum_sha256, "
                        "size_bytes, received_at, processed_at, status, code_version) VALUES "
                        "(?, ?, ?, ?, 'x', 1, TIMESTAMP '2026-11-01 08:00', TIMESTAMP '2026-11-01 09:00' + "
                        "INTERVAL (?) DAY, ?, 'test')", [fid, centre, f"f{fid}.csv", kind, fid, status])
        con.execute("INSERT INTO core.lab_results (centre_id, patient_id, sample_date, analyte, value, file_id, "
                    "source_line, is_current) VALUES ('smc', 'P1', DATE '2026-10-01', 'crp_mg_dl', 0.5, 2, 2, true)")
        con.execute("""INSERT INTO ingest.issues (file_id, source_line, entity, patient_id, column_name, value, rule,
                       severity, message) VALUES
            (1, 2, 'lab', 'P1', 'value', '80.0', 'lab_value_implausible', 'warning', 'crp_mg_dl outside'),
            (1, 3, 'lab', 'P2', 'value', '160.0', 'lab_value_implausible', 'warning', 'esr_mm_h outside'),
            (1, 4, 'patient', 'P3', 'sex', 'X', 'allowed_codes', 'error', 'sex is not an allowed code'),
            (3, NULL, NULL, NULL, 'pcdai', NULL, 'missing_column', 'file_error', 'required column(s) missing'),
            (4, 2, 'lab', 'P9', 'value', '1.0', 'lab_value_implausible', 'warning', 'duplicates are no finding')""")
        con.execute("INSERT INTO ingest.reviews VALUES ('smc', 'P2', 'lab_value_implausible', 'value', "
                    "'true ESR, chart checked', 'dm.kim', TIMESTAMP '2026-11-05 10:00')")

    upgrade(settings.lake, home=settings.home)
    con = read_lake(settings)
    try:
        q = con.execute("SELECT centre_id, scope, patient_id, rule, state, answer, answered_by, closed_reason, "
                        "closed_by_file_id, first_file_id FROM ingest.queries ORDER BY query_id").fetchall()
        ev = con.execute("SELECT q.patient_id, e.action, e.old_state, e.new_state, e.actor FROM ingest.query_events e "
                         "JOIN ingest.queries q USING (query_id) ORDER BY e.event_id").fetchall()
        n_reviews = con.execute("SELECT count(*) FROM ingest.reviews").fetchone()[0]
        cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'issues'").fetchall()}
    finally:
        con.close()
    assert q == [
        ("knuh", "file:baseline", None, "missing_column", "open", None, None, None, None, 3),
        ("smc", "row", "P1", "lab_value_implausible", "closed", None, None, "superseded", 2, 1),
        ("smc", "row", "P2", "lab_value_implausible", "answered", "confirmed", "dm.kim", None, None, 1),
        ("smc", "row", "P3", "allowed_codes", "open", None, None, None, None, 1),
    ]
    assert ev[:4] == [(None, "opened", None, "open", "migration 0002"), ("P1", "opened", None, "open", "migration 0002"),
                      ("P2", "opened", None, "open", "migration 0002"), ("P3", "opened", None, "open", "migration 0002")]
    assert ev[4:] == [("P1", "closed", "open", "closed", "migration 0002"), ("P2", "answered", "open", "answered", "dm.kim")]
    assert n_reviews == 1 and "record" in cols


def test_the_revision_constant_is_alembics_head():
    """``setup`` compares the lake with SCHEMA_HEAD so that a pass never imports alembic (issue 14)."""
    from warehouse.migrate import head_revision
    from warehouse.revision import SCHEMA_HEAD

    assert SCHEMA_HEAD == head_revision()


def test_a_pass_on_a_lake_at_the_head_does_not_import_alembic(warehouse):
    import subprocess
    import sys

    from centres.privacy import load_key

    load_key(warehouse, create=True)
    code = ("import sys; from ingestion.passes import setup; setup(sys.argv[1]); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(warehouse.home)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


LEGACY_MIGRATIONS = Path(__file__).parent / "legacy_migrations"


def _legacy_home(settings):
    """A pre-DuckLake home as the OLD code made it: ``warehouse.duckdb`` built by the pre-lake
    migrations (tests/warehouse/legacy_migrations: 0001/0002 as of commit 4508678, with their
    sequences, primary keys and ``nextval`` defaults), one file row numbered by the old sequence, then
    populated through the loader (a superseding correction, quarantined lines, findings)."""
    from alembic import command

    from warehouse.load import load_file, reserve_file_id
    from warehouse.migrate import alembic_config, file_engine
    from tests.factories import assessment, lab, rejected_frame

    settings.ensure_dirs()
    engine = file_engine(settings.legacy_warehouse)
    try:
        with engine.begin() as conn:
            cfg = alembic_config("duckdb://", LEGACY_MIGRATIONS)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002_queries_and_audit_trail")
    finally:
        engine.dispose()
    con = duckdb.connect(str(settings.legacy_warehouse))
    try:
        assert con.execute("SELECT count(*) FROM duckdb_sequences()").fetchone()[0] == 3   # the old layout
        con.execute("INSERT INTO ingest.files (centre_id, file_name, checksum_sha256, size_bytes, received_at, "
                    "status, rows_read, message, code_version) VALUES ('c1', 'old.csv', 'old', 10, "
                    "TIMESTAMP '2026-11-20 10:00:00', 'rejected', 3, 'not a CSV', 'old')")   # file_id: nextval = 1
        rej = rejected_frame([{"entity": "patient", "source_line": 9, "centre_id": "c1", "patient_id": "PX",
                               "record": {"sex": "X"}, "reasons": "allowed_codes"}])
        load_file(con, reserve_file_id(con), file_meta(checksum="a"), accepted_result(
            {"patient": frame("patient", [patient(f"P{i}") for i in range(20)]),
             "assessment": frame("assessment", [assessment("P1", pcdai=30.0)]),
             "lab": frame("lab", [lab(f"P{i}", "crp_mg_dl", 0.1 * i) for i in range(20)])}, rejected=rej))
        load_file(con, reserve_file_id(con), file_meta(checksum="b"), accepted_result(
            {"assessment": frame("assessment", [assessment("P1", pcdai=3.0)])}))
    finally:
        con.close()


def _old_contents(path) -> dict[str, list]:
    """Every table of the current schema as the legacy file holds it, in the columns it has."""
    from schema.tables import metadata

    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for t in metadata.sorted_tables:
            have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                              "table_schema = ? AND table_name = ?", [t.schema, t.name]).fetchall()}
            cols = [c.name for c in t.columns if c.name in have]
            out[f"{t.schema}.{t.name}"] = (cols, con.execute(
                f"SELECT {', '.join(cols)} FROM {t.schema}.{t.name} ORDER BY ALL").fetchall())
        return out
    finally:
        con.close()


def _contents(con, catalog: str) -> dict[str, list]:
    from schema.tables import metadata

    return {f"{t.schema}.{t.name}": con.execute(
        f"SELECT {', '.join(c.name for c in t.columns)} FROM {catalog}.{t.schema}.{t.name} ORDER BY ALL").fetchall()
        for t in metadata.sorted_tables}


def test_a_single_file_home_is_converted_once_with_every_row(settings):
    _legacy_home(settings)
    old = _old_contents(settings.legacy_warehouse)            # before anything of the new code touched it
    first = init_warehouse(settings)
    assert first.converted is not None and first.converted["core.patients"] == 20
    assert "converted the single-file warehouse" in first.lines()[0]
    kept = settings.legacy_warehouse.with_name("warehouse.duckdb.converted")
    assert kept.is_file() and not settings.legacy_warehouse.exists()

    con = read_lake(settings)
    try:
        con.execute(f"ATTACH '{kept}' AS legacy (READ_ONLY)")
        before, after = _contents(con, "legacy"), _contents(con, "lake")
    finally:
        con.close()
    assert before == after                                  # every table, row for row
    con = read_lake(settings)
    try:                                                    # ... and as the OLD code had written it
        for table, (cols, rows) in old.items():
            assert con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").fetchall() == rows, table
    finally:
        con.close()
    assert sum(len(rows) for _, rows in old.values()) == sum(first.converted.values())
    assert sum(len(v) for v in after.values()) == sum(first.converted.values()) > 40
    assert init_warehouse(settings).converted is None        # once

    # the next file ids continue after the converted ones
    from warehouse.load import reserve_file_id
    with open_writer(settings.lake, home=settings.home) as w:
        assert reserve_file_id(w) == 4             # after the old sequence's 1 and the loader's 2, 3
