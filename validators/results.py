"""What validation decided for one file: :class:`ValidationResult` and its frames' shapes.

Shared by the checks (``validators.checks``), the decision (``validators.decision``) and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from base.errors import TdmError
from validators.registry import get_rule

ISSUE_COLUMNS = ["source_line", "entity", "patient_id", "record", "column_name", "value", "rule", "severity",
                 "message", "expected", "fix"]
REJECTED_COLUMNS = ["entity", "source_line", "centre_id", "patient_id", "record_json", "reasons"]
CELL_ISSUE_COLUMNS = ["source_line", "entity", "patient_id", "record", "column_name", "source_column", "value",
                      "rule", "severity", "message", "expected", "fix"]
# What a confirmation (an answered query, ``warehouse.queries``) is scoped to: exactly one finding.
FINDING_IDENTITY = ["entity", "patient_id", "record", "rule", "column_name", "value"]


def empty_issues() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})
    df["source_line"] = df["source_line"].astype("Int64")
    return df


def empty_rejected() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in REJECTED_COLUMNS})
    df["source_line"] = df["source_line"].astype("int64")
    return df


@dataclass(frozen=True)
class ValidationResult:
    """What validation decided for one file.

    ``accepted``   entity -> rows to load (harmonised columns + ``source_line`` + ``warnings``:
                   a JSON list of warning rule names, or null).
    ``rejected``   one row per rejected entity row: ``entity, source_line, centre_id, patient_id,
                   record_json, reasons`` (rule names, '; '-separated; a rule found on another
                   entity of the same line is written ``entity.rule``).
    ``issues``     every finding (``ISSUE_COLUMNS``), errors, warnings and the file error.
    ``file_error`` set when the whole file is rejected (then nothing is accepted).
    ``confirmed``  warnings left out of ``issues`` because a data manager confirmed exactly that
                   finding (same patient, record, rule, column and value) as a true value.
    Counts are in source lines; ``warnings_suppressed`` is ``len(confirmed)``.
    """

    accepted: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    issues: pd.DataFrame
    file_error: TdmError | None
    rows_read: int
    rows_loaded: int
    rows_warned: int
    rows_rejected: int
    warnings_suppressed: int = 0
    rule_counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    confirmed: pd.DataFrame = field(default_factory=lambda: empty_issues())

    @property
    def status(self) -> str:
        """``rejected`` | ``loaded_with_rejections`` | ``loaded`` (the ingest.files vocabulary)."""
        if self.file_error is not None:
            return "rejected"
        return "loaded_with_rejections" if self.rows_rejected else "loaded"

    @property
    def errors(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "warning"]


def rule_counts(issues: pd.DataFrame) -> pd.DataFrame:
    """Per rule: severity, findings and distinct source lines that broke it (most lines first)."""
    if not len(issues):
        return pd.DataFrame({"rule": pd.Series(dtype="str"), "severity": pd.Series(dtype="str"),
                             "findings": pd.Series(dtype="int64"), "lines": pd.Series(dtype="int64"),
                             "description": pd.Series(dtype="str"), "fix": pd.Series(dtype="str")})
    g = issues.groupby(["rule", "severity"], sort=False).agg(
        findings=("rule", "size"), lines=("source_line", "nunique")).reset_index()
    g["description"] = g["rule"].map(lambda r: get_rule(r).description)
    g["fix"] = g["rule"].map(lambda r: get_rule(r).fix)
    sev_order = {"file_error": 0, "error": 1, "warning": 2}
    g = g.assign(_s=g["severity"].map(sev_order)).sort_values(["_s", "lines", "rule"], ascending=[True, False, True])
    return g.drop(columns="_s").reset_index(drop=True)


__all__ = ["ValidationResult", "ISSUE_COLUMNS", "REJECTED_COLUMNS", "CELL_ISSUE_COLUMNS", "FINDING_IDENTITY",
           "empty_issues", "empty_rejected", "rule_counts"]
