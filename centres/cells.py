"""The cell parsers resolved once per *distinct* cell text: dates in a profile's formats, code maps,
yes/no words, test names, and the words that explain a bad cell.

The one path (:mod:`centres.sql_harmonise`) compiles numbers, the trough, units and the pseudonym
to SQL (:mod:`centres.sql_cells`); what needs Python's ``strptime``, the profile's label maps or
a reasoned message is done here, over the few distinct texts of a column
(:mod:`centres.sql_labels` builds the tables the SQL joins back).  Each parser exists once;
:mod:`synth` writes its exports with the same code maps.
"""

from __future__ import annotations

import re

import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN
from centres.profile import CentreProfile, ColumnSpec, norm_label

#: Every cell-level code the adapter emits (each a rule of ``validators.registry``).
CELL_RULES = {
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


def entity_of(target: str, kind: str) -> str:
    """The entity table a finding about ``target`` belongs to (a long lab file's columns are all lab)."""
    if kind == "labs_long" or target in ANALYTES or target == LAB_DATE_COLUMN:
        return "lab"
    for entity, vs in BY_ENTITY.items():
        if entity != "lab" and any(v.name == target for v in vs):
            return entity
    return "lab"


def variable(target: str):
    """The dictionary variable (or analyte) named ``target``, None when it is not one."""
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
    v = variable(target)
    return v.dtype if v is not None else "str"


def norm_series(s: pd.Series) -> pd.Series:
    """norm_label per distinct value, mapped back (fast on repetitive columns)."""
    uniq = s.unique()
    return s.map({u: norm_label(u) for u in uniq}).astype("str")


# -- why a cell is not a number or a date --------------------------------------------------------

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


def explain_number(t: pd.Series, bad: pd.Series, decimal: str, base: str = "is not a number") -> pd.Series | str:
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


def explain_date(t: pd.Series, bad: pd.Series, base: str) -> pd.Series | str:
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


# -- labels and dates, per distinct cell ----------------------------------------------------------

def parse_dates(t: pd.Series, formats: list[str], fallbacks: list[str]) -> tuple[pd.Series, pd.Series]:
    """Trimmed cells as ``datetime64[us]`` by the first of ``formats`` then ``fallbacks`` that reads
    each; (values, mask of non-empty cells no format read)."""
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


def parse_bool(t: pd.Series, table: dict[str, bool]) -> tuple[pd.Series, pd.Series]:
    """Trimmed cells by the profile's yes/no words (``norm_label``-matched); (values, mask of unknown words)."""
    n = norm_series(t)
    vals = n.map(table)
    bad = (n != "") & vals.isna()
    return vals.astype("boolean"), bad


def code_value(n: str, label_map: dict[str, str], targets: list[str], canon: dict[str, dict[str, str]],
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


def canon_codes(targets: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for t in targets:
        if t == "analyte":
            out[t] = {a.casefold(): a for a in ANALYTES}
        else:
            v = variable(t)
            out[t] = {c.casefold(): c for c in (v.codes or ())} if v is not None else {}
    return out


def parse_codes(t: pd.Series, col: ColumnSpec, profile: CentreProfile) -> tuple[dict[str, pd.Series], pd.Series, pd.Series]:
    """Returns ({target: codes}, bad mask, dropped mask)."""
    n = norm_series(t)
    label_map = profile.code_map(col)
    canon = canon_codes(col.to)
    drop = {norm_label(x) for x in col.drop}
    table: dict[str, dict[str, str] | None] = {}
    for u in n.unique():
        if u == "" or u in drop:
            continue
        table[u] = code_value(u, label_map, col.to, canon, col.absent)
    bad_keys = {u for u, r in table.items() if r is None}
    bad = n.isin(bad_keys) if bad_keys else pd.Series(False, index=t.index)
    dropped = n.isin(drop) if drop else pd.Series(False, index=t.index)
    out = {}
    for target in col.to:
        m = {u: r[target] for u, r in table.items() if r is not None and target in r}
        out[target] = n.map(m).astype("str")
    return out, bad, dropped


def expected_labels(col: ColumnSpec, profile: CentreProfile) -> str:
    parts: list[str] = []
    for target in col.to:
        if target == "analyte":
            parts.extend(ANALYTES)
            continue
        v = variable(target)
        if v is not None and v.codes:
            parts.extend(v.codes)
    labels = list(profile.labels_for(col).items())
    text = ", ".join(dict.fromkeys(parts))
    if labels:
        lab = "; ".join(f"{code}: {'/'.join(ls)}" for code, ls in labels)
        text = f"{text} (centre labels {lab})" if text else lab
    return text[:300]


# -- how a format is shown ------------------------------------------------------------------------

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


__all__ = ["CELL_RULES", "CODE_COMBINATIONS", "EXCEL_ERRORS", "FORMULA_WITHOUT_VALUE", "INVISIBLE",
           "ISO_DATETIME_FALLBACKS", "ISO_DATE_FALLBACKS", "PLACEHOLDERS", "canon_codes", "cell_kind", "code_value",
           "entity_of", "expected_labels", "explain_date", "explain_number", "human_format",
           "human_formats", "norm_series", "parse_bool", "parse_codes", "parse_dates", "variable", "visible"]
