"""Stage 2 for a long lab export (one line per result: patient, test, time, value, unit): the test
name as a code, the sample time, the censored value, its unit per line (the unit column, else the
profile's unit per test, else the value column's) converted by a joined (analyte, unit) factor table,
and the HMAC pseudonym once per distinct id."""

from __future__ import annotations

import pandas as pd

from centres import sql_cells as S
from centres.cells import ISO_DATE_FALLBACKS, ISO_DATETIME_FALLBACKS, human_formats
from centres.profile import CentreProfile, ColumnSpec, FileSpec
from centres.raw import RAW_TABLE
from centres.sql_labels import Message, date_table
from centres.sql_plan import Plan, codes, join_map, q
from schema import units as U
from schema.dictionary import ANALYTES


def long_labs(plan: Plan, by_target, headers: tuple[str, ...], spec: FileSpec, profile: CentreProfile,
               decimal: str, cells: dict[int, pd.Series]) -> None:
    col, pos = by_target["analyte"]
    header = headers[pos]
    codes(plan, col, pos, header, profile, cells, "is not a known test name")
    plan.issues[-1].fix = ("check the test name; if it is a test the study collects, ask the study's data team to "
                           "accept this name, otherwise leave the test out of the export")
    analyte_bad, keep = q(f"bad:{pos}"), f"NOT {q(f'drop:{pos}')}"
    plan.keep = keep
    col_d, pos_d = by_target["sample_date"]
    fmts = col_d.formats or (profile.datetime_formats_for(spec) + profile.date_formats_for(spec))
    m = join_map(plan, pos_d, date_table(cells[pos_d], fmts, ISO_DATETIME_FALLBACKS + ISO_DATE_FALLBACKS, date_only=True))
    plan.level1["v:sample_date"] = f"{m}.vt"
    plan.values["sample_date"] = q("v:sample_date")
    plan.level1[f"bad:{pos_d}"] = f"coalesce({m}.bad, false)"
    col_v, pos_v = by_target["value"]
    t_v = f"t{pos_v}"
    plan.level1["n:value"] = S.censored_number(t_v, decimal)
    num = q("n:value")
    bad_v = f"({t_v} <> '' AND ({num} IS NULL OR NOT isfinite({num})))"
    value = f"(CASE WHEN NOT {bad_v} THEN {num} END)"
    # the unit: per row from the unit column, else per analyte from the profile, else the value column's
    analyte = q("v:analyte")
    units = [f"nullif(t{by_target['unit'][1]}, '')"] if "unit" in by_target else []
    if spec.analyte_units:
        units.append(S.case_map(plan.level1["v:analyte"], dict(spec.analyte_units)))
    if col_v.unit is not None:
        units.append(S.literal(col_v.unit))
    unit = f"coalesce({', '.join(units)}, '')" if units else "''"
    plan.level1["unit"] = unit
    plan.unit_pairs = unit_pairs(spec, col_v, by_target, cells)
    plan.joins.append(f"LEFT JOIN _u u ON u.analyte = {plan.level1['v:analyte']} AND u.unit = {unit}")
    plan.level1["u:num"], plan.level1["u:den"] = "u.num", "u.den"
    plan.values["value"] = f"({value} * {q('u:num')} / {q('u:den')})"
    unknown = f"({q('u:num')} IS NULL AND {analyte} IS NOT NULL AND {value} IS NOT NULL)"
    plan.issue("sample_date", pos_d, "unparseable_date", f"({q(f'bad:{pos_d}')} AND {keep})",
               Message(headers[pos_d], "is not a sample date/time in the expected format", "date"),
               human_formats(fmts), "write the sample time as under 'expected'")
    plan.issue("value", pos_v, "not_a_number", f"({bad_v} AND {keep} AND NOT {analyte_bad})",
               Message(headers[pos_v], "is not a number", "number", decimal), "a number", "correct the result value")
    if "unit" in by_target:
        col_u, pos_u = by_target["unit"]
        plan.issue("value", pos_u, "unknown_unit", f"({unknown} AND {keep})",
                   Message(headers[pos_u], "is not a unit the analyte can be converted from"),
                   "; ".join(f"{a}: {', '.join(U.CONVERSIONS[v.unit])}" for a, v in ANALYTES.items()),
                   "write the unit as under 'expected', or ask the study's data team to accept this unit")
    else:
        plan.issue("value", pos_v, "unknown_unit", f"({unknown} AND {keep})", Message(headers[pos_v], "has no convertible unit"),
                   "a result unit",
                   "export the unit with each result, or ask the study's data team to set the unit for this test")


def unit_pairs(spec: FileSpec, col_v: ColumnSpec, by_target, cells) -> pd.DataFrame:
    """Every (analyte, unit) pair a line can have, with its factor by :func:`units.pair_factors`."""
    analytes = list(ANALYTES)
    units = [""] + list(dict.fromkeys(list(spec.analyte_units.values()) if spec.analyte_units else []))
    if col_v.unit is not None:
        units.append(col_v.unit)
    if "unit" in by_target:
        units += [u for u in cells[by_target["unit"][1]] if u != ""]
    units = list(dict.fromkeys(units))
    grid = pd.DataFrame([(a, u) for a in analytes for u in units], columns=["analyte", "unit"])
    num, den = U.pair_factors(grid["analyte"], grid["unit"])
    return grid.assign(num=num, den=den)


PSEUDONYMS = "_pid"


def pseudonyms(con, plan: Plan, pos: int, key: bytes) -> None:
    """The HMAC pseudonym once per distinct trimmed id (``_pid``), joined back to the lines: a long lab
    export repeats each patient's id on many lines (1e7 LIS lines carry 1e5 ids), and the HMAC (two
    SHA-256) costs about 1.2 us per cell, more than the rest of a long line's harmonising (1e6 LIS
    lines: harmonise 3.3 -> 2.0 CPU s).  Other files (a wide export: about one line per patient)
    compute it inline: the distinct pass and the join would cost more than they save (+2.7 CPU s at
    1e6 wide lines).  Either way the one expression, :func:`centres.sql_cells.pseudonym`."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PSEUDONYMS} AS SELECT k, {S.pseudonym('k', key)} AS pid FROM "
                f"(SELECT DISTINCT {S.stripped('c')} AS k FROM (SELECT DISTINCT c{pos} AS c FROM {RAW_TABLE}))").fetchall()
    plan.joins.append(f"LEFT JOIN {PSEUDONYMS} pid ON pid.k = h.t{pos}")
    plan.level1["patient_id"] = "pid.pid"


__all__ = ["PSEUDONYMS", "long_labs", "pseudonyms", "unit_pairs"]
