"""Each publication records the lake snapshot it read (``tdm analyse --as-of`` recomputes from it).

Schema change only: ``published.publications.lake_snapshot`` (BIGINT, NULL for publications made
before the warehouse was a DuckLake: they cannot be recomputed as of their data).

Revision ID: 0003_publication_lake_snapshot
Revises: 0002_queries_and_audit_trail
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_publication_lake_snapshot"
down_revision = "0002_queries_and_audit_trail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("publications", sa.Column("lake_snapshot", sa.BigInteger()), schema="published")


def downgrade() -> None:
    op.drop_column("publications", "lake_snapshot", schema="published")
