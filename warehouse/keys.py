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

    Spillable hash aggregates and no join with the file's rows on its build side: such a join needs an
    unspillable hash directory that grows with the file (measured: a 48 MB file failed at a 96 MB
    memory limit allocating 16 MiB).  The keys are first grouped by their 64-bit hash alone (a
    collision only adds a candidate), then only the rows of the repeated hashes by the key itself: a
    group of the key's columns (two texts, a date and a text for a lab row) ran out of memory for
    the 34 million lab rows of a 2 GB file under a 256 MB limit (2 December 2026, DuckDB 1.5.5)."""
    cols = ", ".join(key)
    # the candidates first, so the text's ``?`` are ``params`` twice in order
    row = con.execute(f"WITH _candidates AS (SELECT hash({cols}) AS h FROM {table} WHERE {where} GROUP BY 1 "
                      f"HAVING count(*) > 1 AND ({having})) "
                      f"SELECT {cols}, count(*) FROM {table} WHERE ({where}) AND hash({cols}) IN (SELECT h FROM _candidates) "
                      f"GROUP BY ALL HAVING count(*) > 1 AND ({having}) LIMIT 1", (params or []) * 2).fetchone()
    if row is not None:
        raise WarehouseError(f"refused: {row[-1]} rows of {table} would share the key ({cols}) = {row[:-1]}",
                             code="duplicate_key_in_warehouse",
                             hint="nothing of this change was committed; report this as a bug")


__all__ = ["check_unique", "next_ids"]
