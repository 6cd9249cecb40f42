"""Stage 2 of the one path (docs/ONE_PATH.md): the centre profile compiled into set-wise SQL.

:func:`harmonise_raw` reads the temporary table ``raw`` (:func:`centres.raw.read_raw`) and
leaves the contract's tables (:mod:`schema.relations`): ``patient``, ``assessment``, ``elisa``,
``lab`` in the warehouse's column types plus ``source_line``, and ``findings``, one row for every
cell that did not parse, with its rule code (:data:`centres.cells.CELL_RULES`), message,
expected value and fix (``tests/one_path/test_recorded.py``: those the deleted pandas harmonise wrote).  No cell is "suspect": each gets its
value or its finding.

Numbers, the trough, unit factors and the pseudonym are SQL (:mod:`centres.sql_cells`);
labels, dates and the words of a message are resolved per distinct cell (:mod:`centres.cells`
through :mod:`centres.sql_labels`): a label column's few cells compiled back into ``CASE``/``IN``
expressions (:func:`_inline`), a date column's thousands joined back.  One statement builds the typed
lines (``hx``, unsorted); the entity tables and findings are ``INSERT ... SELECT ... ORDER BY
source_line`` over it, then it is dropped (``raw`` stays; ingestion's
reading stage drops it after this).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN
from schema.relations import ENTITY_TABLES, FINDING_SQL, FINDINGS_TABLE, SQL_TYPES, create_empty, entity_sql_columns
from centres import sql_cells as S
from schema import units as U
from centres.cells import (ISO_DATE_FALLBACKS, ISO_DATETIME_FALLBACKS, cell_kind, entity_of, expected_labels,
                               human_formats)
from centres.header_checks import resolve_columns
from centres.profile import CentreProfile, ColumnSpec, FileSpec
from centres.raw import RAW_TABLE, RawFile
from centres.sql_labels import (Message, bool_table, code_table, date_table, distinct_texts, label_sql,
                                message_table, register)

LINES = "hx"
_CODE_FIX = ("write one of the values under 'expected'; if this label is right at your centre, ask the "
             "study's data team to accept it")


@dataclass(frozen=True)
class HarmonisedRaw:
    """What :func:`harmonise_raw` left in the connection: rows per entity table, findings, lines read."""

    rows_read: int
    rows: dict[str, int]
    findings: int


@dataclass
class _Issue:
    target: str
    pos: int                 # the raw column whose cell the finding shows
    rule: str
    bad: str                 # SQL condition over the level-1 columns
    message: Message
    expected: str
    fix: str
    entity: str


@dataclass
class _Plan:
    """The compiled mapping: level-1 expressions (over ``t<i>``/``c<i>`` and the label maps), the
    final typed value of every target, which raw cells were non-empty, the findings to write."""

    kind: str
    level1: dict[str, str] = field(default_factory=dict)
    level2: dict[str, str] = field(default_factory=dict)       # over level 1 (a number's checked value)
    joins: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)       # target -> SQL over level 1
    nonempty: dict[str, str] = field(default_factory=dict)
    issues: list[_Issue] = field(default_factory=list)
    keep: str = "true"                                           # lines that carry rows (long labs: not dropped)
    maps: dict[int, pd.DataFrame] = field(default_factory=dict)
    unit_pairs: pd.DataFrame | None = None                       # long labs: (analyte, unit) -> factor

    def issue(self, target: str, pos: int, rule: str, bad: str, message: Message, expected: str, fix: str) -> None:
        self.issues.append(_Issue(target, pos, rule, bad, message, expected, fix, entity_of(target, self.kind)))


def _q(name: str) -> str:
    return S.ident(name)


def harmonise_raw(con: duckdb.DuckDBPyConnection, raw: RawFile, spec: FileSpec, profile: CentreProfile,
                  key: bytes) -> HarmonisedRaw:
    """Map ``raw`` onto the contract's entity tables and ``findings`` (module docstring).

    Raises :class:`~base.errors.MappingError` (``missing_columns``,
    ``unknown_columns``) for the file as a whole; writes nothing outside temporary tables."""
    resolved = resolve_columns(raw.headers, spec, raw.file_name)
    position = {h: i for i, h in enumerate(raw.headers)}
    cols = [(col, position[h]) for col, h in resolved]
    decimal = spec.csv.decimal if spec.csv is not None else "."
    plan = _Plan(kind=spec.kind)
    label_cells = _distinct_cells(con, cols, spec)
    by_target = {t: (col, pos) for col, pos in cols for t in col.to}
    if "patient_id" not in by_target:
        plan.level1["patient_id"] = "CAST(NULL AS VARCHAR)"
    elif spec.kind == "labs_long":
        _pseudonyms(con, plan, by_target["patient_id"][1], key)
    else:
        plan.level1["patient_id"] = S.pseudonym(f"t{by_target['patient_id'][1]}", key)
    if spec.kind == "labs_long":
        _long_labs(plan, by_target, raw.headers, spec, profile, decimal, label_cells)
    else:
        for col, pos in cols:
            _column(plan, col, pos, raw.headers[pos], spec, profile, decimal, label_cells)
    if plan.maps:
        register(con, "_maps", pd.concat([t.assign(pos=p) for p, t in plan.maps.items()], ignore_index=True))
    if plan.unit_pairs is not None:
        register(con, "_u", plan.unit_pairs)
    _build_lines(con, plan, sorted({p for _, p in cols}))
    create_empty(con, FINDINGS_TABLE, FINDING_SQL)
    hits = con.execute("SELECT " + ", ".join(f"count_if({_q(f'f{k}')})" for k in range(len(plan.issues)))
                       + f" FROM {LINES}").fetchall()[0] if plan.issues else ()
    n_findings = _write_findings(con, plan, [k for k, n in enumerate(hits) if n], raw.headers)
    rows = {}
    for entity in ENTITY_TABLES:
        create_empty(con, entity, entity_sql_columns(entity))
        if entity in spec.entities:
            select = _entity_select(plan, entity, spec, profile)
            con.execute(f"INSERT INTO {_q(entity)} {select}").fetchall()
        rows[entity] = int(con.execute(f"SELECT count(*) FROM {_q(entity)}").fetchall()[0][0])
    for name in ("_maps", "_u", PSEUDONYMS, LINES):
        con.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
    return HarmonisedRaw(rows_read=raw.rows, rows=rows, findings=n_findings)


# -- per column --------------------------------------------------------------------------------------

def _is_label(col: ColumnSpec) -> bool:
    return col.codes is not None or (col.target != "patient_id" and cell_kind(col.target) in ("code", "bool"))


def _is_date(col: ColumnSpec, kind: str) -> bool:
    return kind == "labs_long" and col.target == "sample_date" or (
        kind != "labs_long" and col.codes is None and cell_kind(col.target) in ("date", "datetime"))


def _distinct_cells(con, cols: list[tuple[ColumnSpec, int]], spec: FileSpec) -> dict[int, pd.Series]:
    """The distinct trimmed cells of every label and date column (one statement)."""
    wanted = sorted({pos for col, pos in cols if _is_label(col) or _is_date(col, spec.kind)
                     or (spec.kind == "labs_long" and col.target in ("analyte", "unit"))})
    if not wanted:
        return {}
    return distinct_texts(con, RAW_TABLE, {p: f"c{p}" for p in wanted})


def _join(plan: _Plan, pos: int, table: pd.DataFrame) -> str:
    plan.maps[pos] = table
    plan.joins.append(f"LEFT JOIN _maps m{pos} ON m{pos}.pos = {pos} AND m{pos}.k = h.t{pos}")
    return f"m{pos}"


def _inline(plan: _Plan, pos: int, table: pd.DataFrame, values: dict[str, str]) -> None:
    """A label column as expressions over its trimmed cell (:func:`centres.sql_labels.label_sql`)."""
    for name, expr in label_sql(f"h.t{pos}", table, values).items():
        plan.level1[f"{name}:{pos}" if name in ("bad", "drop") else f"v:{name}"] = expr


def _codes(plan: _Plan, col: ColumnSpec, pos: int, header: str, profile, cells, message: str) -> None:
    _inline(plan, pos, code_table(cells[pos], col, profile), {tg: "VARCHAR" for tg in col.to})
    for tg in col.to:
        plan.values[tg] = _q(f"v:{tg}")
    plan.issue(col.target, pos, "unknown_code", _q(f"bad:{pos}"), Message(header, message),
               expected_labels(col, profile), _CODE_FIX)


def _column(plan: _Plan, col: ColumnSpec, pos: int, header: str, spec: FileSpec, profile: CentreProfile,
            decimal: str, cells: dict[int, pd.Series]) -> None:
    t, target = f"t{pos}", col.target
    for tg in col.to:
        plan.nonempty[tg] = f"({t} <> '')"
    if col.codes is not None:
        _codes(plan, col, pos, header, profile, cells, f"is not a known code for {'/'.join(col.to)}")
        return
    if target == "patient_id":
        plan.values[target] = _q("patient_id")
        return
    kind = cell_kind(target)
    if kind == "str":
        plan.values[target] = f"nullif({t}, '')"
    elif kind == "code":
        _codes(plan, col.model_copy(update={"codes": {}}), pos, header, profile, cells,
               f"is not a known code for {target}")
        plan.issues[-1].expected = expected_labels(col, profile)
    elif kind == "bool":
        b = profile.booleans_for(col)
        _inline(plan, pos, bool_table(cells[pos], b.table()).rename(columns={"vb": target}), {target: "BOOLEAN"})
        plan.values[target] = _q(f"v:{target}")
        plan.issue(target, pos, "unknown_code", _q(f"bad:{pos}"), Message(header, "is not a yes/no value"),
                   f"true: {'/'.join(b.true)}; false: {'/'.join(b.false)}", "write one of the yes/no words under 'expected'")
    elif kind in ("int", "float"):
        num = _q(f"n:{target}")
        plan.level1[f"n:{target}"] = S.number(t, decimal)
        bad = _q(f"nan:{target}")
        plan.level2[f"nan:{target}"] = f"({t} <> '' AND ({num} IS NULL OR NOT isfinite({num})))"
        plan.level2[f"v0:{target}"] = f"(CASE WHEN NOT {bad} THEN {_factor(num, col, target)} END)"
        value = _q(f"v0:{target}")
        if kind == "int":
            huge = f"({value} IS NOT NULL AND abs({value}) > {float(S.MAX_INT)!r})"
            plan.issue(target, pos, "not_a_number", huge, Message(header, "is too large to be a whole number for "
                                                                           "this column"),
                       "an integer", "correct the value")
            frac = f"(NOT {huge} AND {value} IS NOT NULL AND {value} <> round({value}))"
            plan.issue(target, pos, "not_an_integer", frac, Message(header, "is not a whole number"), "an integer",
                       "correct the value")
            value = f"(CASE WHEN NOT ({huge} OR {frac}) THEN {value} END)"
        plan.values[target] = value
        plan.issue(target, pos, "not_a_number", bad, Message(header, "is not a number", "number", decimal),
                   f"a number ({col.unit or U.CANONICAL_UNIT.get(target, '')})".replace(" ()", ""),
                   "write a plain number (decimal point '" + decimal + "'), leave the cell empty if unknown")
    elif kind == "trough":
        value, sign = S.trough_parts(t, decimal)
        plan.level1[f"n:{target}"], plan.level1["sign:trough"] = value, sign
        num = _q(f"n:{target}")
        plan.values[target] = _factor(num, col, target)
        plan.values.setdefault("trough_censor", S.censor(num, _q("sign:trough")))
        plan.issue(target, pos, "not_a_number", f"({t} <> '' AND {num} IS NULL)",
                   Message(header, "is not a trough result", "number", decimal),
                   "a number, '<LLOQ' (e.g. <0.4) or '>ULOQ' (e.g. >16)",
                   "write the result as reported by the ELISA (e.g. 3.2, <0.4, >16)")
    elif kind in ("date", "datetime"):
        if kind == "date":
            fmts = profile.date_formats_for(spec, col)
            table = date_table(cells[pos], fmts, ISO_DATE_FALLBACKS, date_only=True)
        else:
            fmts = profile.datetime_formats_for(spec, col)
            table = date_table(cells[pos], fmts, ISO_DATETIME_FALLBACKS, date_only=False)
        m = _join(plan, pos, table)
        plan.level1[f"v:{target}"] = f"{m}.vt"
        plan.values[target] = _q(f"v:{target}")
        plan.level1[f"bad:{pos}"] = f"coalesce({m}.bad, false)"
        words = f"is not a {'date' if kind == 'date' else 'date and time'} in the expected format"
        plan.issue(target, pos, "unparseable_date", _q(f"bad:{pos}"), Message(header, words, "date"),
                   human_formats(fmts), "write the date as under 'expected' (or as YYYY-MM-DD)")
    else:  # pragma: no cover - dictionary dtypes are closed
        plan.values[target] = f"nullif({t}, '')"


def _factor(expr: str, col: ColumnSpec, target: str) -> str:
    if col.unit is None:
        return expr
    f = U.factor(col.unit, U.CANONICAL_UNIT[target])
    if f is None:
        raise ValueError(f"cannot convert {col.unit!r} to {U.CANONICAL_UNIT[target]!r}")
    return S.apply_factor(expr, f)


def _long_labs(plan: _Plan, by_target, headers: tuple[str, ...], spec: FileSpec, profile: CentreProfile,
               decimal: str, cells: dict[int, pd.Series]) -> None:
    col, pos = by_target["analyte"]
    header = headers[pos]
    _codes(plan, col, pos, header, profile, cells, "is not a known test name")
    plan.issues[-1].fix = ("check the test name; if it is a test the study collects, ask the study's data team to "
                           "accept this name, otherwise leave the test out of the export")
    analyte_bad, keep = _q(f"bad:{pos}"), f"NOT {_q(f'drop:{pos}')}"
    plan.keep = keep
    col_d, pos_d = by_target["sample_date"]
    fmts = col_d.formats or (profile.datetime_formats_for(spec) + profile.date_formats_for(spec))
    m = _join(plan, pos_d, date_table(cells[pos_d], fmts, ISO_DATETIME_FALLBACKS + ISO_DATE_FALLBACKS, date_only=True))
    plan.level1["v:sample_date"] = f"{m}.vt"
    plan.values["sample_date"] = _q("v:sample_date")
    plan.level1[f"bad:{pos_d}"] = f"coalesce({m}.bad, false)"
    col_v, pos_v = by_target["value"]
    t_v = f"t{pos_v}"
    plan.level1["n:value"] = S.censored_number(t_v, decimal)
    num = _q("n:value")
    bad_v = f"({t_v} <> '' AND ({num} IS NULL OR NOT isfinite({num})))"
    value = f"(CASE WHEN NOT {bad_v} THEN {num} END)"
    # the unit: per row from the unit column, else per analyte from the profile, else the value column's
    analyte = _q("v:analyte")
    units = [f"nullif(t{by_target['unit'][1]}, '')"] if "unit" in by_target else []
    if spec.analyte_units:
        units.append(S.case_map(plan.level1["v:analyte"], dict(spec.analyte_units)))
    if col_v.unit is not None:
        units.append(S.literal(col_v.unit))
    unit = f"coalesce({', '.join(units)}, '')" if units else "''"
    plan.level1["unit"] = unit
    plan.unit_pairs = _unit_pairs(spec, col_v, by_target, cells)
    plan.joins.append(f"LEFT JOIN _u u ON u.analyte = {plan.level1['v:analyte']} AND u.unit = {unit}")
    plan.level1["u:num"], plan.level1["u:den"] = "u.num", "u.den"
    plan.values["value"] = f"({value} * {_q('u:num')} / {_q('u:den')})"
    unknown = f"({_q('u:num')} IS NULL AND {analyte} IS NOT NULL AND {value} IS NOT NULL)"
    plan.issue("sample_date", pos_d, "unparseable_date", f"({_q(f'bad:{pos_d}')} AND {keep})",
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


def _unit_pairs(spec: FileSpec, col_v: ColumnSpec, by_target, cells) -> pd.DataFrame:
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


# -- statements ---------------------------------------------------------------------------------------

PSEUDONYMS = "_pid"


def _pseudonyms(con, plan: _Plan, pos: int, key: bytes) -> None:
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


def _build_lines(con, plan: _Plan, positions: list[int]) -> None:
    # trimming: one regular expression per line finds the lines with a cell that starts or ends with
    # white space (cells joined by NUL, which is not white space); only their cells are trimmed
    edge = S.literal("(^|\\x{0000})" + S.WS_CLASS + "|" + S.WS_CLASS + "(\\x{0000}|$)")
    joined = f"concat_ws(chr(0), {', '.join(f'c{p}' for p in positions)})" if positions else "''"
    base = ", ".join(["source_line"] + [f"c{p}, (CASE WHEN _ws THEN {S.stripped(f'c{p}')} ELSE c{p} END) AS t{p}"
                                        for p in positions])
    base += f" FROM (SELECT *, regexp_matches({joined}, {edge}) AS _ws FROM {RAW_TABLE})"
    level1 = "".join(f", {e} AS {_q(n)}" for n, e in plan.level1.items())
    level2 = "".join(f", {e} AS {_q(n)}" for n, e in plan.level2.items())
    flags = "".join(f", {i.bad} AS {_q(f'f{k}')}" for k, i in enumerate(plan.issues))
    values = "".join(f", {e} AS {_q('x:' + n)}" for n, e in plan.values.items())
    nonempty = "".join(f", {e} AS {_q('ne:' + n)}" for n, e in plan.nonempty.items())
    inner = f"SELECT h.*{level1} FROM (SELECT {base}) h {' '.join(plan.joins)}"
    # only what the entity tables and findings read is stored: the typed values and the flags, in the
    # joins' order (no sort: every statement reading hx orders its own output by source_line)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} AS SELECT source_line, patient_id{flags}{values}{nonempty}, "
                f"{plan.keep} AS keep FROM (SELECT *{level2} FROM ({inner})) l").fetchall()
    con.execute("DROP TABLE IF EXISTS _u").fetchall()


def _write_findings(con, plan: _Plan, active: list[int], headers: tuple[str, ...]) -> int:
    """The findings of the issues ``active`` (their flags ``f<k>`` on ``hx``): messages written per
    distinct bad cell, then one ``INSERT ... SELECT``; returns how many."""
    if not active:
        return 0
    union = " UNION ALL ".join(f"SELECT {k} AS k, r.c{plan.issues[k].pos} AS c, "
                               f"{S.stripped(f'r.c{plan.issues[k].pos}')} AS t FROM {LINES} l "
                               f"JOIN {RAW_TABLE} r ON r.source_line = l.source_line WHERE l.{_q(f'f{k}')}"
                               for k in active)
    pairs = con.execute(f"SELECT DISTINCT * FROM ({union})").df()
    messages = pd.concat([message_table(grp, plan.issues[int(k)].message).assign(k=int(k))
                          for k, grp in pairs.groupby("k", sort=False)], ignore_index=True)
    register(con, "_msg", messages[["k", "c", "message"]])
    selects = []
    for k in active:
        issue = plan.issues[k]
        cols = ["l.source_line", S.literal(issue.entity), "l.patient_id", "NULL", S.literal(issue.target),
                S.literal(headers[issue.pos]), f"r.c{issue.pos}", S.literal(issue.rule), "'error'", "m.message",
                S.literal(issue.expected), S.literal(issue.fix)]
        selects.append(f"SELECT {', '.join(cols)}, {k} AS _o FROM {LINES} l JOIN {RAW_TABLE} r "
                       f"ON r.source_line = l.source_line JOIN _msg m ON m.k = {k} AND m.c = r.c{issue.pos} "
                       f"WHERE l.{_q(f'f{k}')}")
    try:   # in issue order, then line order (a finding's rowid is its seq): one finding per issue and line
        con.execute(f"INSERT INTO {FINDINGS_TABLE} SELECT * EXCLUDE (_o) FROM ({' UNION ALL '.join(selects)}) "
                    "ORDER BY _o, source_line").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _msg").fetchall()
    return int(con.execute(f"SELECT count(*) FROM {FINDINGS_TABLE}").fetchall()[0][0])


def _entity_select(plan: _Plan, entity: str, spec: FileSpec, profile: CentreProfile) -> str:
    have = plan.values
    constants = profile.constants_for(spec)
    centre = S.literal(profile.centre_id)

    def value(name: str, sql_type: str) -> str:
        if name == "centre_id":
            return f"CAST({centre} AS {sql_type})"
        if name == "patient_id":
            return "l.patient_id"
        if name in have:
            return f"CAST({_q('x:' + name)} AS {sql_type})"
        if name in constants:
            return f"CAST({S.literal(constants[name])} AS {sql_type})"
        return f"CAST(NULL AS {sql_type})"

    cols = entity_sql_columns(entity)
    if entity == "lab" and spec.kind != "labs_long":
        date = value(LAB_DATE_COLUMN, "DATE") if LAB_DATE_COLUMN in have else "CAST(NULL AS DATE)"
        parts = [f"SELECT {centre}, l.patient_id, {date}, {S.literal(a)}, CAST({_q('x:' + a)} AS DOUBLE), "
                 f"l.source_line, {i} AS k FROM {LINES} l WHERE {_q('ne:' + a)}"
                 for i, a in enumerate(ANALYTES) if a in have]
        if not parts:
            return "SELECT * FROM lab WHERE false"
        return f"SELECT * EXCLUDE (k) FROM ({' UNION ALL '.join(parts)}) ORDER BY source_line, k"
    select = ", ".join((value(c, t) if c != "source_line" else "l.source_line") + f" AS {_q(c)}"
                       for c, t in cols.items())
    own = [v.name for v in BY_ENTITY[entity] if v.name not in ("centre_id", "patient_id")]
    if spec.kind == "labs_long":
        where = "l.keep"
    elif spec.kind == "wide" and entity != "patient":
        flags = [_q("ne:" + n) for n in own if n in plan.nonempty]
        where = " OR ".join(flags) if flags else "false"
    else:
        where = "true"
    out = f"SELECT {select} FROM {LINES} l WHERE {where}"
    if spec.kind == "wide" and entity == "patient":
        by = ", ".join(S.ident(c) for c in cols if c != "source_line")
        out = f"SELECT * FROM ({out}) QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY source_line) = 1"
    return out + " ORDER BY source_line"


__all__ = ["HarmonisedRaw", "LINES", "harmonise_raw", "SQL_TYPES"]
