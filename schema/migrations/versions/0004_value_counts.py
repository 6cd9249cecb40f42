"""Per-value counts of the current lab values and trough levels (``ingest.value_counts``), so the
unit-mix-up reference median reads a few hundred rows, not every lab row (issue 16's latency).

Schema change, then a back-fill: one delta row per (variable, value) of the rows current now
(the writer appends the deltas of every later file: ``warehouse.value_counts``).

Revision ID: 0004_value_counts
Revises: 0003_publication_lake_snapshot
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_value_counts"
down_revision = "0003_publication_lake_snapshot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("value_counts", sa.Column("variable", sa.String, nullable=False),
                    sa.Column("value", sa.Double, nullable=False), sa.Column("n", sa.BigInteger, nullable=False),
                    sa.Column("file_id", sa.BigInteger, nullable=False), schema="ingest")
    op.execute("INSERT INTO ingest.value_counts (variable, value, n, file_id) "
               "SELECT analyte, value, count(*), 0 FROM core.lab_results WHERE is_current AND value IS NOT NULL "
               "GROUP BY ALL UNION ALL SELECT 'trough_ug_ml', trough_ug_ml, count(*), 0 FROM core.elisa_results "
               "WHERE is_current AND trough_ug_ml IS NOT NULL GROUP BY ALL")


def downgrade() -> None:
    op.drop_table("value_counts", schema="ingest")
