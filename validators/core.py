"""``validate_file``: pandera models + cross-field/cross-record rules -> one immutable result.

Pure and vectorised: frames in, :class:`ValidationResult` out, no I/O.  Counting is in *source
lines*: a line is rejected when any of its entity rows has an error, and then every entity row of
that line is rejected together (a wide row never half-loads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schema.dictionary import ANALYTES, BY_ENTITY, entity_columns
from schema.models import PANDAS_DTYPES, SOURCE_LINE, empty_frame, entity_model_as_of, record_label
from tdm.errors import FileRejected, TdmError
from validators.context import ValidationContext
from validators.registry import RULES, get_rule
from validators.rules import ENTITY_ORDER, FINDING_COLUMNS, ROW_RULES, findings, fmt, no_findings
from validators.units import column_mixups, lab_value_mixups, value_mixups

ISSUE_COLUMNS = ["source_line", "entity", "patient_id", "record", "column_name", "value", "rule", "severity",
                 "message", "expected", "fix"]
REJECTED_COLUMNS = ["entity", "source_line", "centre_id", "patient_id", "record_json", "reasons"]
CELL_ISSUE_COLUMNS = ["source_line", "entity", "patient_id", "record", "column_name", "source_column", "value",
                      "rule", "severity", "message", "expected", "fix"]
# What a confirmation (an answered query, ``tdm.warehouse.queries``) is scoped to: exactly one finding.
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


# ------------------------------------------------------------------------------- normalisation
def _normalise(entity: str, df: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
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
def _to_issues(rule: str, f: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
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


def schema_issues(frames: dict[str, pd.DataFrame], ctx: ValidationContext) -> pd.DataFrame:
    """The pandera findings of harmonised frames as issue rows (``ISSUE_COLUMNS``; a lab value named by
    its analyte): what stage 3 of the one path (``validators.dictionary_checks``) writes to ``findings``,
    for the differential tests."""
    norm = {ent: _normalise(ent, frames.get(ent))[0] for ent in ENTITY_ORDER}
    parts = [_to_issues(rule, f, norm) for ent in ENTITY_ORDER if len(norm[ent])
             for rule, f in schema_findings(ent, norm[ent], ctx).items()]
    if not parts:
        return empty_issues()
    return _name_lab_columns(pd.concat(parts, ignore_index=True), norm["lab"])[ISSUE_COLUMNS]


def _cell_issues(cell_issues: pd.DataFrame | None) -> pd.DataFrame:
    if cell_issues is None or not len(cell_issues):
        return empty_issues()
    ci = cell_issues.copy()
    for c in CELL_ISSUE_COLUMNS:
        if c not in ci.columns:
            ci[c] = None
    ci["severity"] = ci["severity"].where(ci["severity"].isin(["error", "warning"]), "error")
    regfix = ci["rule"].map(lambda r: get_rule(str(r)).fix)  # per rule code, not per row of data
    ci["fix"] = ci["fix"].where(ci["fix"].notna() & (ci["fix"].astype("str") != ""), regfix)
    src = ci["source_column"].astype("object")
    has_src = src.notna() & (src.astype("str") != ci["column_name"].astype("str"))
    ci["message"] = ci["message"].astype("object").where(
        ~has_src, ci["message"].astype("str") + " (source column '" + src.astype("str") + "')")
    ci["source_line"] = pd.to_numeric(ci["source_line"], errors="coerce").astype("Int64")
    ci["value"] = ci["value"].astype("object").where(ci["value"].notna(), None)
    ci["_row"] = -1
    return ci[ISSUE_COLUMNS + ["_row"]]


def _file_error_result(err: TdmError, rule: str, frames, lines: pd.Index, issues: pd.DataFrame | None = None,
                       rejected: pd.DataFrame | None = None) -> ValidationResult:
    r = get_rule(rule)
    fe = pd.DataFrame([{"source_line": err.line, "entity": None, "patient_id": None, "record": None,
                        "column_name": err.column,
                        "value": None if err.value is None else str(err.value), "rule": rule,
                        "severity": "file_error", "message": err.message, "expected": None,
                        "fix": err.hint or r.fix}])
    fe["source_line"] = fe["source_line"].astype("Int64")
    all_issues = fe if issues is None or not len(issues) else pd.concat([fe, issues], ignore_index=True)
    accepted = {e: frames[e].iloc[0:0].assign(warnings=pd.Series(dtype="str")) for e in ENTITY_ORDER}
    n = len(lines)
    return ValidationResult(accepted=accepted, rejected=rejected if rejected is not None else empty_rejected(),
                            issues=all_issues[ISSUE_COLUMNS].reset_index(drop=True), file_error=err,
                            rows_read=n, rows_loaded=0, rows_warned=0, rows_rejected=n,
                            rule_counts=rule_counts(all_issues))


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


def identity_keys(df: pd.DataFrame) -> pd.MultiIndex:
    """One key per finding from :data:`FINDING_IDENTITY` (missing parts compare equal to each other)."""
    return pd.MultiIndex.from_arrays([df[c].astype("object").where(df[c].notna(), "\x00").astype("str")
                                      for c in FINDING_IDENTITY])


def _suppress_confirmed(issues: pd.DataFrame, ctx: ValidationContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the warnings a data manager confirmed: (issues to report, confirmed warnings).

    A confirmation covers exactly one finding: same entity, patient, record, rule, column and value.
    A new value, another record or another analyte of the same patient is reported as usual."""
    rv = ctx.reviews
    if not len(rv) or not len(issues):
        return issues, issues.iloc[0:0]
    if "centre_id" in rv.columns:
        rv = rv[rv["centre_id"].astype("str") == ctx.centre_id]
    hit = (issues["severity"] == "warning") & identity_keys(issues).isin(identity_keys(rv))
    return issues[~hit].reset_index(drop=True), issues[hit].reset_index(drop=True)


def _name_lab_columns(issues: pd.DataFrame, lab: pd.DataFrame) -> pd.DataFrame:
    """A lab row's ``value`` finding names its analyte column (``albumin_g_dl``), as the export does."""
    m = (issues["entity"] == "lab") & (issues["column_name"] == "value") & (issues["_row"] >= 0)
    if not m.any():
        return issues
    issues = issues.copy()
    issues.loc[m, "column_name"] = lab["analyte"].astype("object").to_numpy()[issues.loc[m, "_row"].astype("int64")]
    return issues


def _records_json(df: pd.DataFrame) -> pd.Series:
    if not len(df):
        return pd.Series([], dtype="object", index=df.index)
    text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="s", force_ascii=False)
    return pd.Series(text.rstrip("\n").split("\n"), index=df.index, dtype="object")


def validate_file(frames: dict[str, pd.DataFrame], cell_issues: pd.DataFrame | None,
                  context: ValidationContext) -> ValidationResult:
    """Validate one file's harmonised frames (see the module docstring and ``docs/VALIDATION.md``)."""
    ctx = context
    unknown = set(frames) - set(ENTITY_ORDER)
    if unknown:
        raise ValueError(f"unknown entities {sorted(unknown)}; valid: {', '.join(ENTITY_ORDER)}")
    norm: dict[str, pd.DataFrame] = {}
    missing: list[tuple[str, str]] = []
    dtype_f: list[pd.DataFrame] = []
    for ent in ENTITY_ORDER:
        df, miss, dt_f = _normalise(ent, frames.get(ent))
        norm[ent] = df
        missing += [(ent, m) for m in miss]
        dtype_f.append(dt_f)
    ci = _cell_issues(cell_issues)
    line_parts = [norm[e][SOURCE_LINE] for e in ENTITY_ORDER] + [ci["source_line"].dropna().astype("int64")]
    lines = pd.Index(pd.concat(line_parts, ignore_index=True).unique()).sort_values()

    # ---- file-level checks: one clear message, nothing loaded
    if missing:
        cols = ", ".join(f"{e}.{c}" for e, c in missing)
        err = FileRejected(f"required column(s) missing: {cols}", code="missing_column", file=ctx.file_name,
                           column=missing[0][1], hint=get_rule("missing_column").fix)
        return _file_error_result(err, "missing_column", norm, lines)
    centres = pd.concat([norm[e]["centre_id"] for e in ENTITY_ORDER], ignore_index=True).dropna().unique()
    wrong = [c for c in centres if c != ctx.centre_id]
    if wrong:
        err = FileRejected(f"the file carries records of centre(s) {', '.join(map(str, wrong[:5]))}, "
                           f"not of {ctx.centre_id}", code="wrong_centre", file=ctx.file_name, column="centre_id",
                           value=wrong[0], hint=get_rule("wrong_centre").fix)
        return _file_error_result(err, "wrong_centre", norm, lines)
    suspect = column_mixups(norm, ctx.unit_reference)
    if suspect:
        first = suspect[0]
        err = FileRejected("; ".join(c.message for c in suspect), code="unit_profile_suspect", file=ctx.file_name,
                           column=first.column, hint=get_rule("unit_profile_suspect").fix)
        return _file_error_result(err, "unit_profile_suspect", norm, lines)

    # ---- row-level findings
    parts = [ci]
    dtf = pd.concat(dtype_f, ignore_index=True)
    if len(dtf):
        parts.append(_to_issues("dtype", dtf, norm))
    for ent in ENTITY_ORDER:
        if len(norm[ent]):
            for rule, f in schema_findings(ent, norm[ent], ctx).items():
                parts.append(_to_issues(rule, f, norm))
    for rule, fn in ROW_RULES.items():
        f = fn(norm, ctx)
        if len(f):
            parts.append(_to_issues(rule, f, norm))
    issues = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else empty_issues().assign(_row=pd.Series(dtype="int64"))
    # a cell the adapter could not parse is NA in the frame: do not report it again as 'required'
    if len(ci) and len(issues):
        # ...nor the columns derived from that cell: a wide lab cell is the lab row's 'value', a trough
        # cell also carries 'trough_censor'
        col = ci["column_name"].astype("str")
        alias = col.where(~((ci["entity"].astype("str") == "lab") & col.isin(list(ANALYTES))), "value")
        alias = alias.where(col != "trough_ug_ml", "trough_censor")
        both = pd.concat([ci.assign(column_name=col), ci.assign(column_name=alias)], ignore_index=True)
        ci_keys = pd.MultiIndex.from_arrays([both["source_line"].astype("Int64"), both["entity"].astype("str"),
                                             both["column_name"].astype("str")])
        keys = pd.MultiIndex.from_arrays([issues["source_line"].astype("Int64"), issues["entity"].astype("str"),
                                          issues["column_name"].astype("str")])
        dup = (issues["rule"] == "required") & keys.isin(ci_keys)
        issues = issues[~dup]
    issues = _name_lab_columns(issues.reset_index(drop=True), norm["lab"])
    issues, confirmed = _suppress_confirmed(issues, ctx)
    ent_rank = {e: i for i, e in enumerate(ENTITY_ORDER)}
    issues = issues.assign(_e=issues["entity"].map(ent_rank)).sort_values(
        ["source_line", "_e", "severity", "rule"], kind="stable").drop(columns="_e").reset_index(drop=True)

    # ---- decide per source line
    err = issues[issues["severity"] == "error"]
    bad_lines = pd.Index(err["source_line"].dropna().astype("int64").unique())
    n_read = len(lines)
    n_rejected = len(bad_lines)

    rejected_parts = []
    accepted: dict[str, pd.DataFrame] = {}
    warn = issues[issues["severity"] == "warning"]
    for ent in ENTITY_ORDER:
        df = norm[ent]
        is_bad = df[SOURCE_LINE].isin(bad_lines)
        ok = df[~is_bad].copy()
        w = warn[(warn["entity"] == ent) & (warn["_row"] >= 0)]
        if len(w):
            names = w.groupby("_row")["rule"].agg(lambda s: json.dumps(sorted(set(s))))
            ok["warnings"] = ok.index.map(names).astype("object")
            ok["warnings"] = ok["warnings"].where(ok["warnings"].notna(), None).astype("str")
        else:
            ok["warnings"] = pd.Series([None] * len(ok), index=ok.index, dtype="str")
        accepted[ent] = ok.reset_index(drop=True)
        bad = df[is_bad]
        if len(bad):
            e_err = err[err["source_line"].isin(bad[SOURCE_LINE])]
            label = e_err["rule"].where(e_err["entity"] == ent,
                                        e_err["entity"].fillna("file").astype("str") + "." + e_err["rule"])
            lab = pd.DataFrame({"source_line": e_err["source_line"].astype("int64"),
                                "own": e_err["entity"] != ent, "label": label})
            lab = lab.drop_duplicates().sort_values(["source_line", "own", "label"])
            reasons = lab.groupby("source_line")["label"].agg("; ".join)
            rejected_parts.append(pd.DataFrame({
                "entity": ent,
                "source_line": bad[SOURCE_LINE].to_numpy(),
                "centre_id": ctx.centre_id,
                "patient_id": bad["patient_id"].astype("object").to_numpy(),
                "record_json": _records_json(bad[entity_columns(ent) + [SOURCE_LINE]]).to_numpy(),
                "reasons": bad[SOURCE_LINE].map(reasons).to_numpy(),
            }))
    # lines only the adapter saw (no entity row at all) are rejected too
    frame_lines = pd.Index(pd.concat([norm[e][SOURCE_LINE] for e in ENTITY_ORDER]).unique())
    only_ci = ci[ci["source_line"].notna() & ~ci["source_line"].isin(frame_lines) & (ci["severity"] == "error")]
    if len(only_ci):
        g = only_ci.groupby(["source_line", "entity"], dropna=False).agg(
            patient_id=("patient_id", "first"), reasons=("rule", lambda s: "; ".join(sorted(set(s))))).reset_index()
        rejected_parts.append(pd.DataFrame({
            "entity": g["entity"], "source_line": g["source_line"].astype("int64"), "centre_id": ctx.centre_id,
            "patient_id": g["patient_id"],
            "record_json": "{\"source_line\":" + g["source_line"].astype("str") + "}",
            "reasons": g["reasons"]}))
    rejected = pd.concat(rejected_parts, ignore_index=True) if rejected_parts else empty_rejected()
    if len(rejected):
        rejected = rejected.assign(_e=rejected["entity"].map({e: i for i, e in enumerate(ENTITY_ORDER)})).sort_values(
            ["source_line", "_e"], kind="stable").drop(columns="_e").reset_index(drop=True)

    warn_lines = pd.Index(warn["source_line"].dropna().astype("int64").unique()).difference(bad_lines)
    issues_out = issues[ISSUE_COLUMNS].reset_index(drop=True)

    # ---- the centre's policy: too many bad lines rejects the file
    if n_read and n_rejected / n_read > ctx.max_error_fraction:
        e = FileRejected(
            f"{n_rejected} of {n_read} lines ({n_rejected / n_read:.0%}) have errors; the centre's policy "
            f"rejects a file above {ctx.max_error_fraction:.0%}", code="too_many_errors", file=ctx.file_name,
            hint=get_rule("too_many_errors").fix)
        return _file_error_result(e, "too_many_errors", norm, lines, issues=issues_out, rejected=rejected)

    return ValidationResult(
        accepted=accepted, rejected=rejected, issues=issues_out, file_error=None,
        rows_read=n_read, rows_loaded=n_read - n_rejected, rows_warned=len(warn_lines),
        rows_rejected=n_rejected, warnings_suppressed=len(confirmed), rule_counts=rule_counts(issues_out),
        confirmed=confirmed[ISSUE_COLUMNS].reset_index(drop=True),
    )


def clean_result(accepted: dict, rows_read: int) -> ValidationResult:
    """The result of a file with no finding at all (what :func:`validate_file` returns for it): every
    line loads; ``accepted`` may hold Arrow tables (the columnar path, ``tdm/columnar``)."""
    issues = empty_issues()
    return ValidationResult(accepted=accepted, rejected=empty_rejected(), issues=issues, file_error=None,
                            rows_read=rows_read, rows_loaded=rows_read, rows_warned=0, rows_rejected=0,
                            rule_counts=rule_counts(issues))


__all__ = ["ValidationResult", "clean_result", "ValidationContext", "validate_file", "ISSUE_COLUMNS", "REJECTED_COLUMNS",
           "FINDING_IDENTITY", "identity_keys", "rule_counts", "schema_findings", "schema_issues", "RULES"]
