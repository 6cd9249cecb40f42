"""The synthetic cohort rendered as each centre's export strings: the centre profile run backwards.

Each column spec says which header to write, in which unit, date format and local labels (a random
one of the profile's labels for a code, so ``L3``, ``ileocolonic`` and ``L3+L4a`` all appear).  A
profile with a ``wide`` file gets one wide file; otherwise one file per kind (baseline, visit, elisa,
labs_long).  Long lab exports also carry tests the profile drops (Hb, AST...), and the knuh LIS
switched CRP to mg/L in 2015.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schema.dictionary import ANALYTES, LAB_DATE_COLUMN
from schema import units as U
from centres.cells import cell_kind
from centres.profile import CentreProfile, ColumnSpec, FileSpec, norm_label
from synth.cohort import Cohort

# LIS quirks of the built-in long export (units as reported, a unit change in 2015)
LIS_UNITS = {"wbc_per_ul": "10^3/uL", "platelets_10e3_ul": "10^3/uL", "esr_mm_h": "mm/hr"}
LIS_UNIT_SWITCH = {"knuh": {"crp_mg_dl": (np.datetime64("2015-01-01"), "mg/L")}}
OTHER_TESTS = {"hb": ("g/dL", 11.0, 15.5), "ast": ("IU/L", 12, 45), "alt": ("IU/L", 8, 50),
               "bun": ("mg/dL", 6, 20), "cr": ("mg/dL", 0.3, 0.9), "na": ("mmol/L", 135, 145),
               "k": ("mmol/L", 3.5, 5.1)}



@dataclass
class ExportFile:
    """One export being written: its strings under the source headers, plus _uid, _pos, _pid."""

    centre_id: str
    spec: FileSpec
    frame: pd.DataFrame  # strings under source headers + _uid, _pos, _pid
    header_of: dict[str, str]
    col_of: dict[str, ColumnSpec]
    name: str
    fmt: str
    encoding: str
    extra: dict = field(default_factory=dict)


def fmt_num(values) -> pd.Series:
    """Shortest plain decimal text (at most 6 decimals); empty for missing (vectorised)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64")
    arr = v.round(6).to_numpy()
    missing = np.isnan(arr)
    text = pd.Series(np.char.mod("%.6f", np.where(missing, 0.0, arr)), index=v.index, dtype="str")
    text = text.str.rstrip("0").str.rstrip(".").replace("-0", "0")
    return text.where(~missing, "").astype("str")


def labels_of(profile: CentreProfile, col: ColumnSpec, code: str) -> list[str]:
    labels = profile.labels_for(col).get(code)
    return labels if labels else [code]


def _render_codes(rng, profile: CentreProfile, col: ColumnSpec, frame: pd.DataFrame) -> pd.Series:
    n = len(frame)
    pieces = []
    for target in col.to:
        codes = frame[target].astype("str").fillna("")
        absent = col.absent.get(target)
        out = pd.Series("", index=frame.index, dtype="str")
        for code in codes.unique():
            if code == "" or code == absent:
                continue
            sel = (codes == code).to_numpy()
            labels = labels_of(profile, col, code)
            out[sel] = np.asarray(labels, dtype=object)[rng.integers(0, len(labels), int(sel.sum()))]
        pieces.append(out)
    if len(pieces) == 1:
        return pieces[0]
    seps = np.asarray(["+", " "], dtype=object)[rng.integers(0, 2, n)]
    res = pieces[0]
    for p in pieces[1:]:
        joined = res + pd.Series(seps, index=frame.index) + p
        res = res.where(p == "", joined.where(res != "", p))
    return res


def _render_column(rng, profile: CentreProfile, spec: FileSpec, col: ColumnSpec, frame: pd.DataFrame) -> pd.Series:
    target = col.target
    if col.codes is not None:
        return _render_codes(rng, profile, col, frame)
    s = frame[target] if target in frame else pd.Series(pd.NA, index=frame.index)
    kind = cell_kind(target)
    if kind == "date":
        fmt = profile.date_formats_for(spec, col)[0]
        return s.dt.strftime(fmt).astype("str").fillna("")
    if kind == "datetime":
        fmt = profile.datetime_formats_for(spec, col)[0]
        return s.dt.strftime(fmt).astype("str").fillna("")
    if kind == "bool":
        b = profile.booleans_for(col)
        return s.astype("boolean").map({True: b.true[0], False: b.false[0]}).astype("str").fillna("")
    if kind in ("int", "float"):
        x = s.astype("float64")
        if col.unit is not None:
            x = U.from_canonical(x, col.unit, U.CANONICAL_UNIT[target])
        return fmt_num(x)
    if kind == "trough":
        x = s.astype("float64")
        if col.unit is not None:
            x = U.from_canonical(x, col.unit, U.CANONICAL_UNIT[target])
        num = fmt_num(x)
        censor = frame["trough_censor"].astype("str").fillna("=")
        prefix = censor.map({"<": "<", ">": ">"}).astype("str").fillna("")
        return (prefix + num).where(num != "", "")
    if kind == "code":
        return s.astype("str").fillna("")
    return s.astype("str").fillna("")


def _filler(rng, n: int) -> np.ndarray:
    notes = np.asarray(["", "f/u", "추적관찰", "재검"], dtype=object)
    return notes[np.where(rng.random(n) < 0.05, rng.integers(1, 4, n), 0)]


def _wide_truth(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    key = ["centre_id", "patient_id"]
    wide = parts["patient"].merge(parts["assessment"], on=key, how="left")
    wide = wide.merge(parts["elisa"], on=key, how="left")
    labs = parts["lab"]
    if len(labs):
        piv = labs.pivot_table(index=key + ["sample_date"], columns="analyte", values="value", aggfunc="first")
        piv = piv.reset_index().rename(columns={"sample_date": LAB_DATE_COLUMN})
        # one panel per assessment: the latest on or before the infusion date
        piv = piv.merge(parts["assessment"][key + ["infusion_date"]], on=key)
        piv = piv[piv[LAB_DATE_COLUMN] <= piv["infusion_date"]].sort_values(LAB_DATE_COLUMN)
        piv = piv.drop_duplicates(key, keep="last").drop(columns=["infusion_date"])
        wide = wide.merge(piv, on=key, how="left")
    for a in ANALYTES:
        if a not in wide:
            wide[a] = np.nan
    if LAB_DATE_COLUMN not in wide:
        wide[LAB_DATE_COLUMN] = pd.NaT
    return wide.sort_values("patient_id", kind="stable").reset_index(drop=True)


def _file_name(spec: FileSpec, profile: CentreProfile, seed: int, fmt: str | None) -> tuple[str, str]:
    base = spec.example_name or f"{profile.centre_id}_{spec.name}.{'xlsx' if spec.csv is None else 'csv'}"
    stem, suffix = os.path.splitext(base)
    if fmt is not None:
        suffix = ".xlsx" if fmt == "xlsx" else ".csv"
    name = f"{stem}_seed{seed}{suffix}"
    if profile.match(name) is not spec:
        name = stem + suffix
    chosen = spec.reading_format(name)
    return name, chosen


def render_files(rng, cohort: Cohort, profile: CentreProfile, seed: int, file_format: str | None,
                  encoding: str | None) -> list[ExportFile]:
    parts = cohort.for_centre(profile.centre_id)
    kinds = {s.kind: s for s in profile.files}
    specs = [kinds["wide"]] if "wide" in kinds else [s for s in profile.files]
    out: list[ExportFile] = []
    seen_kinds: set[str] = set()
    for spec in specs:
        if spec.kind in seen_kinds:
            continue
        seen_kinds.add(spec.kind)
        if spec.kind == "wide":
            truth = _wide_truth(parts)
        elif spec.kind == "baseline":
            truth = parts["patient"]
        elif spec.kind == "visit":
            truth = parts["assessment"]
        elif spec.kind == "elisa":
            truth = parts["elisa"]
        else:
            truth = parts["lab"]
        name, fmt = _file_name(spec, profile, seed, file_format)
        enc = encoding or (spec.csv.encoding[0] if spec.csv is not None else "utf-8")
        if spec.kind == "labs_long":
            frame, header_of, col_of = _render_long(rng, profile, spec, truth)
        else:
            frame, header_of, col_of = _render_rows(rng, profile, spec, truth)
        frame["_uid"] = np.arange(len(frame))
        frame["_pos"] = np.arange(len(frame), dtype=float)
        out.append(ExportFile(profile.centre_id, spec, frame, header_of, col_of, name, fmt, enc))
    return out


def _render_rows(rng, profile, spec, truth):
    cols: dict[str, pd.Series] = {}
    header_of, col_of = {}, {}
    for col in spec.all_columns():
        cols[col.source] = _render_column(rng, profile, spec, col, truth).to_numpy()
        for t in col.to:
            header_of[t] = col.source
            col_of[t] = col
    for h in spec.ignore_columns:
        cols[h] = _filler(rng, len(truth))
    frame = pd.DataFrame(cols, index=range(len(truth))).astype("str")
    frame["_pid"] = truth["patient_id"].astype("str").to_numpy()
    return frame, header_of, col_of


def _render_long(rng, profile, spec, truth):
    header_of = {t: c.source for c in spec.all_columns() for t in c.to}
    col_of = {t: c for c in spec.all_columns() for t in c.to}
    a_col = col_of["analyte"]
    unit = truth["analyte"].map({a: LIS_UNITS.get(a, v.unit) for a, v in ANALYTES.items()}).astype("str")
    sw = LIS_UNIT_SWITCH.get(profile.centre_id, {})
    for analyte, (since, new_unit) in sw.items():
        sel = (truth["analyte"] == analyte) & (truth["sample_date"] >= pd.Timestamp(since))
        unit = unit.where(~sel, new_unit)
    if spec.analyte_units and "unit" not in col_of:
        unit = truth["analyte"].map({a: spec.analyte_units.get(a, v.unit) for a, v in ANALYTES.items()}).astype("str")
    value = truth["value"].astype("float64").to_numpy().copy()
    pairs = truth["analyte"].astype("str") + "|" + unit
    for pair in pairs.unique():
        analyte, u = pair.split("|", 1)
        sel = (pairs == pair).to_numpy()
        value[sel] = U.from_canonical(value[sel], u, ANALYTES[analyte].unit)
    # sample times 07:00-11:00 on the sample date; one time per patient and date
    key = truth["patient_id"].astype("str") + "|" + truth["sample_date"].astype("str")
    codes, uniq = pd.factorize(key)
    minutes = rng.integers(7 * 60, 11 * 60, len(uniq))[codes]
    dt = truth["sample_date"].to_numpy().astype("datetime64[m]") + minutes * np.timedelta64(1, "m")
    test = truth["analyte"].map({a: labels_of(profile, a_col, a)[0] for a in ANALYTES}).astype("str")
    long = pd.DataFrame({"pid": truth["patient_id"].astype("str").to_numpy(), "test": test.to_numpy(),
                         "dt": dt, "value": value, "unit": unit.to_numpy()})
    # other tests the LIS sends and the profile drops
    drops = [d for d in a_col.drop if norm_label(d) in OTHER_TESTS]
    if drops:
        first = ~pd.Series(codes).duplicated().to_numpy()
        pan = long[first]
        extra = []
        for d in drops:
            u, lo, hi = OTHER_TESTS[norm_label(d)]
            extra.append(pd.DataFrame({"pid": pan["pid"].to_numpy(), "test": d, "dt": pan["dt"].to_numpy(),
                                       "value": np.round(rng.uniform(lo, hi, len(pan)), 1), "unit": u}))
        long = pd.concat([long] + extra, ignore_index=True)
    long = long.sort_values(["dt", "pid", "test"], kind="stable").reset_index(drop=True)
    cols = {}
    for col in spec.all_columns():
        t = col.target
        if t == "patient_id":
            cols[col.source] = long["pid"]
        elif t == "analyte":
            cols[col.source] = long["test"]
        elif t == "sample_date":
            fmt = (col.formats or profile.datetime_formats_for(spec))[0]
            cols[col.source] = pd.Series(long["dt"].astype("datetime64[us]")).dt.strftime(fmt)
        elif t == "value":
            cols[col.source] = fmt_num(long["value"])
        elif t == "unit":
            cols[col.source] = long["unit"]
    for h in spec.ignore_columns:
        cols[h] = ""
    frame = pd.DataFrame(cols).astype("str")
    frame["_pid"] = long["pid"].to_numpy()
    # canonical analyte per row (None for dropped tests) for error injection
    amap = {norm_label(lbl): a for a in ANALYTES for lbl in labels_of(profile, a_col, a)}
    frame["_analyte"] = long["test"].map({t: amap.get(norm_label(t), "") for t in long["test"].unique()}).astype("str")
    frame["_unit"] = long["unit"].astype("str").to_numpy()
    return frame, header_of, col_of


__all__ = ["ExportFile", "fmt_num", "labels_of", "render_files"]
