"""The pure, vectorised mapping of a centre's export onto harmonised entity frames.

``harmonise(raw, spec, profile, key)`` takes the strings :func:`tdm.centres.readers.read_export`
returned and gives one frame per entity the file kind carries (``docs/ARCHITECTURE.md``: exactly
``entity_columns(entity)`` + ``source_line``, dictionary dtypes, canonical units, normalised codes,
pseudonymised ``patient_id``, ``centre_id`` from the profile).  No I/O, no row loops: every
column is parsed with pandas vectorised operations, and anything label-like (codes, booleans,
units) is resolved once per *distinct* value and mapped back, so a 1e6-row lab export with a
dozen test names costs a dozen lookups.

Two kinds of problem:

* **file-level** (a mapped column is missing, the file has columns the profile does not know):
  :class:`~tdm.errors.MappingError` with code ``missing_columns`` / ``unknown_columns``;
* **cell-level** (a date that does not parse, an unknown code, text in a number column, a unit
  that cannot be converted): the cell becomes missing and one row is added to ``cell_issues``
  (columns :data:`ISSUE_COLUMNS`, rules :data:`RULES`); the file is still harmonised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN, entity_columns
from schema.models import PANDAS_DTYPES, SOURCE_LINE
from tdm.centres import units as U
from tdm.centres.profile import CentreProfile, ColumnSpec, FileSpec, norm_label
from tdm.errors import MappingError
from tdm.privacy import pseudonymise

ISSUE_COLUMNS = ["source_line", "entity", "patient_id", "column_name", "source_column", "value", "rule",
                 "severity", "message", "expected", "fix"]

RULES = {
    "unparseable_date": "a date/time cell does not match the profile's formats",
    "unknown_code": "a code, boolean or test-name cell is not a known label or code",
    "not_a_number": "a numeric cell is not a number",
    "not_an_integer": "an integer cell has a fractional part",
    "unknown_unit": "a lab result's unit cannot be converted to the analyte's canonical unit",
}

# Several codes of one variable written together ("B2/B3", "L4a+L4b") mean the combined code.
CODE_COMBINATIONS: dict[str, dict[frozenset, str]] = {
    "paris_behaviour": {frozenset({"B2", "B3"}): "B2B3"},
    "paris_upper": {frozenset({"L4a", "L4b"}): "L4ab"},
}

# Timestamps written by spreadsheets (native date cells) are always understood.
ISO_DATE_FALLBACKS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
ISO_DATETIME_FALLBACKS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

_TOKEN_SPLIT = re.compile(r"[\s+/,;&]+")
_TROUGH = r"^(<=?|>=?|≤|≥)?\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)$"


@dataclass(frozen=True)
class Harmonised:
    """Harmonised frames of one file, the cell-level issues found, and how many data rows were read."""

    frames: dict[str, pd.DataFrame]
    cell_issues: pd.DataFrame
    rows_read: int


def empty_issues() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in ISSUE_COLUMNS})
    df["source_line"] = df["source_line"].astype("int64")
    return df


def _entity_of(target: str, kind: str) -> str:
    if kind == "labs_long" or target in ANALYTES or target == LAB_DATE_COLUMN:
        return "lab"
    for entity, vs in BY_ENTITY.items():
        if entity != "lab" and any(v.name == target for v in vs):
            return entity
    return "lab"


def _var(target: str):
    for entity, vs in BY_ENTITY.items():
        for v in vs:
            if v.name == target and entity != "lab":
                return v
    if target in ANALYTES:
        return ANALYTES[target]
    return None


def cell_kind(target: str) -> str:
    """How a cell of ``target`` is read and written: ``date`` for the lab date, ``trough`` for the
    censorable trough (``<0.4``), else the dictionary dtype (``str`` when unknown)."""
    if target == LAB_DATE_COLUMN:
        return "date"
    if target == "trough_ug_ml":
        return "trough"
    v = _var(target)
    return v.dtype if v is not None else "str"


def _norm_series(s: pd.Series) -> pd.Series:
    """norm_label per distinct value, mapped back (fast on repetitive columns)."""
    uniq = s.unique()
    return s.map({u: norm_label(u) for u in uniq}).astype("str")


@dataclass
class _Ctx:
    raw: pd.DataFrame
    spec: FileSpec
    profile: CentreProfile
    file_name: str
    pid: pd.Series | None = None
    issues: list[pd.DataFrame] = field(default_factory=list)

    def issue(self, bad: pd.Series, *, target: str, col: ColumnSpec, header: str, rule: str,
              message: str, expected: str, fix: str, values: pd.Series | None = None) -> None:
        if not bool(bad.any()):
            return
        idx = bad[bad].index
        vals = (values if values is not None else self.raw[header]).loc[idx].astype("str")
        if isinstance(message, pd.Series):   # a message per cell (see _explain_number/_explain_date)
            message = message.loc[idx].astype("str")
        pid = self.pid.loc[idx] if self.pid is not None else pd.Series(pd.NA, index=idx, dtype="str")
        shown = visible(vals)
        hidden_note = pd.Series("", index=idx).where(shown == vals, " (the value holds invisible characters, shown "
                                                                     "as \\uXXXX: retype it)")
        df = pd.DataFrame({
            "source_line": self.raw[SOURCE_LINE].loc[idx].astype("int64"),
            "entity": _entity_of(target, self.spec.kind),
            "patient_id": pid.astype("str"),
            "column_name": target,
            "source_column": header,
            "value": vals,
            "rule": rule,
            "severity": "error",
            "message": f"column '{header}': " + ("'" + shown + "' " + message + hidden_note),
            "expected": expected,
            "fix": fix,
        }, index=idx)
        self.issues.append(df)


# -- column resolution (file-level checks) ----------------------------------------------------------

def _resolve(raw: pd.DataFrame, spec: FileSpec, file_name: str) -> list[tuple[ColumnSpec, str]]:
    headers = [c for c in raw.columns if c != SOURCE_LINE]
    by_norm = {norm_label(h): h for h in headers}
    resolved: list[tuple[ColumnSpec, str]] = []
    missing: list[str] = []
    used: set[str] = set()
    for col in spec.all_columns():
        h = by_norm.get(norm_label(col.source))
        if h is None:
            if not col.optional:
                missing.append(col.source)
            continue
        resolved.append((col, h))
        used.add(h)
    ignored = {norm_label(x) for x in spec.ignore_columns}
    unknown = [h for h in headers if h not in used and norm_label(h) not in ignored]
    if missing:
        also = f"; the file has unmapped columns {', '.join(map(repr, unknown))}" if unknown else ""
        raise MappingError(
            f"{len(missing)} mapped column(s) missing: {', '.join(map(repr, missing))}{also}",
            code="missing_columns", file=file_name, column=missing[0], value=", ".join(missing),
            hint=f"export the '{spec.name}' file with these column headers as agreed for your centre (was a "
                 "header renamed? name it back, or ask the study's data team to accept the new name)",
        )
    if unknown and spec.unknown_columns == "reject":
        raise MappingError(
            f"{len(unknown)} column(s) not expected in this export: {', '.join(map(repr, unknown))}",
            code="unknown_columns", file=file_name, column=unknown[0], value=", ".join(unknown),
            hint="remove the column from the export, or ask the study's data team to accept it for your "
                 "centre",
        )
    return resolved


# -- cell parsers (Series in, parsed Series + failure mask out) ---------------------------------------

def _stripped(s: pd.Series) -> pd.Series:
    return s.astype("str").fillna("").str.strip()


def _parse_number(t: pd.Series, decimal: str, allow_censor: bool = False) -> tuple[pd.Series, pd.Series]:
    if decimal == ",":
        t = t.str.replace(",", ".", regex=False)
    if allow_censor:
        censored = t.str.startswith(("<", ">"))
        if bool(censored.any()):
            t = t.where(~censored, t.str.replace(r"^[<>]=?\s*", "", regex=True))
    nonempty = t != ""
    num = pd.to_numeric(t.where(nonempty), errors="coerce").astype("float64")
    bad = nonempty & ~(num.notna() & np.isfinite(num))
    num = num.where(~bad)
    return num, bad


# Why a cell is not a number/date, in words a data manager can act on (appended to the message).
# the workbook reader keeps a formula cell saved without its value as its formula text ("=SUM(B2:F2)")
FORMULA_WITHOUT_VALUE = ("it is a formula without a stored value (the workbook was saved without calculating it); "
                         "open it in Excel, let it calculate and save it with values, or paste the values")
# characters that do not show on screen; shown as \\uXXXX in messages, as repr() shows them in headers
INVISIBLE = (r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00a0\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f"
             r"\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0]")


def visible(values: pd.Series) -> pd.Series:
    """``values`` with invisible characters written as ``\\u200b`` (a code 'F' + zero-width space
    otherwise reads "'F' is not a known code")."""
    hidden = values.str.contains(INVISIBLE, regex=True)
    if not bool(hidden.any()):
        return values
    shown = values[hidden].str.replace(INVISIBLE, lambda m: f"\\u{ord(m.group()):04x}", regex=True)
    return values.where(~hidden, shown)


EXCEL_ERRORS = r"^#(?:N/A|DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)$"
PLACEHOLDERS = {"n/a", "na", "n.a.", "-", "--", ".", "?", "nd", "n.d.", "none", "null", "nan", "missing",
                "unknown", "not done", "미시행", "없음"}
MAX_INT = 2 ** 53      # larger "whole numbers" are not counts or scores, and do not fit the warehouse


def _explain(t: pd.Series, bad: pd.Series, base: str, reasons: list) -> pd.Series | str:
    """``base`` per bad cell, followed by the first matching reason (a str or a per-cell Series)."""
    if not bool(bad.any()):
        return base
    msg = pd.Series(base, index=t.index, dtype="object")
    done = ~bad
    for mask, why in reasons:
        hit = mask.fillna(False).astype(bool) & ~done
        if isinstance(why, pd.Series):
            why = why.reindex(t.index).astype("str")
        msg = msg.where(~hit, base + ": " + why)
        done = done | hit
    return msg.astype("str")


def _explain_number(t: pd.Series, bad: pd.Series, decimal: str, base: str = "is not a number") -> pd.Series | str:
    if not bool(bad.any()):
        return base
    reasons = [
        (t.str.fullmatch(EXCEL_ERRORS, case=False), "it is an Excel error cell (the spreadsheet formula failed); "
                                                      "export the value, or leave the cell empty"),
        (t.str.casefold().isin(PLACEHOLDERS), "it is a placeholder for a missing value; leave the cell empty "
                                               "instead"),
        (t.str.startswith("="), FORMULA_WITHOUT_VALUE),
    ]
    if decimal == ".":
        reasons += [
            (t.str.fullmatch(r"[-+<>]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"),
             "it has a thousands separator (or a decimal comma); write the number without ',' "
             "(e.g. 9780, 4.5)"),
            (t.str.fullmatch(r"[-+<>]?\d*,\d+"), "it uses a decimal comma; write a decimal point (e.g. 4.5)"),
        ]
    reasons.append((t.str.fullmatch(r"[-+]?(?:inf(?:inity)?|nan)", case=False), "not a finite number"))
    return _explain(t, bad, base, reasons)


def _explain_date(t: pd.Series, bad: pd.Series, base: str) -> pd.Series | str:
    if not bool(bad.any()):
        return base
    num = pd.to_numeric(t.where(bad & t.str.fullmatch(r"\d{5}(?:\.\d+)?")), errors="coerce")
    serial = num.between(10000, 80000)
    as_date = (pd.Timestamp("1899-12-30") + pd.to_timedelta(num.where(serial).fillna(0).astype("int64"), unit="D"))
    reasons = [
        (serial, "it looks like an Excel serial day number (" + as_date.dt.strftime("%Y-%m-%d")
         + "); format the column as dates in the spreadsheet before exporting"),
        (t.str.fullmatch(EXCEL_ERRORS, case=False), "it is an Excel error cell (the spreadsheet formula failed)"),
        (t.str.casefold().isin(PLACEHOLDERS), "it is a placeholder for a missing value; leave the cell empty "
                                               "instead"),
        (t.str.startswith("="), FORMULA_WITHOUT_VALUE),
    ]
    return _explain(t, bad, base, reasons)


def _parse_dates(t: pd.Series, formats: list[str], fallbacks: list[str]) -> tuple[pd.Series, pd.Series]:
    nonempty = t != ""
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[us]")
    todo = nonempty.copy()
    for fmt in list(dict.fromkeys(list(formats) + fallbacks)):
        if not bool(todo.any()):
            break
        parsed = pd.to_datetime(t.where(todo), format=fmt, errors="coerce")
        hit = parsed.notna() & todo
        if bool(hit.any()):
            out = out.where(~hit, parsed.astype("datetime64[us]"))
            todo = todo & ~hit
    return out, todo


def _parse_bool(t: pd.Series, table: dict[str, bool]) -> tuple[pd.Series, pd.Series]:
    n = _norm_series(t)
    vals = n.map(table)
    bad = (n != "") & vals.isna()
    return vals.astype("boolean"), bad


def _code_value(n: str, label_map: dict[str, str], targets: list[str], canon: dict[str, dict[str, str]],
                absent: dict[str, str]) -> dict[str, str] | None:
    """Resolve one normalised cell to {target: code}; None if any part is unknown."""

    def one(token: str) -> tuple[str, str] | None:
        code = label_map.get(token)
        if code is None:
            for t in targets:
                if token in canon[t]:
                    return t, canon[t][token]
            return None
        for t in targets:
            if code in canon[t].values():
                return t, code
        return None

    hit = one(n)
    found: dict[str, set[str]] = {}
    if hit is not None:
        found[hit[0]] = {hit[1]}
    else:
        tokens = [x for x in _TOKEN_SPLIT.split(n) if x]
        if len(tokens) < 2:
            return None
        for tok in tokens:
            h = one(tok)
            if h is None:
                return None
            found.setdefault(h[0], set()).update(_expand(h[0], h[1]))
    out: dict[str, str] = {}
    for t in targets:
        codes = found.get(t)
        if not codes:
            if t in absent:
                out[t] = absent[t]
            continue
        if len(codes) == 1:
            out[t] = next(iter(codes))
        else:
            combined = CODE_COMBINATIONS.get(t, {}).get(frozenset(codes))
            if combined is None:
                return None
            out[t] = combined
    return out


def _expand(target: str, code: str) -> set[str]:
    for parts, combined in CODE_COMBINATIONS.get(target, {}).items():
        if combined == code:
            return set(parts)
    return {code}


def _canon_codes(targets: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for t in targets:
        if t == "analyte":
            out[t] = {a.casefold(): a for a in ANALYTES}
        else:
            v = _var(t)
            out[t] = {c.casefold(): c for c in (v.codes or ())} if v is not None else {}
    return out


def _parse_codes(t: pd.Series, col: ColumnSpec, profile: CentreProfile) -> tuple[dict[str, pd.Series], pd.Series, pd.Series]:
    """Returns ({target: codes}, bad mask, dropped mask)."""
    n = _norm_series(t)
    label_map = profile.code_map(col)
    canon = _canon_codes(col.to)
    drop = {norm_label(x) for x in col.drop}
    table: dict[str, dict[str, str] | None] = {}
    for u in n.unique():
        if u == "" or u in drop:
            continue
        table[u] = _code_value(u, label_map, col.to, canon, col.absent)
    bad_keys = {u for u, r in table.items() if r is None}
    bad = n.isin(bad_keys) if bad_keys else pd.Series(False, index=t.index)
    dropped = n.isin(drop) if drop else pd.Series(False, index=t.index)
    out = {}
    for target in col.to:
        m = {u: r[target] for u, r in table.items() if r is not None and target in r}
        out[target] = n.map(m).astype("str")
    return out, bad, dropped


def _parse_trough(t: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    if decimal == ",":
        t = t.str.replace(",", ".", regex=False)
    m = t.str.extract(_TROUGH)
    num = pd.to_numeric(m[1], errors="coerce").astype("float64")
    sign = m[0].fillna("")
    censor = pd.Series(np.where(sign.str.startswith(("<", "≤")), "<",
                                np.where(sign.str.startswith((">", "≥")), ">", "=")), index=t.index, dtype="str")
    censor = censor.where(num.notna())
    bad = (t != "") & num.isna()
    return num, censor, bad


def _expected_labels(col: ColumnSpec, profile: CentreProfile) -> str:
    parts: list[str] = []
    for target in col.to:
        if target == "analyte":
            parts.extend(ANALYTES)
            continue
        v = _var(target)
        if v is not None and v.codes:
            parts.extend(v.codes)
    labels = list(profile.labels_for(col).items())
    text = ", ".join(dict.fromkeys(parts))
    if labels:
        lab = "; ".join(f"{code}: {'/'.join(ls)}" for code, ls in labels)
        text = f"{text} (centre labels {lab})" if text else lab
    return text[:300]


# -- the mapping ---------------------------------------------------------------------------------------

_FORMAT_TOKENS = (("%Y", "YYYY"), ("%y", "YY"), ("%m", "MM"), ("%d", "DD"), ("%H", "hh"), ("%I", "hh"),
                  ("%M", "mm"), ("%S", "ss"), ("%f", "ffffff"), ("%p", "AM/PM"), ("%b", "Mon"), ("%B", "Month"),
                  ("%%", "%"))


def human_format(fmt: str) -> str:
    """A strptime format as a data manager reads it: ``%d.%m.%Y %H:%M`` -> ``DD.MM.YYYY hh:mm``."""
    for token, text in _FORMAT_TOKENS:
        fmt = fmt.replace(token, text)
    return fmt


def human_formats(fmts) -> str:
    return " or ".join(dict.fromkeys(human_format(f) for f in fmts))


def harmonise(raw: pd.DataFrame, spec: FileSpec, profile: CentreProfile, key: bytes, *,
              file_name: str | None = None) -> Harmonised:
    """Map one export (strings + ``source_line``) onto harmonised frames; pure and vectorised."""
    file_name = file_name or raw.attrs.get("source_file") or "<frame>"
    if SOURCE_LINE not in raw.columns:
        raise ValueError("raw frame needs a source_line column (use read_export)")
    raw = raw.reset_index(drop=True)
    resolved = _resolve(raw, spec, file_name)
    ctx = _Ctx(raw=raw, spec=spec, profile=profile, file_name=file_name)
    by_target = {t: (col, h) for col, h in resolved for t in col.to}
    if "patient_id" in by_target:
        ctx.pid = pseudonymise(_stripped(raw[by_target["patient_id"][1]]), key)
    else:
        ctx.pid = pd.Series(pd.NA, index=raw.index, dtype="str")
    if spec.kind == "labs_long":
        frames = {"lab": _long_labs(ctx, by_target)}
    else:
        frames = _wide_like(ctx, resolved)
    issues = pd.concat(ctx.issues, ignore_index=False) if ctx.issues else empty_issues()
    if len(issues):
        issues = issues.sort_values(["source_line"], kind="stable").reset_index(drop=True)
        issues["source_line"] = issues["source_line"].astype("int64")
        for c in ISSUE_COLUMNS:
            if c != "source_line":
                issues[c] = issues[c].astype("str")
    return Harmonised(frames=frames, cell_issues=issues[ISSUE_COLUMNS], rows_read=len(raw))


def _finalise(entity: str, data: dict[str, Any], index: pd.Index, source_line: pd.Series) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for v in BY_ENTITY[entity]:
        dtype = PANDAS_DTYPES[v.dtype]
        value = data.get(v.name)
        if isinstance(value, pd.Series):
            s = value.reindex(index)
        else:
            s = pd.Series([value] * len(index) if value is not None else pd.NA, index=index)
        if dtype == "boolean":
            s = s.astype("boolean")
        elif dtype == "Int64":
            s = pd.to_numeric(s, errors="coerce")
            s = s.where(s.abs() <= MAX_INT).astype("Int64")   # never an overflow error for a huge cell
        elif dtype == "float64":
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif dtype.startswith("datetime64"):
            s = pd.to_datetime(s, errors="coerce").astype(dtype)
        else:
            s = s.astype("str")
        cols[v.name] = s
    cols[SOURCE_LINE] = source_line.reindex(index).astype("int64")
    out = pd.DataFrame(cols, index=index)
    return out.reset_index(drop=True)


def _parse_column(ctx: _Ctx, col: ColumnSpec, header: str, values: dict[str, pd.Series],
                  nonempty: dict[str, pd.Series]) -> None:
    t = _stripped(ctx.raw[header])
    profile, spec = ctx.profile, ctx.spec
    decimal = spec.csv.decimal if spec.csv is not None else "."
    target = col.target
    for tg in col.to:
        nonempty[tg] = t != ""
    if col.codes is not None:
        parsed, bad, _ = _parse_codes(t, col, profile)
        values.update(parsed)
        ctx.issue(bad, target=target, col=col, header=header, rule="unknown_code",
                  message=f"is not a known code for {'/'.join(col.to)}",
                  expected=_expected_labels(col, profile),
                  fix="write one of the values under 'expected'; if this label is right at your centre, ask the "
                      "study's data team to accept it")
        return
    if target == "patient_id":
        values[target] = ctx.pid
        return
    kind = cell_kind(target)
    if kind in ("str",):
        values[target] = t.where(t != "").astype("str")
    elif kind == "code":
        # a code column without a code map: canonical codes only (case-insensitive)
        col2 = col.model_copy(update={"codes": {}})
        parsed, bad, _ = _parse_codes(t, col2, profile)
        values.update(parsed)
        ctx.issue(bad, target=target, col=col, header=header, rule="unknown_code",
                  message=f"is not a known code for {target}", expected=_expected_labels(col, profile),
                  fix="write one of the values under 'expected'; if this label is right at your centre, ask the "
                      "study's data team to accept it")
    elif kind == "bool":
        b = profile.booleans_for(col)
        parsed, bad = _parse_bool(t, b.table())
        values[target] = parsed
        ctx.issue(bad, target=target, col=col, header=header, rule="unknown_code",
                  message="is not a yes/no value", expected=f"true: {'/'.join(b.true)}; false: {'/'.join(b.false)}",
                  fix="write one of the yes/no words under 'expected'")
    elif kind in ("int", "float"):
        num, bad = _parse_number(t, decimal)
        if col.unit is not None:
            num = U.to_canonical(num, col.unit, U.CANONICAL_UNIT[target])
        if kind == "int":
            huge = num.notna() & (num.abs() > MAX_INT)
            ctx.issue(huge, target=target, col=col, header=header, rule="not_a_number",
                      message="is too large to be a whole number for this column", expected="an integer",
                      fix="correct the value")
            num = num.where(~huge)
            frac = num.notna() & (num != num.round())
            ctx.issue(frac, target=target, col=col, header=header, rule="not_an_integer",
                      message="is not a whole number", expected="an integer", fix="correct the value")
            num = num.where(~frac)
        values[target] = num
        ctx.issue(bad, target=target, col=col, header=header, rule="not_a_number",
                  message=_explain_number(t, bad, decimal), expected=f"a number ({col.unit or U.CANONICAL_UNIT.get(target, '')})".replace(" ()", ""),
                  fix="write a plain number (decimal point '" + decimal + "'), leave the cell empty if unknown")
    elif kind == "trough":
        num, censor, bad = _parse_trough(t, decimal)
        if col.unit is not None:
            num = U.to_canonical(num, col.unit, U.CANONICAL_UNIT[target])
        values[target] = num
        values.setdefault("trough_censor", censor)
        ctx.issue(bad, target=target, col=col, header=header, rule="not_a_number",
                  message=_explain_number(t, bad, decimal, "is not a trough result"),
                  expected="a number, '<LLOQ' (e.g. <0.4) or '>ULOQ' (e.g. >16)",
                  fix="write the result as reported by the ELISA (e.g. 3.2, <0.4, >16)")
    elif kind in ("date", "datetime"):
        if kind == "date":
            fmts = profile.date_formats_for(spec, col)
            parsed, bad = _parse_dates(t, fmts, ISO_DATE_FALLBACKS)
            parsed = parsed.dt.normalize()
        else:
            fmts = profile.datetime_formats_for(spec, col)
            parsed, bad = _parse_dates(t, fmts, ISO_DATETIME_FALLBACKS)
        values[target] = parsed
        ctx.issue(bad, target=target, col=col, header=header, rule="unparseable_date",
                  message=_explain_date(t, bad, f"is not a {'date' if kind == 'date' else 'date and time'} "
                                                "in the expected format"),
                  expected=human_formats(fmts), fix="write the date as under 'expected' (or as YYYY-MM-DD)")
    else:  # pragma: no cover - dictionary dtypes are closed
        values[target] = t


def _wide_like(ctx: _Ctx, resolved: list[tuple[ColumnSpec, str]]) -> dict[str, pd.DataFrame]:
    values: dict[str, pd.Series] = {}
    nonempty: dict[str, pd.Series] = {}
    for col, header in resolved:
        _parse_column(ctx, col, header, values, nonempty)
    if "trough_censor" in values and "trough_ug_ml" in values:
        pass  # an explicit censor column wins (parsed above, setdefault kept it)
    raw = ctx.raw
    idx = raw.index
    src = raw[SOURCE_LINE]
    constants = ctx.profile.constants_for(ctx.spec)
    frames: dict[str, pd.DataFrame] = {}
    base = {"centre_id": ctx.profile.centre_id, "patient_id": ctx.pid}
    for entity in ctx.spec.entities:
        if entity == "lab":
            frames["lab"] = _wide_labs(ctx, values, nonempty)
            continue
        data: dict[str, Any] = dict(base)
        own = [v.name for v in BY_ENTITY[entity] if v.name not in ("centre_id", "patient_id")]
        for name in own:
            if name in values:
                data[name] = values[name]
            elif name in constants:
                data[name] = constants[name]
        if ctx.spec.kind == "wide" and entity != "patient":
            present = [nonempty[n] for n in own if n in nonempty]
            keep = pd.concat(present, axis=1).any(axis=1) if present else pd.Series(False, index=idx)
            rows = idx[keep.to_numpy()]
        else:
            rows = idx
        df = _finalise(entity, data, rows, src)
        if ctx.spec.kind == "wide" and entity == "patient":
            df = df.drop_duplicates(subset=[c for c in df.columns if c != SOURCE_LINE], keep="first")
            df = df.reset_index(drop=True)
        frames[entity] = df
    return frames


def _wide_labs(ctx: _Ctx, values: dict[str, pd.Series], nonempty: dict[str, pd.Series]) -> pd.DataFrame:
    parts = []
    sample_date = values.get(LAB_DATE_COLUMN)
    if sample_date is None:
        sample_date = pd.Series(pd.NaT, index=ctx.raw.index, dtype="datetime64[us]")
    for analyte in ANALYTES:
        if analyte not in values:
            continue
        keep = nonempty[analyte]
        if not bool(keep.any()):
            continue
        parts.append(pd.DataFrame({
            "patient_id": ctx.pid[keep],
            "sample_date": sample_date[keep],
            "analyte": analyte,
            "value": values[analyte][keep],
            SOURCE_LINE: ctx.raw[SOURCE_LINE][keep],
        }))
    if not parts:
        return _finalise("lab", {}, pd.RangeIndex(0), pd.Series(dtype="int64"))
    long = pd.concat(parts).sort_values(SOURCE_LINE, kind="stable").reset_index(drop=True)
    data = {"centre_id": ctx.profile.centre_id, "patient_id": long["patient_id"],
            "sample_date": long["sample_date"], "analyte": long["analyte"], "value": long["value"]}
    return _finalise("lab", data, long.index, long[SOURCE_LINE])


def _long_labs(ctx: _Ctx, by_target: dict[str, tuple[ColumnSpec, str]]) -> pd.DataFrame:
    raw, spec, profile = ctx.raw, ctx.spec, ctx.profile
    decimal = spec.csv.decimal if spec.csv is not None else "."
    # analyte (test name) via the code map; listed other tests are dropped
    col, header = by_target["analyte"]
    t = _stripped(raw[header])
    parsed, bad, dropped = _parse_codes(t, col, profile)
    analyte = parsed["analyte"]
    ctx.issue(bad, target="analyte", col=col, header=header, rule="unknown_code",
              message="is not a known test name", expected=_expected_labels(col, profile),
              fix="check the test name; if it is a test the study collects, ask the study's data team to "
                  "accept this name, otherwise leave the test out of the export")
    # sample date: the date part of the sample date-time
    col_d, header_d = by_target["sample_date"]
    td = _stripped(raw[header_d])
    fmts = (col_d.formats or (profile.datetime_formats_for(spec) + profile.date_formats_for(spec)))
    sample, bad_d = _parse_dates(td, fmts, ISO_DATETIME_FALLBACKS + ISO_DATE_FALLBACKS)
    sample = sample.dt.normalize()
    # values, with leading '<'/'>' of censored results taken at the limit
    col_v, header_v = by_target["value"]
    tv = _stripped(raw[header_v])
    num, bad_v = _parse_number(tv, decimal, allow_censor=True)
    # units: per row when the export has a unit column, else per analyte from the profile
    default_unit = analyte.map(spec.analyte_units).astype("str").fillna("") if spec.analyte_units \
        else pd.Series("", index=raw.index, dtype="str")
    if "unit" in by_target:
        col_u, header_u = by_target["unit"]
        tu = _stripped(raw[header_u])
        unit = tu.where(tu != "", default_unit)
    else:
        header_u = None
        unit = default_unit
    if col_v.unit is not None:
        unit = unit.where(unit != "", col_v.unit)
    value, unknown_unit = U.convert_rows(num, analyte, unit)
    unknown_unit = unknown_unit & num.notna()
    keep = ~dropped
    ctx.issue(bad_d & keep, target="sample_date", col=col_d, header=header_d, rule="unparseable_date",
              message=_explain_date(td, bad_d & keep, "is not a sample date/time in the expected format"),
              expected=human_formats(fmts),
              fix="write the sample time as under 'expected'")
    ctx.issue(bad_v & keep & ~bad, target="value", col=col_v, header=header_v, rule="not_a_number",
              message=_explain_number(tv, bad_v & keep & ~bad, decimal), expected="a number",
              fix="correct the result value")
    if header_u is not None:
        ctx.issue(unknown_unit & keep, target="value", col=by_target["unit"][0], header=header_u,
                  rule="unknown_unit", message="is not a unit the analyte can be converted from",
                  expected="; ".join(f"{a}: {', '.join(U.CONVERSIONS[v.unit])}" for a, v in ANALYTES.items()),
                  fix="write the unit as under 'expected', or ask the study's data team to accept this unit")
    else:
        ctx.issue(unknown_unit & keep, target="value", col=col_v, header=header_v, rule="unknown_unit",
                  message="has no convertible unit", expected="a result unit",
                  fix="export the unit with each result, or ask the study's data team to set the unit for this test")
    rows = raw.index[keep.to_numpy()]
    data = {"centre_id": profile.centre_id, "patient_id": ctx.pid, "sample_date": sample, "analyte": analyte,
            "value": value}
    return _finalise("lab", data, rows, raw[SOURCE_LINE])


__all__ = ["Harmonised", "harmonise", "ISSUE_COLUMNS", "RULES", "CODE_COMBINATIONS", "empty_issues"]
