"""Ids and keys the lake does not enforce: DuckLake has no sequences, PRIMARY KEY or UNIQUE.

Every id is taken as ``max + 1`` by the single writer (under the writers' lock, in the transaction
that inserts it), and the loader checks the keys it relies on before its transaction commits
(:func:`check_unique`): a duplicate rolls the whole file back instead of landing.
"""

from __future__ import annotations

import duckdb

from base.errors import WarehouseError


def next_ids(con: duckdb.DuckDBPyConnection, table: str, column: str, n: int = 1) -> list[int]:
    """``n`` fresh ids for ``table.column``: above every id already in it."""
    top = con.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()[0]
    return list(range(int(top) + 1, int(top) + 1 + n))


def check_unique(con: duckdb.DuckDBPyConnection, table: str, key: list[str], where: str = "true",
                 params: list | None = None, having: str = "true") -> None:
    """Raise (the caller's transaction rolls back) if two rows of ``table`` matching ``where`` share
    ``key`` (and their group satisfies ``having``); the error names the table, the key and one duplicate.

    One spillable hash aggregate and no join: a join whose build side is a large file's rows needs
    an unspillable hash directory that grows with the file (measured: a 48 MB file failed at a 96 MB
    memory limit allocating 16 MiB)."""
    cols = ", ".join(key)
    row = con.execute(f"SELECT {cols}, count(*) FROM {table} WHERE {where} GROUP BY ALL "
                      f"HAVING count(*) > 1 AND ({having}) LIMIT 1", params or []).fetchone()
    if row is not None:
        raise WarehouseError(f"refused: {row[-1]} rows of {table} would share the key ({cols}) = {row[:-1]}",
                             code="duplicate_key_in_warehouse",
                             hint="nothing of this change was committed; report this as a bug")


__all__ = ["check_unique", "next_ids"]
