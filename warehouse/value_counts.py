"""How many current rows hold each value of a lab analyte or the trough level (``ingest.value_counts``).

The unit mix-up check compares a file's median with the study's (:mod:`validators.units`).  A
``median(value)`` over every current lab row cost the writer O(warehouse) per file (4.1 s at 1e7 lab
rows); the writer instead appends, in each file's transaction, one delta per (variable, value) its
load changed (+ rows made current, - rows it superseded), and :func:`study_medians` sums them: the
*exact* median (DuckDB's ``median``: the mean of the two middle values for an even count) over a
table as large as the distinct values, not the rows (lab values carry a few decimals).  Migration
``0004_value_counts`` back-fills the rows current before it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from schema.dictionary import ENTITIES
from validators.units import FILE_CHECKED

# (entity, variable SQL, value column) counted: every analyte of the lab rows, and each other column
# the unit mix-up check reads (the trough of the ELISA rows)
_COUNTED = (("lab", "analyte", "value"),) + tuple((e, f"'{c}'", c) for e, c in FILE_CHECKED if e != "lab")


def record_value_counts(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    """Append file ``file_id``'s deltas, after its rows are inserted and the rows it supersedes marked
    (inside its transaction; the filters on ``file_id``/``superseded_by_file_id`` read only the file's
    data files and the ones it rewrote)."""
    parts = []
    for entity, variable, column in _COUNTED:
        table = f"core.{ENTITIES[entity].table}"
        parts += [f"SELECT {variable} AS variable, {column} AS value, 1 AS d FROM {table} "
                  f"WHERE file_id = $f AND is_current AND {column} IS NOT NULL",
                  f"SELECT {variable}, {column}, -1 FROM {table} "
                  f"WHERE superseded_by_file_id = $f AND NOT is_current AND {column} IS NOT NULL"]
    con.execute(f"INSERT INTO ingest.value_counts (variable, value, n, file_id) SELECT variable, value, sum(d), $f "
                f"FROM ({' UNION ALL '.join(parts)}) GROUP BY variable, value HAVING sum(d) <> 0",
                {"f": int(file_id)}).fetchall()


def study_medians(con: duckdb.DuckDBPyConnection, variables: list[str]) -> pd.DataFrame:
    """``variable, median, n`` of the current values of each of ``variables`` (in that order; median
    NULL and n 0 for one without values), from the summed deltas."""
    wanted = ", ".join(f"({i}, '{v}')" for i, v in enumerate(variables))
    return con.execute(f"""
        WITH c AS (SELECT variable, value, sum(n) AS n FROM ingest.value_counts GROUP BY variable, value
                   HAVING sum(n) > 0),
        r AS (SELECT variable, value, sum(n) OVER w - n AS first, sum(n) OVER w AS past,
                     sum(n) OVER (PARTITION BY variable) AS total FROM c
              WINDOW w AS (PARTITION BY variable ORDER BY value ROWS UNBOUNDED PRECEDING)),
        m AS (SELECT variable, any_value(total) AS total,
                     max(value) FILTER (WHERE first <= (total - 1) // 2 AND (total - 1) // 2 < past) AS lo,
                     max(value) FILTER (WHERE first <= total // 2 AND total // 2 < past) AS hi
              FROM r GROUP BY variable)
        SELECT w.variable, CASE WHEN m.lo = m.hi THEN m.lo ELSE m.lo + (m.hi - m.lo) * 0.5 END AS median,
               CAST(coalesce(m.total, 0) AS BIGINT) AS n
        FROM (VALUES {wanted}) w(k, variable) LEFT JOIN m USING (variable) ORDER BY w.k""").df()


__all__ = ["record_value_counts", "study_medians"]
