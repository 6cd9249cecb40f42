"""Printing result frames for people (a table that fits the terminal) and for programs (CSV, JSON).

One place for every command that prints rows (``tdm sql``, ``roc``, ``logistic``, ``cutoffs``,
``review list``, the files of an ingestion pass), so they behave alike:

* a table never truncates a cell: identifiers (pseudonyms, file ids, file names) are copied from
  it.  When every column fits the terminal, it is one table; when not, a few rows are printed one
  record per block (``column  value`` lines, like ``psql \\x``) and many rows as a table of the
  columns that fit, the others elided as the DuckDB CLI does, with a note naming them and
  pointing at ``--format csv``;
* CSV and JSON carry every column (JSON: missing values as null, dates ISO).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Callable, Sequence

import pandas as pd

#: At most this many rows are shown one record per block; more rows elide columns instead.
MAX_RECORD_ROWS = 10
_BORDER = 3   # rich's "| " + " " per column (SIMPLE_HEAD box: two spaces of padding + one rule char)


#: Width when printing to a file or a pipe (no terminal, no COLUMNS): never fold a table there.
UNLIMITED = 100_000


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` when set); unlimited when stdout is not a terminal."""
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        return UNLIMITED
    return shutil.get_terminal_size((80, 24)).columns


def cell_text(v, fmt: Callable[[object], str] | None = None) -> str:
    if fmt is not None:
        return fmt(v)
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    return str(v)


def text_frame(df: pd.DataFrame, formats: dict[str, Callable[[object], str]] | None = None) -> pd.DataFrame:
    """Every cell as the text a person reads (per-column formatters, else ``str``; missing blank)."""
    formats = formats or {}
    return pd.DataFrame({str(c): [cell_text(v, formats.get(str(c))) for v in df[c].tolist()] for c in df.columns},
                        index=range(len(df)), dtype=object)


def records(df: pd.DataFrame) -> list[dict]:
    """JSON records as the publication stores them (NaN -> null; dates ISO)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from publication import jsonable

    return [{str(k): jsonable(v) for k, v in zip(df.columns, row)} for row in df.itertuples(index=False, name=None)]


def plan_columns(widths: Sequence[int], width: int) -> list[int] | None:
    """Indices of the columns to show when they cannot all fit ``width``: the first and the last
    ones, alternately, while they fit next to a one-character elision column; ``None`` when every
    column fits."""
    need = [w + _BORDER for w in widths]
    if sum(need) + 1 <= width:
        return None
    budget = width - 1 - (1 + _BORDER)
    left, right, used = [], [], 0
    lo, hi = 0, len(widths) - 1
    take_left = True
    while lo <= hi:
        i = lo if take_left else hi
        if used + need[i] > budget:
            break
        used += need[i]
        if take_left:
            left.append(i)
            lo += 1
        else:
            right.insert(0, i)
            hi -= 1
        take_left = not take_left
    return left + right


def print_table(df: pd.DataFrame, *, title: str | None = None, formats: dict | None = None,
                right: Sequence[str] = (), echo: Callable[[str], None] | None = None,
                width: int | None = None, console=None) -> None:
    """``df`` as a table for people that fits the terminal (see the module docstring)."""
    # lazy: pandas, DuckDB, analytics or rich cost 0.1-2 s at every tdm start-up (measured)
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = width or terminal_width()
    con = Console(width=width, highlight=False, soft_wrap=False, file=getattr(console, "file", None))
    text = text_frame(df, formats)
    cols = list(text.columns)
    widths = [max([len(c), *(len(v) for v in text[c])]) for c in cols]
    shown = plan_columns(widths, width)
    if shown is not None and len(text) <= MAX_RECORD_ROWS:
        _print_records(text, title, con)
        con.print(f"({len(df.columns)} columns do not fit {width} characters: one record per block; "
                  "--format csv or --format json for a file)", highlight=False)
        return
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    show = cols if shown is None else [cols[i] for i in shown]
    split = None if shown is None else next((k for k in range(1, len(shown)) if shown[k] != shown[k - 1] + 1), None)
    for k, c in enumerate(show):
        if split is not None and k == split:
            table.add_column("…", no_wrap=True)
        table.add_column(Text(c), justify="right" if c in right else "left", no_wrap=True, overflow="ignore",
                         min_width=widths[cols.index(c)])
    for row in text[show].itertuples(index=False, name=None):
        cells = list(row)
        if split is not None:
            cells.insert(split, "…")
        table.add_row(*(Text(c) for c in cells))     # never markup: "g[b]" is a term, not bold
    con.print(table)
    if shown is not None:
        hidden = [c for c in cols if c not in show]
        con.print(f"{len(hidden)} of {len(cols)} columns elided to fit {width} characters: {', '.join(hidden)}; "
                  "--format csv or --format json prints every column", highlight=False)


def _print_records(text: pd.DataFrame, title: str | None, con) -> None:
    label = max(len(c) for c in text.columns) if len(text.columns) else 0
    if title:
        con.print(title, highlight=False, markup=False)
    for i, row in enumerate(text.itertuples(index=False, name=None), start=1):
        con.print(f"-[ record {i} ]" + "-" * max(0, min(40, label + 20)), highlight=False, markup=False)
        for c, v in zip(text.columns, row):
            con.print(f"{c.ljust(label)} | {v}", highlight=False, markup=False, soft_wrap=True)


def print_frame(df: pd.DataFrame, fmt: str, *, title: str | None = None, formats: dict | None = None,
                right: Sequence[str] = (), echo: Callable[[str], None] = print) -> None:
    """``df`` in ``fmt``: ``table`` (fits the terminal), ``csv`` or ``json`` (every column, full precision)."""
    if fmt == "csv":
        echo(df.to_csv(index=False).rstrip("\n"))
    elif fmt == "json":
        echo(json.dumps(json.loads(df.to_json(orient="records", date_format="iso")), indent=2, ensure_ascii=False))
    else:
        print_table(df, title=title, formats=formats, right=right)
