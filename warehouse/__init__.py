"""The warehouse, a DuckLake: connections (``lake``), ids and keys, the loader, migrations, queries, analyst SQL.

Importing the package imports no alembic: ``warehouse.init`` / ``migrate`` do, when a lake must change.
"""

from warehouse.lake import open_reader, open_writer
from warehouse.revision import SCHEMA_HEAD, current_revision

__all__ = ["SCHEMA_HEAD", "current_revision", "open_reader", "open_writer"]
