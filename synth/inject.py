"""Error injection into rendered exports: one error per chosen patient, on the rendered strings,
each recorded with the exact file line it lands on (see :data:`ERROR_KINDS`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN
from schema import units as U
from centres.cells import parse_codes, variable
from centres.profile import CentreProfile, ColumnSpec, norm_label
from synth.cohort import Cohort
from synth.render import ExportFile, fmt_num

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


@dataclass
class _Injector:
    rng: np.random.Generator
    profile: CentreProfile
    files: list[ExportFile]
    cohort: Cohort
    used: set = field(default_factory=set)
    records: list = field(default_factory=list)

    def _file(self, *, targets=(), kinds=None) -> list[ExportFile]:
        return [f for f in self.files if all(t in f.header_of for t in targets)
                and (kinds is None or f.spec.kind in kinds)]

    def _pick_row(self, f: ExportFile, mask=None) -> int | None:
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

    def _record(self, kind, f: ExportFile, row: int, entity, column, description, pid=None):
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
            f.frame.at[row, h] = fmt_num(pd.Series([new])).iloc[0]
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
            f.frame.at[row, h] = fmt_num(pd.Series([old * 10])).iloc[0]
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
                f.frame.at[row, f.header_of["value"]] = fmt_num(pd.Series([new])).iloc[0]
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
                f.frame.at[row, h] = fmt_num(pd.Series([new])).iloc[0]
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
    v = variable(target)
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
        _, bad, _ = parse_codes(pd.Series([c], dtype="str"), col, profile)
        if bool(bad.iloc[0]):
            return c
    return "??"


def apply_errors(rng, profile: CentreProfile, files: list[ExportFile], cohort: Cohort, error_rate: float,
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


__all__ = ["ERROR_KINDS", "INJECTED_COLUMNS", "apply_errors"]
