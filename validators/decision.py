"""The set-wise decision over a file's ``findings`` (stage 5 of docs/ONE_PATH.md), in SQL.

Inputs are the contract's temporary tables (``schema.relations``): the entity tables ``patient``,
``assessment``, ``elisa``, ``lab`` and ``findings``, plus ``ctx_reviews`` (the findings a data manager
confirmed).  What is decided, counted in *source lines*:

- severities and fixes come from the registry (``rule_registry``, built from ``validators.registry``)
  where a finding does not carry its own; a cell finding (``source_column`` set) names its source
  column in the message;
- a ``file_error`` finding rejects the file (nothing loads, the finding is the file's one issue);
- a warning a data manager confirmed (same entity, patient, record, rule, column and value) is left
  out of the issues and counted as suppressed;
- an error rejects its whole source line: every entity row of that line goes to quarantine with its
  reasons (a rule found on another entity of the line is written ``entity.rule``); a line only the
  adapter saw is quarantined too;
- warnings load flagged: ``row_warnings`` holds each entity row's JSON list of warning rules;
- more rejected lines than the centre's ``max_error_fraction`` rejects the file (``too_many_errors``).

The decision leaves ``rejected_lines`` and ``row_warnings`` for the loader's ``INSERT ... SELECT``
(``warehouse.load.load_decided``) and returns a :class:`validators.core.ValidationResult` whose
frames (issues, quarantined rows) are bounded by the findings; ``accepted`` is filled only on request
(:func:`accepted_frames`), since the accepted rows stay in DuckDB.
"""

from __future__ import annotations


import duckdb
import pandas as pd

from schema.dictionary import entity_columns
from schema.models import SOURCE_LINE, empty_frame, record_label_sql
from schema.relations import ENTITY_TABLES, entity_frame
from base.errors import FileRejected
from validators.context import ValidationContext
from validators.registry import RULES, get_rule
from validators.results import (ISSUE_COLUMNS, REJECTED_COLUMNS, ValidationResult, empty_issues, empty_rejected,
                                rule_counts)

_RANK = " ".join(f"WHEN '{e}' THEN {i}" for i, e in enumerate(ENTITY_TABLES))
ENTITY_RANK = f"CASE {{col}} {_RANK} END"

#: Every finding with its severity, fix and message settled; ``seq`` keeps the order found.
DECIDED_SQL = """
CREATE OR REPLACE TEMP TABLE decided AS
SELECT f.source_line, f.entity, f.patient_id, f.record, f.column_name, f.value, f.rule,
       CASE WHEN f.severity = 'file_error' THEN 'file_error'
            WHEN f.source_column IS NOT NULL AND f.severity NOT IN ('error', 'warning') THEN 'error'
            ELSE coalesce(f.severity, r.severity, 'error') END AS severity,
       CASE WHEN f.source_column IS NOT NULL AND f.source_column IS DISTINCT FROM f.column_name
            THEN f.message || ' (source column ''' || f.source_column || ''')' ELSE f.message END AS message,
       f.expected, coalesce(nullif(f.fix, ''), r.fix) AS fix,
       f.source_column IS NOT NULL AS is_cell, f.rowid AS seq,
       EXISTS (SELECT 1 FROM ctx_reviews v
               WHERE v.entity IS NOT DISTINCT FROM f.entity AND v.patient_id IS NOT DISTINCT FROM f.patient_id
                 AND v.record IS NOT DISTINCT FROM f.record AND v.rule IS NOT DISTINCT FROM f.rule
                 AND v.column_name IS NOT DISTINCT FROM f.column_name
                 AND v.value IS NOT DISTINCT FROM f.value) AS reviewed
FROM findings f LEFT JOIN rule_registry r ON r.rule = f.rule
"""

#: The issues to report, in report order (line, entity, severity, rule, order found).
ISSUES_SQL = f"""
CREATE OR REPLACE TEMP TABLE issues AS
SELECT * EXCLUDE (reviewed) FROM decided WHERE NOT (reviewed AND severity = 'warning')
ORDER BY source_line NULLS LAST, {ENTITY_RANK.format(col='entity')} NULLS LAST, severity, rule, seq
"""

REJECTED_LINES_SQL = """
CREATE OR REPLACE TEMP TABLE rejected_lines AS
SELECT DISTINCT source_line FROM issues WHERE severity = 'error' AND source_line IS NOT NULL
"""

#: Each entity row's warnings, as the JSON list of its rules (``json.dumps(sorted(rules))``).
ROW_WARNINGS_SQL = """
CREATE OR REPLACE TEMP TABLE row_warnings AS
SELECT entity, source_line, record, '[' || string_agg('"' || rule || '"', ', ' ORDER BY rule) || ']' AS warnings
FROM (SELECT DISTINCT entity, source_line, record, rule FROM issues
      WHERE severity = 'warning' AND NOT is_cell AND entity IS NOT NULL)
GROUP BY entity, source_line, record
"""

#: The rows to load of ``{entity}``: every row of a line not rejected, with its warnings.
ACCEPTED_SQL = """
CREATE OR REPLACE TEMP VIEW accepted_{entity} AS
SELECT t.*, w.warnings, t.rowid AS file_order FROM {entity} t {join}
WHERE t.source_line NOT IN (SELECT source_line FROM rejected_lines)
"""

#: Per rejected line: its reasons as seen from ``{entity}`` (own rules first, then ``other.rule``).
REASONS_SQL = """
SELECT source_line, string_agg(label, '; ' ORDER BY own, label) AS reasons
FROM (SELECT DISTINCT source_line, entity IS DISTINCT FROM '{entity}' AS own,
             CASE WHEN entity IS NOT DISTINCT FROM '{entity}' THEN rule
                  ELSE coalesce(entity, 'file') || '.' || rule END AS label
      FROM issues WHERE severity = 'error' AND source_line IS NOT NULL)
GROUP BY source_line
"""

#: Error lines with no entity row at all (only the adapter saw them).
ADAPTER_ONLY_SQL = f"""
SELECT entity, source_line, any_value(patient_id ORDER BY seq) AS patient_id,
       string_agg(DISTINCT rule, '; ' ORDER BY rule) AS reasons
FROM issues
WHERE is_cell AND severity = 'error' AND source_line IS NOT NULL
  AND source_line NOT IN ({' UNION '.join(f'SELECT source_line FROM {e}' for e in ENTITY_TABLES)})
GROUP BY entity, source_line
"""

LINES_SQL = f"""
SELECT count(*) FROM ({' UNION '.join(f'SELECT source_line FROM {e}' for e in ENTITY_TABLES)}
                      UNION SELECT source_line FROM decided WHERE is_cell AND source_line IS NOT NULL)
"""


def _df(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pd.DataFrame:
    return con.execute(sql, params).df() if params is not None else con.execute(sql).df()


def register_registry(con: duckdb.DuckDBPyConnection) -> None:
    """``rule_registry (rule, severity, fix)``: the registry as a table the decision joins."""
    reg = pd.DataFrame({"rule": list(RULES), "severity": [r.severity for r in RULES.values()],
                        "fix": [r.fix for r in RULES.values()]}).astype("object")
    con.register("_rules", reg)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE rule_registry AS SELECT CAST(rule AS VARCHAR) AS rule, "
                    "CAST(severity AS VARCHAR) AS severity, CAST(fix AS VARCHAR) AS fix FROM _rules").fetchall()
    finally:
        con.unregister("_rules")


def _issue_frame(con, where: str = "") -> pd.DataFrame:
    df = _df(con, f"SELECT {', '.join(ISSUE_COLUMNS)} FROM issues {where} ORDER BY rowid")
    if not len(df):
        return empty_issues()
    df = df.astype({c: "object" for c in ISSUE_COLUMNS if c != "source_line"})
    df["source_line"] = df["source_line"].astype("Int64")
    return df.where(df.notna(), None).astype({"source_line": "Int64"})


def _records_json(df: pd.DataFrame) -> pd.Series:
    """The original record of each quarantined row, as the earlier reference path wrote it."""
    if not len(df):
        return pd.Series([], dtype="object", index=df.index)
    text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="s", force_ascii=False)
    return pd.Series(text.rstrip("\n").split("\n"), index=df.index, dtype="object")


def _rejected(con, ctx: ValidationContext) -> pd.DataFrame:
    parts = []
    for ent in ENTITY_TABLES:
        bad = entity_frame(con, ent, "WHERE source_line IN (SELECT source_line FROM rejected_lines)")
        if not len(bad):
            continue
        reasons = _df(con, REASONS_SQL.format(entity=ent)).set_index("source_line")["reasons"]
        parts.append(pd.DataFrame({
            "entity": ent, "source_line": bad[SOURCE_LINE].to_numpy(), "centre_id": ctx.centre_id,
            "patient_id": bad["patient_id"].astype("object").to_numpy(),
            "record_json": _records_json(bad).to_numpy(),
            "reasons": bad[SOURCE_LINE].map(reasons).to_numpy()}))
    only = _df(con, ADAPTER_ONLY_SQL)
    if len(only):
        parts.append(pd.DataFrame({
            "entity": only["entity"], "source_line": only["source_line"].astype("int64"), "centre_id": ctx.centre_id,
            "patient_id": only["patient_id"].astype("object"),
            "record_json": "{\"source_line\":" + only["source_line"].astype("str") + "}",
            "reasons": only["reasons"]}))
    if not parts:
        return empty_rejected()
    rank = {e: i for i, e in enumerate(ENTITY_TABLES)}
    out = pd.concat(parts, ignore_index=True)
    return out.assign(_e=out["entity"].map(rank)).sort_values(["source_line", "_e"], kind="stable") \
        .drop(columns="_e").reset_index(drop=True)[REJECTED_COLUMNS]


def _file_error(row: pd.Series, file_name: str) -> FileRejected:
    line = row["source_line"]
    return FileRejected(str(row["message"]), code=str(row["rule"]), file=file_name,
                        line=None if pd.isna(line) else int(line), column=row["column_name"],
                        value=row["value"], hint=row["fix"] or get_rule(str(row["rule"])).fix)


def decide(con: duckdb.DuckDBPyConnection, ctx: ValidationContext) -> ValidationResult:
    """Decide the file whose stages filled ``findings`` (see the module docstring)."""
    register_registry(con)
    for sql in (DECIDED_SQL, ISSUES_SQL, REJECTED_LINES_SQL, ROW_WARNINGS_SQL):
        con.execute(sql).fetchall()
    for ent in ENTITY_TABLES:
        con.execute(ACCEPTED_SQL.format(entity=ent, join=warnings_join(ent))).fetchall()
    n_read = int(con.execute(LINES_SQL).fetchall()[0][0])
    fatal = _issue_frame(con, "WHERE severity = 'file_error'")
    if len(fatal):                      # a file-level check: one clear message, nothing loaded
        first = fatal.iloc[[0]].reset_index(drop=True)
        con.execute("DELETE FROM rejected_lines").fetchall()
        return ValidationResult(accepted={}, rejected=empty_rejected(), issues=first, file_error=_file_error(
            first.iloc[0], ctx.file_name), rows_read=n_read, rows_loaded=0, rows_warned=0, rows_rejected=n_read,
            rule_counts=rule_counts(first))
    issues = _issue_frame(con)
    confirmed = _df(con, f"SELECT {', '.join(ISSUE_COLUMNS)} FROM decided WHERE reviewed AND severity = 'warning' "
                         "ORDER BY seq")
    confirmed = confirmed.astype({c: "object" for c in ISSUE_COLUMNS if c != "source_line"}) if len(confirmed) \
        else empty_issues()
    n_rejected = int(con.execute("SELECT count(*) FROM rejected_lines").fetchall()[0][0])
    n_warned = int(con.execute("SELECT count(DISTINCT source_line) FROM issues WHERE severity = 'warning' AND "
                               "source_line NOT IN (SELECT source_line FROM rejected_lines)").fetchall()[0][0])
    rejected = _rejected(con, ctx)
    if n_read and n_rejected / n_read > ctx.max_error_fraction:
        err = FileRejected(
            f"{n_rejected} of {n_read} lines ({n_rejected / n_read:.0%}) have errors; the centre's policy "
            f"rejects a file above {ctx.max_error_fraction:.0%}", code="too_many_errors", file=ctx.file_name,
            hint=get_rule("too_many_errors").fix)
        fe = pd.DataFrame([{"source_line": None, "entity": None, "patient_id": None, "record": None,
                            "column_name": None, "value": None, "rule": "too_many_errors", "severity": "file_error",
                            "message": err.message, "expected": None, "fix": err.hint}]).astype("object")
        fe["source_line"] = fe["source_line"].astype("Int64")
        all_issues = pd.concat([fe, issues], ignore_index=True) if len(issues) else fe
        con.execute("DELETE FROM rejected_lines").fetchall()
        return ValidationResult(accepted={}, rejected=rejected, issues=all_issues, file_error=err, rows_read=n_read,
                                rows_loaded=0, rows_warned=0, rows_rejected=n_read, rule_counts=rule_counts(all_issues))
    return ValidationResult(accepted={}, rejected=rejected, issues=issues, file_error=None, rows_read=n_read,
                            rows_loaded=n_read - n_rejected, rows_warned=n_warned, rows_rejected=n_rejected,
                            warnings_suppressed=len(confirmed), rule_counts=rule_counts(issues), confirmed=confirmed)


def warnings_join(entity: str, alias: str = "t") -> str:
    """``LEFT JOIN row_warnings w ...``: an entity row's warnings, matched on line and record."""
    return (f"LEFT JOIN row_warnings w ON w.entity = '{entity}' AND w.source_line = {alias}.source_line "
            f"AND w.record IS NOT DISTINCT FROM ({record_label_sql(entity, alias)})")


def accepted_frames(con: duckdb.DuckDBPyConnection, patient_ids: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The accepted rows (harmonised columns + ``source_line`` + ``warnings``) as frames, all of them or
    only those of ``patient_ids`` (the resubmission diff needs only patients with quarantined rows)."""
    out = {}
    if patient_ids is not None:
        con.register("_pids", pd.DataFrame({"patient_id": pd.Series(patient_ids, dtype="object")}))
    try:
        for ent in ENTITY_TABLES:
            cols = entity_columns(ent) + [SOURCE_LINE]
            where = "WHERE patient_id IN (SELECT CAST(patient_id AS VARCHAR) FROM _pids)" if patient_ids is not None \
                else ""
            df = _df(con, f"SELECT {', '.join(cols)}, warnings FROM accepted_{ent} {where} ORDER BY file_order")
            frame = df.astype(empty_frame(ent).dtypes.to_dict()) if len(df) else empty_frame(ent)
            warn = df["warnings"].astype("object") if len(df) else pd.Series(dtype="object")
            frame["warnings"] = warn.where(warn.notna(), None).astype("str")
            out[ent] = frame.reset_index(drop=True)
    finally:
        if patient_ids is not None:
            con.unregister("_pids")
    return out


__all__ = ["decide", "accepted_frames", "warnings_join", "register_registry"]
