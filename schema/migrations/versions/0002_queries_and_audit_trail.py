"""Queries (data clarification) with an append-only audit trail; the record of each finding.

Schema change: ``ingest.issues.record`` (the record beyond the patient: a date, a date and analyte),
``ingest.queries`` (one per finding, across files) and ``ingest.query_events`` (append-only); their
ids are given explicitly (DuckLake has no sequences: ``warehouse.keys``).

Data back-fill: every finding already in ``ingest.issues`` becomes a query, as the loader would
have made it (``warehouse.queries.sync_file``), except that findings stored before this
revision have no ``record``: such a query is about the patient's rows of that entity, and the
next file carrying that patient supersedes it.  A query whose patient (or, for a whole-file
finding, whose file kind) a later file carried is closed as superseded by that file; the others
are open.  Confirmations of the legacy ``ingest.reviews`` table (patient, rule, optional column)
answer the open warning queries they match, with the reviewer, time and reason they were given;
the table is kept as it was.

Revision ID: 0002_queries_and_audit_trail
Revises: 0001_initial
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_queries_and_audit_trail"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

ACTOR = "migration 0002"


def _schema() -> None:
    op.add_column("issues", sa.Column("record", sa.String()), schema="ingest")
    op.create_table(
        "queries",
        sa.Column("query_id", sa.BigInteger(), nullable=False),
        sa.Column("centre_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("entity", sa.String()),
        sa.Column("patient_id", sa.String()),
        sa.Column("record", sa.String()),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("column_name", sa.String()),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("value", sa.String()),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("expected", sa.String()),
        sa.Column("fix", sa.String()),
        sa.Column("first_file_id", sa.BigInteger(), nullable=False),
        sa.Column("last_file_id", sa.BigInteger(), nullable=False),
        sa.Column("source_line", sa.Integer()),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("answer", sa.String()),
        sa.Column("answer_reason", sa.String()),
        sa.Column("answered_value", sa.String()),
        sa.Column("answered_by", sa.String()),
        sa.Column("answered_at", sa.DateTime()),
        sa.Column("closed_reason", sa.String()),
        sa.Column("closed_by_file_id", sa.BigInteger()),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        schema="ingest",
    )
    op.create_table(
        "query_events",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("query_id", sa.BigInteger(), nullable=False),
        sa.Column("event_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("old_state", sa.String()),
        sa.Column("new_state", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("file_id", sa.BigInteger()),
        schema="ingest",
    )


# One query per (centre, scope, entity, patient, rule, column): the latest finding's text and value.
_BACKFILL_QUERIES = """
CREATE TEMP TABLE _found AS
SELECT f.centre_id,
       CASE WHEN i.entity IS NULL OR i.patient_id IS NULL THEN 'file:' || coalesce(f.file_kind, '')
            ELSE 'row' END AS scope,
       i.entity, i.patient_id, i.rule, i.column_name, i.severity, i.value, i.message, i.expected, i.fix,
       i.file_id, i.source_line, coalesce(f.processed_at, f.received_at) AS found_at, f.file_kind
FROM ingest.issues i JOIN ingest.files f USING (file_id)
WHERE f.status <> 'duplicate';

CREATE TEMP TABLE _q AS
SELECT *, min(file_id) OVER k AS first_file_id, min(found_at) OVER k AS first_at
FROM _found
WINDOW k AS (PARTITION BY centre_id, scope, entity, patient_id, rule, column_name)
QUALIFY row_number() OVER (PARTITION BY centre_id, scope, entity, patient_id, rule, column_name
                           ORDER BY file_id DESC, source_line NULLS FIRST) = 1;

-- what each file carried: (file, entity, patient), from its loaded rows and its findings
CREATE TEMP TABLE _carried AS
SELECT DISTINCT file_id, 'patient' AS entity, patient_id FROM core.patients
UNION SELECT DISTINCT file_id, 'assessment', patient_id FROM core.assessments
UNION SELECT DISTINCT file_id, 'elisa', patient_id FROM core.elisa_results
UNION SELECT DISTINCT file_id, 'lab', patient_id FROM core.lab_results
UNION SELECT DISTINCT file_id, entity, patient_id FROM ingest.issues WHERE entity IS NOT NULL;

CREATE TEMP TABLE _closing AS
SELECT q.centre_id, q.scope, q.entity, q.patient_id, q.rule, q.column_name,
       min(f.file_id) AS by_file_id
FROM _q q
JOIN ingest.files f ON f.centre_id = q.centre_id AND f.file_id > q.file_id AND f.status <> 'duplicate'
WHERE (q.scope <> 'row' AND (q.file_kind IS NULL OR f.file_kind IS NOT DISTINCT FROM q.file_kind))
   OR (q.scope = 'row' AND EXISTS (SELECT 1 FROM _carried c WHERE c.file_id = f.file_id
                                   AND c.entity = q.entity AND c.patient_id IS NOT DISTINCT FROM q.patient_id))
GROUP BY ALL;

INSERT INTO ingest.queries (query_id, centre_id, scope, entity, patient_id, record, rule, column_name, severity, value,
    message, expected, fix, first_file_id, last_file_id, source_line, state, closed_reason, closed_by_file_id,
    opened_at, updated_at)
SELECT row_number() OVER (ORDER BY q.centre_id, q.first_file_id, q.source_line NULLS FIRST, q.scope, q.entity,
                          q.patient_id, q.rule, q.column_name),
       q.centre_id, q.scope, q.entity, q.patient_id, NULL, q.rule, q.column_name, q.severity, q.value,
       q.message, q.expected, q.fix, q.first_file_id, q.file_id, q.source_line,
       CASE WHEN c.by_file_id IS NULL THEN 'open' ELSE 'closed' END,
       CASE WHEN c.by_file_id IS NULL THEN NULL ELSE 'superseded' END, c.by_file_id,
       q.first_at, coalesce((SELECT coalesce(processed_at, received_at) FROM ingest.files
                             WHERE file_id = c.by_file_id), q.found_at)
FROM _q q LEFT JOIN _closing c USING (centre_id, scope, entity, patient_id, rule, column_name)
ORDER BY q.centre_id, q.first_file_id, q.source_line;

INSERT INTO ingest.query_events (event_id, query_id, event_at, actor, action, old_state, new_state, reason, file_id)
SELECT row_number() OVER (ORDER BY query_id), query_id, opened_at, '{actor}', 'opened', NULL, 'open',
       'found in file ' || first_file_id || ' (recorded before queries existed)', first_file_id
FROM ingest.queries ORDER BY query_id;

INSERT INTO ingest.query_events (event_id, query_id, event_at, actor, action, old_state, new_state, reason, file_id)
SELECT (SELECT coalesce(max(event_id), 0) FROM ingest.query_events) + row_number() OVER (ORDER BY query_id),
       query_id, updated_at, '{actor}', 'closed', 'open', 'closed',
       'superseded: file ' || closed_by_file_id || ' carried this patient again without the finding',
       closed_by_file_id
FROM ingest.queries WHERE state = 'closed' ORDER BY query_id;

-- legacy confirmations answer the open warnings they match (a null column matched every column)
CREATE TEMP TABLE _answered AS
SELECT q.query_id, r.reviewer, r.reviewed_at, r.reason, q.value
FROM ingest.queries q
JOIN ingest.reviews r ON r.centre_id = q.centre_id AND r.patient_id = q.patient_id AND r.rule = q.rule
     AND (r.column_name IS NULL OR r.column_name = q.column_name)
WHERE q.state = 'open' AND q.severity = 'warning'
QUALIFY row_number() OVER (PARTITION BY q.query_id ORDER BY r.reviewed_at DESC) = 1;

UPDATE ingest.queries q SET state = 'answered', answer = 'confirmed', answer_reason = a.reason,
       answered_value = a.value, answered_by = a.reviewer, answered_at = a.reviewed_at,
       updated_at = greatest(q.updated_at, a.reviewed_at)
FROM _answered a WHERE q.query_id = a.query_id;

INSERT INTO ingest.query_events (event_id, query_id, event_at, actor, action, old_state, new_state, reason, file_id)
SELECT (SELECT coalesce(max(event_id), 0) FROM ingest.query_events) + row_number() OVER (ORDER BY query_id),
       query_id, reviewed_at, reviewer, 'answered', 'open', 'answered',
       'confirmed as a true value: ' || reason, NULL
FROM _answered ORDER BY query_id;

DROP TABLE _answered;
DROP TABLE _closing;
DROP TABLE _carried;
DROP TABLE _q;
DROP TABLE _found
""".format(actor=ACTOR)


def upgrade() -> None:
    _schema()
    for stmt in _BACKFILL_QUERIES.split(";\n"):
        if stmt.strip():
            op.execute(stmt)


def downgrade() -> None:
    op.drop_table("query_events", schema="ingest")
    op.drop_table("queries", schema="ingest")
    op.drop_column("issues", "record", schema="ingest")
