"""The per-*distinct*-cell pieces of the one path's harmonising: labels, dates and problem messages.

A label (code, yes/no word, test name), a date in a profile's formats and the words that explain a
bad cell are resolved by the parsers of :mod:`centres.cells` once per distinct cell text, never per row; the results are small tables that the compiled SQL joins back (dates) or compiles into
``CASE`` expressions (labels) (:mod:`centres.sql_harmonise`).  A 1e6-line export with a few thousand distinct dates costs a
few thousand parses.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from centres.cells import explain_date, explain_number, parse_bool, parse_codes, parse_dates, visible
from centres.profile import CentreProfile, ColumnSpec
from centres.sql_cells import case_map, ident, literal, stripped



def distinct_texts(con: duckdb.DuckDBPyConnection, table: str, columns: dict[int, str]) -> dict[int, pd.Series]:
    """The distinct trimmed texts (Python's ``str.strip``, :func:`centres.sql_cells.stripped`) of each
    column of ``table``, as str Series, in one statement: a column's distinct cells first, so trimming
    runs on the few distinct texts, not on every line."""
    subqueries = [f"(SELECT list(DISTINCT {stripped('c')}) FROM (SELECT DISTINCT {ident(col)} AS c FROM {table}))"
                  for col in columns.values()]
    lists = con.sql("SELECT " + ", ".join(subqueries)).to_arrow_table()     # Arrow: no Python str per text
    return {k: pd.Series(lists.column(i).combine_chunks().flatten(), dtype="str") for i, k in enumerate(columns)}


def register(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> None:
    """``df`` as the temporary table ``name``, handed over as Arrow (str columns as VARCHAR, missing as
    NULL; no Python object per cell: a date column can have millions of distinct texts)."""
    con.register("_labels_arrow", pa.Table.from_pandas(df, preserve_index=False))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * FROM _labels_arrow").fetchall()
    finally:
        con.unregister("_labels_arrow")


def code_table(cells: pd.Series, col: ColumnSpec, profile: CentreProfile) -> pd.DataFrame:
    """Distinct trimmed cell -> one code column per target of ``col``, ``bad``, ``dropped``."""
    parsed, bad, dropped = parse_codes(cells, col, profile)
    out = pd.DataFrame({"k": cells})
    for target, codes in parsed.items():
        out[target] = codes.astype("str")
    out["bad"] = bad.astype(bool).to_numpy()
    out["dropped"] = dropped.astype(bool).to_numpy()
    return out


def bool_table(cells: pd.Series, table: dict[str, bool]) -> pd.DataFrame:
    values, bad = parse_bool(cells, table)
    return pd.DataFrame({"k": cells, "vb": values.astype("boolean"), "bad": bad.astype(bool).to_numpy()})


def date_table(cells: pd.Series, formats: list[str], fallbacks: list[str], *, date_only: bool) -> pd.DataFrame:
    parsed, bad = parse_dates(cells, formats, fallbacks)
    if date_only:
        parsed = parsed.dt.normalize()
    return pd.DataFrame({"k": cells, "vt": parsed.astype("datetime64[us]"), "bad": bad.astype(bool).to_numpy()})


def label_sql(t: str, table: pd.DataFrame, values: dict[str, str]) -> dict[str, str]:
    """A label column's parsed table (:func:`code_table`, :func:`bool_table`) compiled into expressions
    over its trimmed cell ``t``, no join: ``CASE t WHEN <cell> THEN <value> END`` per value column of
    ``values`` (name -> SQL type), ``bad`` as "not one of the cells that parsed" (the table holds every
    distinct cell of the column, so any other cell is a bad one), ``drop`` (codes only) as "one of the
    dropped cells".  Only parsed cells are listed, so a column of a million garbage labels stays a short
    expression.  Measured: the 16 label joins of the 45-column template were about a fifth of ``hx``."""
    good = table[~table["bad"]]
    out = {}
    for name, sql_type in values.items():
        listed = good[good[name].notna()]
        out[name] = case_map(t, dict(zip(listed["k"].tolist(), listed[name].tolist())), sql_type)
    out["bad"] = f"NOT {_one_of(t, good['k'])}"
    if "dropped" in table:
        out["drop"] = _one_of(t, table.loc[table["dropped"], "k"])
    return out


def _one_of(t: str, cells: pd.Series) -> str:
    return f"({t} IN ({', '.join(literal(k) for k in cells.tolist())}))" if len(cells) else "false"


@dataclass(frozen=True)
class Message:
    """How a finding's message is written: ``column '<header>': '<value>' <words>``, where the words
    are ``base`` explained by :mod:`centres.cells`'s explainer for ``kind`` (None: ``base`` as it is)."""

    header: str
    base: str
    kind: str | None = None          # number | date | None
    decimal: str = "."


def message_table(pairs: pd.DataFrame, m: Message) -> pd.DataFrame:
    """Distinct (raw cell ``c``, trimmed cell ``t``) of bad cells -> the finding's message text."""
    c = pairs["c"].astype("str").reset_index(drop=True)
    t = pairs["t"].astype("str").reset_index(drop=True)
    bad = pd.Series(True, index=t.index)
    if m.kind == "number":
        words = explain_number(t, bad, m.decimal, m.base)
    elif m.kind == "date":
        words = explain_date(t, bad, m.base)
    else:
        words = m.base
    words = words if isinstance(words, pd.Series) else pd.Series(words, index=t.index, dtype="str")
    shown = visible(c)
    note = pd.Series("", index=t.index).where(shown == c, " (the value holds invisible characters, shown "
                                                          "as \\uXXXX: retype it)")
    text = f"column '{m.header}': " + ("'" + shown + "' " + words.astype("str") + note)
    return pd.DataFrame({"c": c, "t": t, "message": text.astype("str")})


__all__ = ["Message", "bool_table", "code_table", "date_table", "distinct_texts", "label_sql", "message_table",
           "register"]
