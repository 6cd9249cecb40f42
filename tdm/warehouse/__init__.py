"""The DuckDB warehouse: migrations, the single writer, read-only snapshots and analyst SQL."""

from tdm.warehouse.connection import open_reader, open_writer, publish_snapshot
from tdm.warehouse.migrate import current_revision, init_warehouse

__all__ = ["open_writer", "open_reader", "publish_snapshot", "init_warehouse", "current_revision"]
