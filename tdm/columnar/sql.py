"""SQL text for the columnar path, generated from the centre profile and the data dictionary (pure).

Every expression here is *strict*: it accepts a cell only in a shape whose meaning the reference
path (:mod:`validators`) gives the same value, and marks anything
else *suspect*.  A suspect cell never gets a value of its own: it sends the whole file to the
reference path, which then writes the exact finding.  So the columnar path may be stricter than the
reference, never looser (tests/columnar checks both directions on the synthetic corpus and on
hand-picked awkward cells).
"""

from __future__ import annotations

import re
import sys

from schema.dictionary import ANALYTES, BY_ENTITY
from tdm.centres.sql_cells import apply_factor, ident, literal  # one place each

# DuckDB types of the harmonised columns (the warehouse's own column types).
SQL_TYPES = {"str": "VARCHAR", "code": "VARCHAR", "bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE",
             "date": "DATE", "datetime": "TIMESTAMP"}

# The censorable trough ("<0.4", ">=16", "3.2"); the reference's pattern with ASCII \s.
TROUGH_RE = r"^(<=?|>=?|≤|≥)?[ \t]*([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)$"
MAX_INT = 2 ** 53

# Characters Python's str.strip() removes: DuckDB's trim() removes spaces only, so a cell that still
# starts or ends with one of the others after trim() is suspect (the two paths would differ).
_WS = "".join(f"\\x{{{ord(c):04X}}}" for c in sorted(
    {chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()} - {" "}))
EDGE_WHITESPACE_RE = f"^[{_WS}]|[{_WS}]$"

# strftime directives with a fixed width; any other directive makes a format unsupported here.
_DIRECTIVES = {"Y": r"[0-9]{4}", "m": r"[0-9]{2}", "d": r"[0-9]{2}", "H": r"[0-9]{2}", "M": r"[0-9]{2}",
               "S": r"[0-9]{2}"}


class Unsupported(Exception):
    """The profile uses something the columnar path does not compile (the reference path runs)."""


def format_shape(fmt: str) -> str:
    """An anchored RE2 pattern for the exact shape of a strftime format (fixed-width fields only)."""
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in _DIRECTIVES:
                raise Unsupported(f"date format {fmt!r}")
            out.append(_DIRECTIVES[fmt[i + 1]])
            i += 2
            continue
        out.append(re.escape(ch))
        i += 1
    return "^" + "".join(out) + "$"


def parse_dates(t: str, formats: list[str]) -> str:
    """The first format (in order) whose exact shape the cell has and that gives a valid date."""
    parts = [f"CASE WHEN regexp_full_match({t}, {literal(format_shape(f))}) THEN try_strptime({t}, {literal(f)}) END"
             for f in dict.fromkeys(formats)]
    return f"coalesce({', '.join(parts)})" if len(parts) > 1 else parts[0]


def parse_number(t: str) -> str:
    """DuckDB's DOUBLE cast of a trimmed cell, refusing what it reads but pandas.to_numeric does not
    ('1_000'); non-finite results are suspect where this is used (tests/columnar: every cell this
    accepts, pandas reads to the same double)."""
    return f"(CASE WHEN NOT contains({t}, '_') THEN TRY_CAST({t} AS DOUBLE) END)"


def case_map(t: str, table: dict[str, object]) -> str:
    """``CASE t WHEN label THEN value ... END`` (NULL for anything else)."""
    if not table:
        return "NULL"
    whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in table.items())
    return f"(CASE {t} {whens} END)"


def column_checks(entity: str, table: str, today_literal: str) -> list[str]:
    """Conditions (one per dictionary check) that a row of ``entity`` breaks: required, codes, range,
    not in the future, and for labs the analyte code and the plausible range (a warning there)."""
    conds: list[str] = []
    for v in BY_ENTITY[entity]:
        c = f"{table}.{ident(v.name)}"
        if v.required:
            conds.append(f"{c} IS NULL")
        if v.codes:
            conds.append(f"{c} NOT IN ({', '.join(literal(x) for x in v.codes)})")
        if v.min is not None:
            conds.append(f"{c} < {float(v.min)!r}")
        if v.max is not None and v.min is not None:
            conds.append(f"{c} > {float(v.max)!r}")
        if v.dtype in ("date", "datetime"):
            conds.append(f"{c} >= {today_literal}::DATE + INTERVAL 1 DAY")
    if entity == "lab":
        conds.append(f"{table}.analyte NOT IN ({', '.join(literal(a) for a in ANALYTES)})")
        for a, v in ANALYTES.items():     # as schema.models._lab_value_in_range: a missing bound fails
            rng = []
            if v.min is not None:
                rng.append(f"{table}.value < {float(v.min)!r}")
                rng.append(f"{table}.value > {float(v.max)!r}" if v.max is not None else f"{table}.value IS NOT NULL")
            if rng:
                conds.append(f"({table}.analyte = {literal(a)} AND ({' OR '.join(rng)}))")
    return conds


__all__ = ["SQL_TYPES", "TROUGH_RE", "MAX_INT", "EDGE_WHITESPACE_RE", "Unsupported", "ident",
           "literal", "format_shape", "parse_dates", "parse_number", "apply_factor", "case_map", "column_checks"]
