"""Stages 3-4 as they are today (the bridge): pandera models and the pandas rules on the entity tables.

:func:`check_tables` is a stage of the one path (``(con, ctx) -> None``, docs/ONE_PATH.md): it reads
the file's entity tables and the cell findings, runs the dictionary's pandera checks and every rule of
``validators.rules`` on harmonised frames, and appends what it finds to ``findings``.  p15 (pandera
where the data is) and r15 (every rule as SQL) replace it; the decision (``validators.decision``) is
the same either way.  Files larger than one window are checked window by window (bounded memory);
a cross-record rule then sees one window, until r15's set-wise rules land.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from schema.dictionary import ANALYTES, BY_ENTITY, entity_columns
from schema.models import PANDAS_DTYPES, SOURCE_LINE, empty_frame, entity_model_as_of, record_label
from schema.relations import ENTITY_TABLES, FINDING_SQL, FINDINGS_TABLE, entity_frame, insert_cast
from tdm.errors import FileRejected
from validators.context import ValidationContext
from validators.registry import get_rule
from validators.results import CELL_ISSUE_COLUMNS, ISSUE_COLUMNS, empty_issues
from validators.rules import ENTITY_ORDER, ROW_RULES, findings, fmt, no_findings
from validators.units import column_mixups, lab_value_mixups, value_mixups

# ------------------------------------------------------------------------------- normalisation
def normalise(entity: str, df: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """A fresh-index copy with every dictionary column in its dtype; (frame, missing required, dtype findings)."""
    if df is None:
        return empty_frame(entity), [], no_findings()
    df = df.reset_index(drop=True).copy()
    missing = [v.name for v in BY_ENTITY[entity] if v.required and v.name not in df.columns]
    if SOURCE_LINE not in df.columns:
        missing.append(SOURCE_LINE)
    bad = []
    for v in BY_ENTITY[entity]:
        dtype = PANDAS_DTYPES[v.dtype]
        if v.name not in df.columns:
            df[v.name] = pd.Series([None] * len(df), index=df.index, dtype=dtype) if dtype != "datetime64[us]" else pd.NaT
            if dtype == "datetime64[us]":
                df[v.name] = df[v.name].astype(dtype)
            continue
        col = df[v.name]
        if str(col.dtype) == dtype:
            continue
        try:
            df[v.name] = col.astype(dtype)
            continue
        except (ValueError, TypeError):
            pass
        if dtype == "datetime64[us]":
            conv = pd.to_datetime(col, errors="coerce", format="mixed").astype(dtype)
        elif dtype in ("Int64", "float64"):
            conv = pd.to_numeric(col, errors="coerce").astype(dtype)
        elif dtype == "boolean":
            m = col.astype("str").str.strip().str.lower().map(
                {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False})
            conv = m.astype("boolean")
        else:
            conv = col.astype("str")
        failed = col.notna() & conv.isna()
        bad.append(findings(entity, df[failed], v.name, f"not a valid {v.dtype}",
                            f"a {v.dtype} value", value=col[failed].astype("str")))
        df[v.name] = conv
    if SOURCE_LINE in df.columns:
        df[SOURCE_LINE] = pd.to_numeric(df[SOURCE_LINE], errors="coerce").fillna(-1).astype("int64")
    else:
        df[SOURCE_LINE] = np.arange(2, len(df) + 2, dtype="int64")
    cols = entity_columns(entity) + [SOURCE_LINE]
    extra = [c for c in df.columns if c not in cols]
    dtype_findings = pd.concat(bad, ignore_index=True) if bad else no_findings()
    return df[cols + extra], missing, dtype_findings


# ------------------------------------------------------------------------------- pandera
def _check_rule_map(schema: pa.DataFrameSchema) -> dict[tuple[str, str], str]:
    """(column, check text as pandera reports it) -> rule name."""
    out: dict[tuple[str, str], str] = {}
    for name, col in schema.columns.items():
        for chk in col.checks:
            text = chk.error or str(chk)
            cname = chk.name or ""
            if cname == "isin":
                rule = "allowed_codes"
            elif cname == "not_future":
                rule = "not_future"
            else:
                rule = "range"
            out[(name, text)] = rule
    return out


def schema_findings(entity: str, df: pd.DataFrame, ctx: ValidationContext) -> dict[str, pd.DataFrame]:
    """Run the pandera model lazily; findings grouped by rule name."""
    schema = entity_model_as_of(entity, ctx.today)
    cols = entity_columns(entity) + [SOURCE_LINE]
    try:
        schema.validate(df[cols], lazy=True)
        return {}
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    rule_map = _check_rule_map(schema)
    fc = fc[fc["index"].notna()].copy()
    fc["index"] = fc["index"].astype("int64")
    out: dict[str, list[pd.DataFrame]] = {}
    # lab_value_in_range is a frame-wide check: pandera lists every column; keep the value column.
    frame_wide = fc["schema_context"] == "DataFrameSchema"
    lab = fc[frame_wide & (fc["column"] == "value")]
    rows = df.loc[lab["index"].unique()] if len(lab) else df.iloc[0:0]
    if len(rows):
        rows = rows[~(rows["value"] < 0)]  # negative values are a range error (rules.lab_value_negative)
    if len(rows):
        lo = rows["analyte"].map({k: a.min for k, a in ANALYTES.items()}).astype("float64")
        hi = rows["analyte"].map({k: a.max for k, a in ANALYTES.items()}).astype("float64")
        unit = rows["analyte"].map({k: a.unit or "" for k, a in ANALYTES.items()}).astype("str")
        expected = lo.map("{:g}".format).astype("str") + " to " + hi.map("{:g}".format).astype("str") + " " + unit
        mix = lab_value_mixups(rows, fmt(rows["value"]))
        m = mix.notna()
        if m.any():
            out.setdefault("unit_mixup", []).append(findings("lab", rows[m], "value", mix[m], expected[m]))
        if (~m).any():
            out.setdefault("lab_value_implausible", []).append(findings(
                "lab", rows[~m], "value", rows.loc[~m, "analyte"].astype("str") + " outside the plausible "
                "paediatric range", expected[~m]))
    fc = fc[~frame_wide]
    for (column, check), grp in fc.groupby(["column", "check"], sort=False):
        rows = df.loc[grp["index"].to_numpy()]
        if check == "not_nullable":
            rule, message, expected = "required", f"{column} is empty", "a value"
        elif str(check).startswith(("coerce_dtype", "dtype")):
            rule, message, expected = "dtype", f"{column} has the wrong type", f"type {PANDAS_DTYPES.get(column, '')}"
        else:
            rule = rule_map.get((column, check), "range")
            message = {"allowed_codes": f"{column} is not an allowed code",
                       "not_future": f"{column} is in the future",
                       "range": f"{column} is out of range"}.get(rule, f"{column} failed {check}")
            expected = check
            var = next((v for v in BY_ENTITY[entity] if v.name == column), None)
            if rule == "range" and var is not None and var.min is not None and var.max is not None:
                mix = value_mixups(rows[column], var.unit, var.min, var.max, fmt(rows[column]))
                m = mix.notna()
                if m.any():
                    out.setdefault("unit_mixup", []).append(findings(
                        entity, rows[m], column, mix[m], f"{var.min:g} to {var.max:g} {var.unit}"))
                    rows = rows[~m]
                    if not len(rows):
                        continue
            if rule == "not_future":
                expected = f"on or before {ctx.today.isoformat()}"
            elif rule == "allowed_codes" and str(check).startswith("allowed codes: "):
                expected = "one of " + str(check)[len("allowed codes: "):]
        out.setdefault(rule, []).append(findings(entity, rows, column, message, expected))
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


# ------------------------------------------------------------------------------- assembly
def to_issues(rule: str, f: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if not len(f):
        return empty_issues()
    r = get_rule(rule)
    parts = []
    for ent, grp in f.groupby("entity", sort=False):
        df = frames[ent]
        rows = grp["row"].to_numpy()
        parts.append(pd.DataFrame({
            "source_line": df[SOURCE_LINE].to_numpy()[rows],
            "entity": ent,
            "patient_id": df["patient_id"].astype("object").to_numpy()[rows],
            "record": record_label(ent, df.iloc[rows]).to_numpy(),
            "column_name": grp["column_name"].to_numpy(),
            "value": grp["value"].to_numpy(),
            "rule": rule,
            "severity": r.severity,
            "message": grp["message"].to_numpy(),
            "expected": grp["expected"].to_numpy(),
            "fix": r.fix,
            "_row": rows,
        }))
    return pd.concat(parts, ignore_index=True)


def _name_lab_columns(issues: pd.DataFrame, lab: pd.DataFrame) -> pd.DataFrame:
    """A lab row's ``value`` finding names its analyte column (``albumin_g_dl``), as the export does."""
    m = (issues["entity"] == "lab") & (issues["column_name"] == "value") & (issues["_row"] >= 0)
    if not m.any():
        return issues
    issues = issues.copy()
    issues.loc[m, "column_name"] = lab["analyte"].astype("object").to_numpy()[issues.loc[m, "_row"].astype("int64")]
    return issues




def schema_issues(frames: dict[str, pd.DataFrame], ctx: ValidationContext) -> pd.DataFrame:
    """The pandera findings of harmonised frames as issue rows (``ISSUE_COLUMNS``; a lab value named by
    its analyte): what stage 3 of the one path (``validators.dictionary_checks``) writes to ``findings``,
    for the differential tests."""
    norm = {ent: normalise(ent, frames.get(ent))[0] for ent in ENTITY_ORDER}
    parts = [to_issues(rule, f, norm) for ent in ENTITY_ORDER if len(norm[ent])
             for rule, f in schema_findings(ent, norm[ent], ctx).items()]
    if not parts:
        return empty_issues()
    return _name_lab_columns(pd.concat(parts, ignore_index=True), norm["lab"])[ISSUE_COLUMNS]


def _as_findings(issues: pd.DataFrame) -> pd.DataFrame:
    """Issues (``ISSUE_COLUMNS``) as rows of the findings table (no source column: not a cell finding)."""
    return issues.reindex(columns=list(FINDING_SQL)).astype("object")


def file_error_finding(err: FileRejected) -> pd.DataFrame:
    """The one finding of a file-level check (severity ``file_error``)."""
    return pd.DataFrame([{"source_line": err.line, "entity": None, "patient_id": None, "record": None,
                          "column_name": err.column, "source_column": None,
                          "value": None if err.value is None else str(err.value), "rule": err.code,
                          "severity": "file_error", "message": err.message, "expected": None,
                          "fix": err.hint or get_rule(err.code).fix}]).astype("object")


def missing_columns(frames: dict[str, pd.DataFrame | None], file_name: str) -> FileRejected | None:
    """A file whose harmonised frames lack a required column is rejected whole (``missing_column``)."""
    missing = [(e, v.name) for e in ENTITY_ORDER if frames.get(e) is not None
               for v in BY_ENTITY[e] if v.required and v.name not in frames[e].columns]
    missing += [(e, SOURCE_LINE) for e in ENTITY_ORDER
                if frames.get(e) is not None and SOURCE_LINE not in frames[e].columns]
    if not missing:
        return None
    return FileRejected(f"required column(s) missing: {', '.join(f'{e}.{c}' for e, c in missing)}",
                        code="missing_column", file=file_name, column=missing[0][1],
                        hint=get_rule("missing_column").fix)


def frame_findings(norm: dict[str, pd.DataFrame], ci: pd.DataFrame, ctx: ValidationContext) -> pd.DataFrame:
    """Every finding of the dictionary's pandera checks and the rules on harmonised frames, in
    ``FINDING_SQL`` columns; a file-level check that fails gives its one ``file_error`` finding.
    ``ci``: the cell findings of the same lines (a cell that did not parse is not reported again as
    ``required``, nor are the columns derived from it)."""
    centres = pd.concat([norm[e]["centre_id"] for e in ENTITY_ORDER], ignore_index=True).dropna().unique()
    wrong = [c for c in centres if c != ctx.centre_id]
    if wrong:
        return file_error_finding(FileRejected(
            f"the file carries records of centre(s) {', '.join(map(str, wrong[:5]))}, not of {ctx.centre_id}",
            code="wrong_centre", file=ctx.file_name, column="centre_id", value=wrong[0],
            hint=get_rule("wrong_centre").fix))
    suspect = column_mixups(norm, ctx.unit_reference)
    if suspect:
        return file_error_finding(FileRejected("; ".join(c.message for c in suspect), code="unit_profile_suspect",
                                               file=ctx.file_name, column=suspect[0].column,
                                               hint=get_rule("unit_profile_suspect").fix))
    parts = []
    for ent in ENTITY_ORDER:
        if len(norm[ent]):
            for rule, f in schema_findings(ent, norm[ent], ctx).items():
                parts.append(to_issues(rule, f, norm))
    for rule, fn in ROW_RULES.items():
        f = fn(norm, ctx)
        if len(f):
            parts.append(to_issues(rule, f, norm))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _as_findings(empty_issues())
    issues = pd.concat(parts, ignore_index=True)
    if len(ci):
        # a wide lab cell is the lab row's 'value', a trough cell also carries 'trough_censor'
        col = ci["column_name"].astype("str")
        alias = col.where(~((ci["entity"].astype("str") == "lab") & col.isin(list(ANALYTES))), "value")
        alias = alias.where(col != "trough_ug_ml", "trough_censor")
        both = pd.concat([ci.assign(column_name=col), ci.assign(column_name=alias)], ignore_index=True)
        ci_keys = pd.MultiIndex.from_arrays([both["source_line"].astype("Int64"), both["entity"].astype("str"),
                                             both["column_name"].astype("str")])
        keys = pd.MultiIndex.from_arrays([issues["source_line"].astype("Int64"), issues["entity"].astype("str"),
                                          issues["column_name"].astype("str")])
        issues = issues[~((issues["rule"] == "required") & keys.isin(ci_keys))]
    return _as_findings(_name_lab_columns(issues.reset_index(drop=True), norm["lab"]))


def append_findings(con: duckdb.DuckDBPyConnection, df: pd.DataFrame) -> None:
    """Append rows (``FINDING_SQL`` columns) to the findings table."""
    if not len(df):
        return
    frame = df.reindex(columns=list(FINDING_SQL)).astype("object")
    insert_cast(con, FINDINGS_TABLE, frame.where(frame.notna(), None), FINDING_SQL)


def _windows(con: duckdb.DuckDBPyConnection, window_lines: int) -> list[tuple[int, int]]:
    union = " UNION ALL ".join(f"SELECT min(source_line) AS lo, max(source_line) AS hi FROM {e}" for e in ENTITY_TABLES)
    lo, hi = con.execute(f"SELECT min(lo), max(hi) FROM ({union})").fetchall()[0]
    if lo is None:
        return []
    return [(a, min(a + window_lines - 1, hi)) for a in range(int(lo), int(hi) + 1, window_lines)]


def check_tables(con: duckdb.DuckDBPyConnection, ctx: ValidationContext, window_lines: int = 500_000) -> None:
    """The stage: pandera checks and rules over the entity tables, appended to ``findings``."""
    if con.execute(f"SELECT count(*) FROM {FINDINGS_TABLE} WHERE severity = 'file_error'").fetchall()[0][0]:
        return                     # the file is rejected already: nothing more to say about its rows
    cols = ", ".join(CELL_ISSUE_COLUMNS)
    for lo, hi in _windows(con, max(int(window_lines), 1)):
        where, params = "WHERE source_line BETWEEN ? AND ?", [lo, hi]
        norm = {e: entity_frame(con, e, where, params) for e in ENTITY_TABLES}
        ci = con.execute(f"SELECT {cols} FROM {FINDINGS_TABLE} {where} AND source_column IS NOT NULL",
                         params).df()
        found = frame_findings(norm, ci, ctx)
        append_findings(con, found)
        if (found["severity"] == "file_error").any():
            return


__all__ = ["append_findings", "check_tables", "file_error_finding", "frame_findings", "missing_columns",
           "normalise", "schema_findings", "ISSUE_COLUMNS"]
