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
expressions (:func:`centres.sql_plan.inline_labels`), a date column's thousands joined back.  The
plan the columns compile to is :mod:`centres.sql_plan`; a long lab export's columns are
:mod:`centres.sql_long_labs`.  One statement builds the typed
lines (``hx``, unsorted); the entity tables and findings are ``INSERT ... SELECT ... ORDER BY
source_line`` over it, then it is dropped (``raw`` stays; ingestion's
reading stage drops it after this).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from centres import sql_cells as S
from centres.cells import ISO_DATE_FALLBACKS, ISO_DATETIME_FALLBACKS, cell_kind, expected_labels, human_formats
from centres.header_checks import resolve_columns
from centres.profile import CentreProfile, ColumnSpec, FileSpec
from centres.raw import RAW_TABLE, RawFile
from centres.sql_labels import Message, bool_table, date_table, distinct_texts, message_table, register
from centres.sql_long_labs import PSEUDONYMS, long_labs, pseudonyms
from centres.sql_plan import Plan, codes, factor, inline_labels, join_map, q
from schema import units as U
from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN
from schema.relations import ENTITY_TABLES, FINDING_SQL, FINDINGS_TABLE, SQL_TYPES, create_empty, entity_sql_columns

LINES = "hx"


@dataclass(frozen=True)
class HarmonisedRaw:
    """What :func:`harmonise_raw` left in the connection: rows per entity table, findings, lines read."""

    rows_read: int
    rows: dict[str, int]
    findings: int


def harmonise_raw(con: duckdb.DuckDBPyConnection, raw: RawFile, spec: FileSpec, profile: CentreProfile,
                  key: bytes) -> HarmonisedRaw:
    """Map ``raw`` onto the contract's entity tables and ``findings`` (module docstring).

    Raises :class:`~base.errors.MappingError` (``missing_columns``,
    ``unknown_columns``) for the file as a whole; writes nothing outside temporary tables."""
    resolved = resolve_columns(raw.headers, spec, raw.file_name)
    position = {h: i for i, h in enumerate(raw.headers)}
    cols = [(col, position[h]) for col, h in resolved]
    decimal = spec.csv.decimal if spec.csv is not None else "."
    plan = Plan(kind=spec.kind)
    label_cells = _distinct_cells(con, cols, spec)
    by_target = {t: (col, pos) for col, pos in cols for t in col.to}
    if "patient_id" not in by_target:
        plan.level1["patient_id"] = "CAST(NULL AS VARCHAR)"
    elif spec.kind == "labs_long":
        pseudonyms(con, plan, by_target["patient_id"][1], key)
    else:
        plan.level1["patient_id"] = S.pseudonym(f"t{by_target['patient_id'][1]}", key)
    if spec.kind == "labs_long":
        long_labs(plan, by_target, raw.headers, spec, profile, decimal, label_cells)
    else:
        for col, pos in cols:
            _column(plan, col, pos, raw.headers[pos], spec, profile, decimal, label_cells)
    if plan.maps:
        register(con, "_maps", pd.concat([t.assign(pos=p) for p, t in plan.maps.items()], ignore_index=True))
    if plan.unit_pairs is not None:
        register(con, "_u", plan.unit_pairs)
    _build_lines(con, plan, sorted({p for _, p in cols}))
    create_empty(con, FINDINGS_TABLE, FINDING_SQL)
    hits = con.execute("SELECT " + ", ".join(f"count_if({q(f'f{k}')})" for k in range(len(plan.issues)))
                       + f" FROM {LINES}").fetchall()[0] if plan.issues else ()
    n_findings = _write_findings(con, plan, [k for k, n in enumerate(hits) if n], raw.headers)
    rows = {}
    for entity in ENTITY_TABLES:
        create_empty(con, entity, entity_sql_columns(entity))
        if entity in spec.entities:
            select = _entity_select(plan, entity, spec, profile)
            con.execute(f"INSERT INTO {q(entity)} {select}").fetchall()
        rows[entity] = int(con.execute(f"SELECT count(*) FROM {q(entity)}").fetchall()[0][0])
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


def _column(plan: Plan, col: ColumnSpec, pos: int, header: str, spec: FileSpec, profile: CentreProfile,
            decimal: str, cells: dict[int, pd.Series]) -> None:
    t, target = f"t{pos}", col.target
    for tg in col.to:
        plan.nonempty[tg] = f"({t} <> '')"
    if col.codes is not None:
        codes(plan, col, pos, header, profile, cells, f"is not a known code for {'/'.join(col.to)}")
        return
    if target == "patient_id":
        plan.values[target] = q("patient_id")
        return
    kind = cell_kind(target)
    if kind == "str":
        plan.values[target] = f"nullif({t}, '')"
    elif kind == "code":
        codes(plan, col.model_copy(update={"codes": {}}), pos, header, profile, cells,
               f"is not a known code for {target}")
        plan.issues[-1].expected = expected_labels(col, profile)
    elif kind == "bool":
        b = profile.booleans_for(col)
        inline_labels(plan, pos, bool_table(cells[pos], b.table()).rename(columns={"vb": target}), {target: "BOOLEAN"})
        plan.values[target] = q(f"v:{target}")
        plan.issue(target, pos, "unknown_code", q(f"bad:{pos}"), Message(header, "is not a yes/no value"),
                   f"true: {'/'.join(b.true)}; false: {'/'.join(b.false)}", "write one of the yes/no words under 'expected'")
    elif kind in ("int", "float"):
        num = q(f"n:{target}")
        plan.level1[f"n:{target}"] = S.number(t, decimal)
        bad = q(f"nan:{target}")
        plan.level2[f"nan:{target}"] = f"({t} <> '' AND ({num} IS NULL OR NOT isfinite({num})))"
        plan.level2[f"v0:{target}"] = f"(CASE WHEN NOT {bad} THEN {factor(num, col, target)} END)"
        value = q(f"v0:{target}")
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
        num = q(f"n:{target}")
        plan.values[target] = factor(num, col, target)
        plan.values.setdefault("trough_censor", S.censor(num, q("sign:trough")))
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
        m = join_map(plan, pos, table)
        plan.level1[f"v:{target}"] = f"{m}.vt"
        plan.values[target] = q(f"v:{target}")
        plan.level1[f"bad:{pos}"] = f"coalesce({m}.bad, false)"
        words = f"is not a {'date' if kind == 'date' else 'date and time'} in the expected format"
        plan.issue(target, pos, "unparseable_date", q(f"bad:{pos}"), Message(header, words, "date"),
                   human_formats(fmts), "write the date as under 'expected' (or as YYYY-MM-DD)")
    else:  # pragma: no cover - dictionary dtypes are closed
        plan.values[target] = f"nullif({t}, '')"


# -- statements ---------------------------------------------------------------------------------------

def _build_lines(con, plan: Plan, positions: list[int]) -> None:
    # trimming: one regular expression per line finds the lines with a cell that starts or ends with
    # white space (cells joined by NUL, which is not white space); only their cells are trimmed
    edge = S.literal("(^|\\x{0000})" + S.WS_CLASS + "|" + S.WS_CLASS + "(\\x{0000}|$)")
    joined = f"concat_ws(chr(0), {', '.join(f'c{p}' for p in positions)})" if positions else "''"
    base = ", ".join(["source_line"] + [f"c{p}, (CASE WHEN _ws THEN {S.stripped(f'c{p}')} ELSE c{p} END) AS t{p}"
                                        for p in positions])
    base += f" FROM (SELECT *, regexp_matches({joined}, {edge}) AS _ws FROM {RAW_TABLE})"
    level1 = "".join(f", {e} AS {q(n)}" for n, e in plan.level1.items())
    level2 = "".join(f", {e} AS {q(n)}" for n, e in plan.level2.items())
    flags = "".join(f", {i.bad} AS {q(f'f{k}')}" for k, i in enumerate(plan.issues))
    values = "".join(f", {e} AS {q('x:' + n)}" for n, e in plan.values.items())
    nonempty = "".join(f", {e} AS {q('ne:' + n)}" for n, e in plan.nonempty.items())
    inner = f"SELECT h.*{level1} FROM (SELECT {base}) h {' '.join(plan.joins)}"
    # only what the entity tables and findings read is stored: the typed values and the flags, in the
    # joins' order (no sort: every statement reading hx orders its own output by source_line)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} AS SELECT source_line, patient_id{flags}{values}{nonempty}, "
                f"{plan.keep} AS keep FROM (SELECT *{level2} FROM ({inner})) l").fetchall()
    con.execute("DROP TABLE IF EXISTS _u").fetchall()


def _write_findings(con, plan: Plan, active: list[int], headers: tuple[str, ...]) -> int:
    """The findings of the issues ``active`` (their flags ``f<k>`` on ``hx``): messages written per
    distinct bad cell, then one ``INSERT ... SELECT``; returns how many."""
    if not active:
        return 0
    union = " UNION ALL ".join(f"SELECT {k} AS k, r.c{plan.issues[k].pos} AS c, "
                               f"{S.stripped(f'r.c{plan.issues[k].pos}')} AS t FROM {LINES} l "
                               f"JOIN {RAW_TABLE} r ON r.source_line = l.source_line WHERE l.{q(f'f{k}')}"
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
                       f"WHERE l.{q(f'f{k}')}")
    try:   # in issue order, then line order (a finding's rowid is its seq): one finding per issue and line
        con.execute(f"INSERT INTO {FINDINGS_TABLE} SELECT * EXCLUDE (_o) FROM ({' UNION ALL '.join(selects)}) "
                    "ORDER BY _o, source_line").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _msg").fetchall()
    return int(con.execute(f"SELECT count(*) FROM {FINDINGS_TABLE}").fetchall()[0][0])


def _entity_select(plan: Plan, entity: str, spec: FileSpec, profile: CentreProfile) -> str:
    have = plan.values
    constants = profile.constants_for(spec)
    centre = S.literal(profile.centre_id)

    def value(name: str, sql_type: str) -> str:
        if name == "centre_id":
            return f"CAST({centre} AS {sql_type})"
        if name == "patient_id":
            return "l.patient_id"
        if name in have:
            return f"CAST({q('x:' + name)} AS {sql_type})"
        if name in constants:
            return f"CAST({S.literal(constants[name])} AS {sql_type})"
        return f"CAST(NULL AS {sql_type})"

    cols = entity_sql_columns(entity)
    if entity == "lab" and spec.kind != "labs_long":
        date = value(LAB_DATE_COLUMN, "DATE") if LAB_DATE_COLUMN in have else "CAST(NULL AS DATE)"
        parts = [f"SELECT {centre}, l.patient_id, {date}, {S.literal(a)}, CAST({q('x:' + a)} AS DOUBLE), "
                 f"l.source_line, {i} AS k FROM {LINES} l WHERE {q('ne:' + a)}"
                 for i, a in enumerate(ANALYTES) if a in have]
        if not parts:
            return "SELECT * FROM lab WHERE false"
        return f"SELECT * EXCLUDE (k) FROM ({' UNION ALL '.join(parts)}) ORDER BY source_line, k"
    select = ", ".join((value(c, t) if c != "source_line" else "l.source_line") + f" AS {q(c)}"
                       for c, t in cols.items())
    own = [v.name for v in BY_ENTITY[entity] if v.name not in ("centre_id", "patient_id")]
    if spec.kind == "labs_long":
        where = "l.keep"
    elif spec.kind == "wide" and entity != "patient":
        flags = [q("ne:" + n) for n in own if n in plan.nonempty]
        where = " OR ".join(flags) if flags else "false"
    else:
        where = "true"
    out = f"SELECT {select} FROM {LINES} l WHERE {where}"
    if spec.kind == "wide" and entity == "patient":
        by = ", ".join(S.ident(c) for c in cols if c != "source_line")
        out = f"SELECT * FROM ({out}) QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY source_line) = 1"
    return out + " ORDER BY source_line"


__all__ = ["HarmonisedRaw", "LINES", "harmonise_raw", "SQL_TYPES"]
