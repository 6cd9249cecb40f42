"""One transaction on a warehouse connection (the connections themselves: :mod:`warehouse.lake`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb

from base.errors import WarehouseBusy


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt).

    A COMMIT the lake refuses because another writer changed the catalog meanwhile (DuckLake's
    optimistic commit; a catalog server shared by several machines) is :class:`WarehouseBusy`:
    transient, so the file is retried, never half-loaded."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    try:
        con.commit()
    except duckdb.TransactionException as exc:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise WarehouseBusy(f"the lake refused the commit: {str(exc).splitlines()[-1]}",
                            hint="another writer committed meanwhile; the file is retried") from exc
