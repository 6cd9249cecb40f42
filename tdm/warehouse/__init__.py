"""The warehouse, a DuckLake: connections (``lake``), ids and keys, the loader, migrations, queries, analyst SQL.

Importing the package imports no alembic: ``tdm.warehouse.init`` / ``migrate`` do, when a lake must change.
"""

from tdm.warehouse.lake import open_reader, open_writer
from tdm.warehouse.revision import SCHEMA_HEAD, current_revision

__all__ = ["SCHEMA_HEAD", "current_revision", "open_reader", "open_writer"]
