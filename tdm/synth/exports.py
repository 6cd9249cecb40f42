"""Writing a ground-truth cohort in each centre's own export format, with injected errors.

The writer is driven by the centre profile, run backwards: each column spec says which header to
write, in which unit, date format and local labels (a random one of the profile's labels for a
code, so ``L3``, ``ileocolonic`` and ``L3+L4a`` all appear).  A profile with a ``wide`` file gets
one wide file; otherwise one file per kind (baseline, visit, elisa, labs_long).  Long lab exports
also carry tests the profile drops (Hb, AST...), and the knuh LIS switched CRP to mg/L in 2015.

Error injection works on the rendered strings, one error per patient, and records the exact file
line of every error in :attr:`Manifest.injected` (see :data:`ERROR_KINDS`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN
from tdm.centres import units as U
from tdm.centres.harmonise import _parse_codes
from tdm.centres.profile import CentreProfile, ColumnSpec, FileSpec, norm_label
from tdm.synth.cohort import Cohort

ERROR_KINDS: dict[str, str] = {
    "unit_mixup": "albumin written in the other unit of its column (g/L value in a g/dL column, or the g/dL "
                  "value in a g/L column): the harmonised lab row (analyte albumin_g_dl) at the line has a "
                  "value 10x too high (> 6 g/dL) or 10x too low (< 1 g/dL), outside the dictionary range",
    "code_typo": "a code cell (sex, diagnosis, Paris, indication or ATI) holds a mistyped label: harmonise "
                 "reports a cell issue rule 'unknown_code' at the line for that column and leaves it missing",
    "swapped_dates": "diagnosis_date and ifx_start_date swapped: at the line diagnosis_date > ifx_start_date",
    "missing_required": "a required cell left empty (e.g. sex, birth_date, ifx_start_date, pcdai, ses_cd_total, "
                        "trough): the named column of the entity row at the line is missing",
    "duplicate_row": "a data row exported twice (exact copy on the next line): the recorded line repeats the "
                     "entity key (centre, patient, date[, analyte]) of the line before it",
    "out_of_range_lab": "an implausible lab value (e.g. haematocrit 95 %, WBC 150000 /uL, CRP 600 mg/dL): the "
                        "harmonised lab row at the line is outside the analyte's dictionary range",
    "orphan_visit": "a follow-up visit row for a study number absent from the centre's baseline file: the "
                    "assessment at the line has no patient row (centre, patient_id)",
    "trough_after_infusion": "the trough sample date-time is 1-3 days after the infusion date: at the line the "
                             "ELISA sample date > the patient's infusion_date (no trough on the infusion day)",
    "negative_trough": "the trough result is negative (a sign typo): trough_ug_ml < 0 at the line",
}

INJECTED_COLUMNS = ["kind", "centre_id", "file", "source_line", "entity", "column", "patient_raw_id", "description"]

# implausible values (canonical units) for out_of_range_lab
IMPLAUSIBLE = {"haematocrit_pct": 95.0, "wbc_per_ul": 150000.0, "platelets_10e3_ul": 2500.0,
               "esr_mm_h": 250.0, "crp_mg_dl": 600.0}

# LIS quirks of the built-in long export (units as reported, a unit change in 2015)
LIS_UNITS = {"wbc_per_ul": "10^3/uL", "platelets_10e3_ul": "10^3/uL", "esr_mm_h": "mm/hr"}
LIS_UNIT_SWITCH = {"knuh": {"crp_mg_dl": (np.datetime64("2015-01-01"), "mg/L")}}
OTHER_TESTS = {"hb": ("g/dL", 11.0, 15.5), "ast": ("IU/L", 12, 45), "alt": ("IU/L", 8, 50),
               "bun": ("mg/dL", 6, 20), "cr": ("mg/dL", 0.3, 0.9), "na": ("mmol/L", 135, 145),
               "k": ("mmol/L", 3.5, 5.1)}


@dataclass(frozen=True)
class Manifest:
    """What :func:`write_exports` wrote and which errors it injected (with exact lines)."""

    files: pd.DataFrame
    injected: pd.DataFrame
    seed: int
    error_rate: float
    n_patients: int

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.files.to_csv(directory / "files.csv", index=False)
        self.injected.to_csv(directory / "injected.csv", index=False)
        meta = {"seed": self.seed, "error_rate": self.error_rate, "n_patients": self.n_patients,
                "files": json.loads(self.files.to_json(orient="records")),
                "n_injected": int(len(self.injected)), "error_kinds": ERROR_KINDS}
        path = directory / "manifest.json"
        path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        return path


# -- rendering -------------------------------------------------------------------------------------

@dataclass
class _File:
    centre_id: str
    spec: FileSpec
    frame: pd.DataFrame  # strings under source headers + _uid, _pos, _pid
    header_of: dict[str, str]
    col_of: dict[str, ColumnSpec]
    name: str
    fmt: str
    encoding: str
    extra: dict = field(default_factory=dict)


def _fmt_num(values) -> pd.Series:
    """Shortest plain decimal text (at most 6 decimals); empty for missing (vectorised)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64")
    arr = v.round(6).to_numpy()
    missing = np.isnan(arr)
    text = pd.Series(np.char.mod("%.6f", np.where(missing, 0.0, arr)), index=v.index, dtype="str")
    text = text.str.rstrip("0").str.rstrip(".").replace("-0", "0")
    return text.where(~missing, "").astype("str")


def _labels(profile: CentreProfile, col: ColumnSpec, code: str) -> list[str]:
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
            labels = _labels(profile, col, code)
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
    from tdm.centres.harmonise import cell_kind

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
        return _fmt_num(x)
    if kind == "trough":
        x = s.astype("float64")
        if col.unit is not None:
            x = U.from_canonical(x, col.unit, U.CANONICAL_UNIT[target])
        num = _fmt_num(x)
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


def _render_files(rng, cohort: Cohort, profile: CentreProfile, seed: int, file_format: str | None,
                  encoding: str | None) -> list[_File]:
    parts = cohort.for_centre(profile.centre_id)
    kinds = {s.kind: s for s in profile.files}
    specs = [kinds["wide"]] if "wide" in kinds else [s for s in profile.files]
    out: list[_File] = []
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
        out.append(_File(profile.centre_id, spec, frame, header_of, col_of, name, fmt, enc))
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
    n = len(truth)
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
    test = truth["analyte"].map({a: _labels(profile, a_col, a)[0] for a in ANALYTES}).astype("str")
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
            cols[col.source] = _fmt_num(long["value"])
        elif t == "unit":
            cols[col.source] = long["unit"]
    for h in spec.ignore_columns:
        cols[h] = ""
    frame = pd.DataFrame(cols).astype("str")
    frame["_pid"] = long["pid"].to_numpy()
    # canonical analyte per row (None for dropped tests) for error injection
    amap = {norm_label(lbl): a for a in ANALYTES for lbl in _labels(profile, a_col, a)}
    frame["_analyte"] = long["test"].map({t: amap.get(norm_label(t), "") for t in long["test"].unique()}).astype("str")
    frame["_unit"] = long["unit"].astype("str").to_numpy()
    return frame, header_of, col_of


# -- error injection ------------------------------------------------------------------------------

@dataclass
class _Injector:
    rng: np.random.Generator
    profile: CentreProfile
    files: list[_File]
    cohort: Cohort
    used: set = field(default_factory=set)
    records: list = field(default_factory=list)

    def _file(self, *, targets=(), kinds=None) -> list[_File]:
        return [f for f in self.files if all(t in f.header_of for t in targets)
                and (kinds is None or f.spec.kind in kinds)]

    def _pick_row(self, f: _File, mask=None) -> int | None:
        fr = f.frame
        ok = ~fr["_pid"].isin(self.used)
        if "_injected" in fr:
            ok &= ~fr["_injected"].fillna(False).astype(bool)
        if mask is not None:
            ok &= mask
        idx = np.flatnonzero(ok.to_numpy())
        if len(idx) == 0:
            return None
        return int(idx[self.rng.integers(0, len(idx))])

    def _record(self, kind, f: _File, row: int, entity, column, description, pid=None):
        fr = f.frame
        pid = pid if pid is not None else fr.at[row, "_pid"]
        self.used.add(pid)
        if "_injected" not in fr:
            fr["_injected"] = False
        fr.at[row, "_injected"] = True
        self.records.append({"kind": kind, "centre_id": f.centre_id, "file": f.name, "_uid": int(fr.at[row, "_uid"]),
                             "_fileobj": id(f), "entity": entity, "column": column, "patient_raw_id": pid,
                             "description": description})

    # each returns True when it injected something
    def unit_mixup(self) -> bool:
        for f in self._file(targets=("albumin_g_dl",)):
            h = f.header_of["albumin_g_dl"]
            row = self._pick_row(f, f.frame[h] != "")
            if row is None:
                continue
            col = f.col_of["albumin_g_dl"]
            fac = U.factor(col.unit or "g/dL", "g/dL")
            written = float(f.frame.at[row, h])
            canonical = float(U.apply_factor(written, fac))
            new = canonical * 10 if fac == 1 else canonical  # g/L number in g/dL col, or g/dL number in g/L col
            f.frame.at[row, h] = _fmt_num(pd.Series([new])).iloc[0]
            wrong = float(U.apply_factor(new, fac))
            self._record("unit_mixup", f, row, "lab", "albumin_g_dl",
                         f"albumin {written:g} {col.unit or 'g/dL'} written as {new:g}: harmonised {wrong:g} g/dL")
            return True
        for f in self._file(kinds=("labs_long",)):
            row = self._pick_row(f, (f.frame["_analyte"] == "albumin_g_dl") & (f.frame["_unit"].map(norm_label) == "g/dl"))
            if row is None:
                continue
            h = f.header_of["value"]
            old = float(f.frame.at[row, h])
            f.frame.at[row, h] = _fmt_num(pd.Series([old * 10])).iloc[0]
            self._record("unit_mixup", f, row, "lab", "albumin_g_dl",
                         f"albumin {old:g} g/dL written as {old * 10:g} (g/L) with unit g/dL")
            return True
        return False

    def code_typo(self) -> bool:
        for f in self.rng.permutation(np.array(self._file(kinds=("wide", "baseline")), dtype=object)):
            cands = [t for t, c in f.col_of.items() if (c.codes is not None or _is_code(t)) and t == c.target
                     and t not in ("analyte", "patient_id")]
            if not cands:
                continue
            t = cands[self.rng.integers(0, len(cands))]
            h, col = f.header_of[t], f.col_of[t]
            row = self._pick_row(f, f.frame[h] != "")
            if row is None:
                continue
            old = f.frame.at[row, h]
            typo = _typo(old, col, self.profile)
            f.frame.at[row, h] = typo
            self._record("code_typo", f, row, _entity(t), t, f"{h}: {old!r} mistyped as {typo!r}")
            return True
        return False

    def swapped_dates(self) -> bool:
        for f in self._file(targets=("diagnosis_date", "ifx_start_date")):
            a, b = f.header_of["diagnosis_date"], f.header_of["ifx_start_date"]
            row = self._pick_row(f, (f.frame[a] != "") & (f.frame[b] != "") & (f.frame[a] != f.frame[b]))
            if row is None:
                continue
            f.frame.loc[row, [a, b]] = [f.frame.at[row, b], f.frame.at[row, a]]
            self._record("swapped_dates", f, row, "patient", "diagnosis_date",
                         f"{a} and {b} swapped: diagnosis {f.frame.at[row, a]} after IFX start {f.frame.at[row, b]}")
            return True
        return False

    def missing_required(self) -> bool:
        req = ["sex", "birth_date", "ifx_start_date", "diagnosis_date", "pcdai", "ses_cd_total", "trough_ug_ml",
               "infusion_date", "n_infusions"]
        files = [f for f in self.files if f.spec.kind != "labs_long"]
        for f in self.rng.permutation(np.array(files, dtype=object)):
            cands = [t for t in req if t in f.header_of and f.col_of[t].target == t]
            if not cands:
                continue
            t = cands[self.rng.integers(0, len(cands))]
            h = f.header_of[t]
            row = self._pick_row(f, f.frame[h] != "")
            if row is None:
                continue
            old = f.frame.at[row, h]
            f.frame.at[row, h] = ""
            self._record("missing_required", f, row, _entity(t), t, f"required {h} ({t}) left empty (was {old!r})")
            return True
        return False

    def duplicate_row(self) -> bool:
        files = [f for f in self.files if f.spec.kind in ("wide", "visit", "labs_long")]
        for f in self.rng.permutation(np.array(files, dtype=object)):
            mask = f.frame["_analyte"] != "" if f.spec.kind == "labs_long" else None
            row = self._pick_row(f, mask)
            if row is None:
                continue
            copy = f.frame.loc[[row]].copy()
            copy["_uid"] = int(f.frame["_uid"].max()) + 1
            copy["_pos"] = f.frame.at[row, "_pos"] + 0.5
            f.frame = pd.concat([f.frame, copy], ignore_index=True)
            new = len(f.frame) - 1
            entity = {"wide": "assessment", "visit": "assessment", "labs_long": "lab"}[f.spec.kind]
            column = f.frame.at[new, "_analyte"] if f.spec.kind == "labs_long" else "patient_id"
            f.frame.at[row, "_injected"] = True
            self._record("duplicate_row", f, new, entity, column, "exact copy of the previous line")
            return True
        return False

    def out_of_range_lab(self) -> bool:
        for f in self.rng.permutation(np.array(self.files, dtype=object)):
            if f.spec.kind == "labs_long":
                row = self._pick_row(f, f.frame["_analyte"].isin(list(IMPLAUSIBLE)))
                if row is None:
                    continue
                a = f.frame.at[row, "_analyte"]
                u = f.frame.at[row, "_unit"]
                new = U.from_canonical(IMPLAUSIBLE[a], u, ANALYTES[a].unit)
                f.frame.at[row, f.header_of["value"]] = _fmt_num(pd.Series([new])).iloc[0]
            else:
                cands = [a for a in IMPLAUSIBLE if a in f.header_of]
                if not cands:
                    continue
                a = cands[self.rng.integers(0, len(cands))]
                h = f.header_of[a]
                row = self._pick_row(f, f.frame[h] != "")
                if row is None:
                    continue
                unit = f.col_of[a].unit or ANALYTES[a].unit
                new = U.from_canonical(IMPLAUSIBLE[a], unit, ANALYTES[a].unit)
                f.frame.at[row, h] = _fmt_num(pd.Series([new])).iloc[0]
            self._record("out_of_range_lab", f, row, "lab", a,
                         f"{a} = {IMPLAUSIBLE[a]:g} {ANALYTES[a].unit} (range {ANALYTES[a].min:g}-{ANALYTES[a].max:g})")
            return True
        return False

    def orphan_visit(self) -> bool:
        if not self._file(kinds=("baseline",)):
            return False
        for f in self._file(kinds=("visit",)):
            row = self._pick_row(f)
            if row is None:
                continue
            copy = f.frame.loc[[row]].copy()
            existing = set(self.cohort.patients["patient_id"].astype(str))
            base = f.frame.at[row, "_pid"]
            new_id = base[:-1] + "9" if base[-1] != "9" else base[:-1] + "8"
            k = 0
            while new_id in existing or new_id in set(f.frame["_pid"]):
                k += 1
                new_id = f"{base}{k}"
            copy[f.header_of["patient_id"]] = new_id
            copy["_pid"] = new_id
            copy["_uid"] = int(f.frame["_uid"].max()) + 1
            copy["_pos"] = float(f.frame["_pos"].max()) + 1
            f.frame = pd.concat([f.frame, copy], ignore_index=True)
            self._record("orphan_visit", f, len(f.frame) - 1, "assessment", "patient_id",
                         f"visit for study number {new_id!r} which is not in the baseline file", pid=new_id)
            self.used.add(base)
            return True
        return False

    def trough_after_infusion(self) -> bool:
        for f in self._file(targets=("trough_sample_datetime",)):
            h = f.header_of["trough_sample_datetime"]
            row = self._pick_row(f, f.frame[h] != "")
            if row is None:
                continue
            fmt = self.profile.datetime_formats_for(f.spec, f.col_of["trough_sample_datetime"])[0]
            old = pd.to_datetime(f.frame.at[row, h], format=fmt)
            days = int(self.rng.integers(1, 4))
            new = (old + pd.Timedelta(days=days)).strftime(fmt)
            f.frame.at[row, h] = new
            self._record("trough_after_infusion", f, row, "elisa", "trough_sample_datetime",
                         f"trough sample {new} is {days} day(s) after the infusion")
            return True
        return False

    def negative_trough(self) -> bool:
        for f in self._file(targets=("trough_ug_ml",)):
            h = f.header_of["trough_ug_ml"]
            cell = f.frame[h]
            row = self._pick_row(f, (cell != "") & ~cell.str.startswith(("<", ">")))
            if row is None:
                continue
            old = f.frame.at[row, h]
            f.frame.at[row, h] = "-" + old
            self._record("negative_trough", f, row, "elisa", "trough_ug_ml", f"trough {old} written as -{old}")
            return True
        return False


def _is_code(target: str) -> bool:
    from tdm.centres.harmonise import _var

    v = _var(target)
    return v is not None and v.dtype == "code"


def _entity(target: str) -> str:
    if target in ANALYTES or target == LAB_DATE_COLUMN:
        return "lab"
    for e, vs in BY_ENTITY.items():
        if any(v.name == target for v in vs):
            return e
    return "patient"


def _typo(value: str, col: ColumnSpec, profile: CentreProfile) -> str:
    cands = [value + value[-1:], value[:-1] + "#", value + "?", "??"]
    if col.codes is None:
        col = col.model_copy(update={"codes": {}})
    for c in cands:
        _, bad, _ = _parse_codes(pd.Series([c], dtype="str"), col, profile)
        if bool(bad.iloc[0]):
            return c
    return "??"


def _apply_errors(rng, profile: CentreProfile, files: list[_File], cohort: Cohort, error_rate: float,
                  kinds: list[str]) -> list[dict]:
    if error_rate <= 0:
        return []
    n_pat = int((cohort.patients["centre_id"] == profile.centre_id).sum())
    n_err = max(len(kinds), int(round(error_rate * n_pat)))
    n_err = min(n_err, max(n_pat - 1, 0))
    if not kinds or n_err == 0:
        return []
    if n_err >= len(kinds):
        order = list(kinds) + [str(k) for k in rng.choice(kinds, size=n_err - len(kinds))]
    else:
        order = [str(k) for k in rng.choice(kinds, size=n_err, replace=False)]
    inj = _Injector(rng, profile, files, cohort)
    for kind in order:
        getattr(inj, kind)()
    return inj.records


# -- writing -----------------------------------------------------------------------------------------

def _finalise_lines(f: _File) -> pd.DataFrame:
    fr = f.frame.sort_values("_pos", kind="stable").reset_index(drop=True)
    fr["_line"] = np.arange(len(fr)) + f.spec.header_row + 1
    f.frame = fr
    return fr


def _write(f: _File, path: Path) -> None:
    data = f.frame[[c for c in f.frame.columns if not c.startswith("_")]].copy()
    tmp = path.with_name("." + path.name + ".part")
    if f.fmt == "xlsx":
        import xlsxwriter

        sheet = f.spec.xlsx.sheet if f.spec.xlsx is not None and isinstance(f.spec.xlsx.sheet, str) else "Sheet1"
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": True,
                                            "strings_to_urls": False, "strings_to_formulas": False})
        ws = wb.add_worksheet(sheet)
        r = 0
        for _ in range(f.spec.header_row - 1):
            ws.write_row(r, 0, [f"{f.centre_id} export"])
            r += 1
        ws.write_row(r, 0, list(data.columns))
        for row in data.itertuples(index=False, name=None):
            r += 1
            ws.write_row(r, 0, row)
        wb.close()
    else:
        opts = f.spec.csv
        text = data.to_csv(index=False, sep=opts.delimiter, lineterminator="\n")
        if opts.decimal == ",":
            for c in data.columns:  # a decimal-comma centre writes 4,5 (delimiter must then differ)
                data[c] = data[c].str.replace(r"^(-?\d+)\.(\d+)$", r"\1,\2", regex=True)
        pre = "".join(f"{f.centre_id} export\n" for _ in range(f.spec.header_row - 1))
        tmp.write_bytes((pre + text).encode(f.encoding))
    os.replace(tmp, path)


def write_exports(cohort: Cohort, profiles: dict[str, CentreProfile], out_dir: str | Path, *,
                  error_rate: float = 0.0, seed: int | None = None, kinds=None,
                  file_format: dict[str, str] | None = None, encoding: dict[str, str] | None = None,
                  per_centre_dir: bool = True) -> Manifest:
    """Write each centre's share of ``cohort`` in its own format under ``out_dir/<centre>/``.

    ``error_rate`` is the share of each centre's patients that get one injected error (at least
    one of each applicable kind when > 0); ``kinds`` restricts the kinds (default: all of
    :data:`ERROR_KINDS`).  ``file_format``/``encoding`` override a centre's format ("csv"/"xlsx")
    and CSV encoding (e.g. ``{"sch": "csv"}``, ``{"sch": "cp949"}``).
    """
    seed = cohort.seed if seed is None else seed
    rng = np.random.default_rng([seed, 7919])
    kinds = list(ERROR_KINDS) if kinds is None else list(kinds)
    unknown = [k for k in kinds if k not in ERROR_KINDS]
    if unknown:
        raise ValueError(f"unknown error kinds {unknown}; valid: {', '.join(ERROR_KINDS)}")
    out_dir = Path(out_dir)
    file_rows, injected = [], []
    for centre in cohort.centres:
        if centre not in profiles:
            raise ValueError(f"no profile for centre {centre!r}; have {', '.join(sorted(profiles))}")
        profile = profiles[centre]
        files = _render_files(rng, cohort, profile, seed, (file_format or {}).get(centre),
                              (encoding or {}).get(centre))
        records = _apply_errors(rng, profile, files, cohort, error_rate, kinds)
        folder = out_dir / centre if per_centre_dir else out_dir
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            fr = _finalise_lines(f)
            line_of = dict(zip(fr["_uid"], fr["_line"]))
            for r in records:
                if r["_fileobj"] == id(f):
                    r["source_line"] = int(line_of[r["_uid"]])
            path = folder / f.name
            _write(f, path)
            file_rows.append({"centre_id": centre, "kind": f.spec.kind, "spec": f.spec.name,
                              "file": str(path), "file_name": f.name, "format": f.fmt,
                              "encoding": f.encoding if f.fmt == "csv" else "", "rows": len(fr)})
        injected.extend(records)
    inj = pd.DataFrame(injected, columns=INJECTED_COLUMNS + ["_uid", "_fileobj"])[INJECTED_COLUMNS]
    inj = inj.astype({"source_line": "int64"}) if len(inj) else inj
    return Manifest(files=pd.DataFrame(file_rows), injected=inj.reset_index(drop=True), seed=seed,
                    error_rate=float(error_rate), n_patients=len(cohort.patients))


__all__ = ["ERROR_KINDS", "INJECTED_COLUMNS", "Manifest", "write_exports"]
