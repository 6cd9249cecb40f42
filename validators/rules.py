"""Cross-field and cross-record rules: each a small named function returning the rows it fails and why.

Every rule takes the file's harmonised frames (``dict[entity, DataFrame]``, each with a fresh
RangeIndex, all four entities present, possibly empty) and the :class:`ValidationContext`, and
returns a *findings* frame with :data:`FINDING_COLUMNS`:

``entity``        the entity frame the failing row belongs to
``row``           its position in that frame (maps back to ``source_line``)
``column_name``   the column to look at
``value``         the value found (text)
``message``       what is wrong, in words a data manager understands
``expected``      the expected value or range

Severity and fix text come from the registry (:mod:`validators.registry`) under the rule's name,
which is the function's name.  All rules are vectorised (no Python loop over rows).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from schema.dictionary import ENTITIES, SES_CD_SEGMENTS, entity_columns
from validators.context import ValidationContext

FINDING_COLUMNS = ["entity", "row", "column_name", "value", "message", "expected"]
ENTITY_ORDER = ("patient", "assessment", "elisa", "lab")
_COHORT = "will be excluded from the analysis cohort: "
TROUGH_MATCH_DAYS = 14

Frames = dict[str, pd.DataFrame]
RuleFn = Callable[[Frames, ValidationContext], pd.DataFrame]


# ---------------------------------------------------------------------------------------- helpers
def no_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in FINDING_COLUMNS})


def fmt(values: pd.Series) -> pd.Series:
    """Values as report text: dates as YYYY-MM-DD (with the time when it is not midnight), whole
    floats without a trailing ``.0``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        has_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
        out = values.dt.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values):
        # as a data manager typed it: 38, not 38.0
        out = values.astype("str").str.replace(r"\.0$", "", regex=True)
    else:
        out = values.astype("str")
    return out.where(values.notna(), None).astype("object")


def _text(x, n: int) -> pd.Series | list:
    if isinstance(x, pd.Series):
        return x.astype("object").to_numpy()
    return [x] * n


def findings(entity: str, rows: pd.DataFrame, column: str | None, message, expected=None,
             value: pd.Series | None = None) -> pd.DataFrame:
    """Build a findings frame for ``rows`` (a slice of the entity frame; its index is the row)."""
    n = len(rows)
    if n == 0:
        return no_findings()
    if value is None:
        value = fmt(rows[column]) if column else pd.Series([None] * n, index=rows.index)
    return pd.DataFrame({
        "entity": entity,
        "row": rows.index.to_numpy(dtype="int64"),
        "column_name": column,
        "value": _text(value, n),
        "message": _text(message, n),
        "expected": _text(expected, n),
    })


def add_years(dates: pd.Series, years: int) -> pd.Series:
    """``date + INTERVAL n YEAR`` as DuckDB does it (29 February clamps to 28 February)."""
    d = pd.to_datetime(dates)
    ok = d.notna()
    out = pd.Series(pd.NaT, index=d.index, dtype="datetime64[us]")
    if not ok.any():
        return out
    dv = d[ok]
    first = pd.to_datetime(pd.DataFrame({"year": dv.dt.year + years, "month": dv.dt.month, "day": 1}))
    day = np.minimum(dv.dt.day.to_numpy(), first.dt.days_in_month.to_numpy())
    out[ok] = (first + pd.to_timedelta(day - 1, unit="D")).astype("datetime64[us]").to_numpy()
    return out


def _ymd(s: pd.Series) -> pd.Series:
    return fmt(pd.to_datetime(s).dt.normalize())


def patient_dates(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """Birth, diagnosis and IFX start per patient: this file's baseline first, then the warehouse's."""
    cols = ["patient_id", "birth_date", "diagnosis_date", "ifx_start_date"]
    parts = [frames["patient"][cols]]
    known = ctx.known_patients
    if all(c in known.columns for c in cols) and len(known):
        k = known[cols].copy()
        for c in cols[1:]:
            k[c] = pd.to_datetime(k[c]).astype("datetime64[us]")
        k["patient_id"] = k["patient_id"].astype("str")
        parts.append(k)
    out = pd.concat(parts, ignore_index=True)
    return out[out["patient_id"].notna()].drop_duplicates("patient_id", keep="first")


def _with_patient(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    a = frames["assessment"]
    p = patient_dates(frames, ctx)
    m = a[["patient_id", "colonoscopy_date"]].reset_index().merge(p, on="patient_id", how="left")
    return m.set_index("index")


def _baseline_ids(frames: Frames, ctx: ValidationContext) -> pd.Index:
    ids = frames["patient"]["patient_id"].dropna()
    known = ctx.known_patients
    if len(known):
        k = known
        if "centre_id" in k.columns:
            k = k[k["centre_id"].astype("str") == ctx.centre_id]
        ids = pd.concat([ids, k["patient_id"].astype("str")])
    return pd.Index(ids.unique())


def content_hash(df: pd.DataFrame) -> pd.Series:
    """One uint64 per row over the entity's columns (not the source line)."""
    cols = [c for c in df.columns if c not in ("source_line",)]
    if not len(df):
        return pd.Series([], dtype="uint64", index=df.index)
    return pd.util.hash_pandas_object(df[cols], index=False)


# ------------------------------------------------------------------------------- the rules
def date_order(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """birth <= diagnosis <= first IFX (patient row); first IFX <= colonoscopy (assessment row)."""
    p = frames["patient"]
    out = []
    bad = p[p["birth_date"] > p["diagnosis_date"]]
    out.append(findings("patient", bad, "diagnosis_date",
                        "diagnosis date is before the birth date",
                        "on or after the birth date " + _ymd(bad["birth_date"])))
    bad = p[p["diagnosis_date"] > p["ifx_start_date"]]
    out.append(findings("patient", bad, "ifx_start_date",
                        "first IFX infusion is before the diagnosis date",
                        "on or after the diagnosis date " + _ymd(bad["diagnosis_date"])))
    bad = p[p["birth_date"] > p["ifx_start_date"]]
    bad = bad[~(bad["birth_date"] > bad["diagnosis_date"]) & ~(bad["diagnosis_date"] > bad["ifx_start_date"])]
    out.append(findings("patient", bad, "ifx_start_date", "first IFX infusion is before the birth date",
                        "on or after the birth date " + _ymd(bad["birth_date"])))
    m = _with_patient(frames, ctx)
    bad = m[m["colonoscopy_date"] < m["ifx_start_date"]]
    out.append(findings("assessment", bad, "colonoscopy_date",
                        "colonoscopy is before the first IFX infusion",
                        "on or after the IFX start " + _ymd(bad["ifx_start_date"])))
    bad = m[(m["colonoscopy_date"] < m["diagnosis_date"]) & ~(m["colonoscopy_date"] < m["ifx_start_date"])]
    out.append(findings("assessment", bad, "colonoscopy_date", "colonoscopy is before the diagnosis date",
                        "on or after the diagnosis date " + _ymd(bad["diagnosis_date"])))
    return pd.concat(out, ignore_index=True)


def _infusions(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """Known infusion days per patient: this file's assessments, then the warehouse's."""
    a = frames["assessment"]
    inf = a["infusion_date"].fillna(a["colonoscopy_date"])
    parts = [pd.DataFrame({"patient_id": a["patient_id"], "infusion_date": inf})]
    e = ctx.existing_assessments
    if len(e):
        col = "infusion_date" if "infusion_date" in e.columns else "colonoscopy_date"
        parts.append(pd.DataFrame({"patient_id": e["patient_id"].astype("str"),
                                   "infusion_date": pd.to_datetime(e[col]).astype("datetime64[us]")}))
    out = pd.concat(parts, ignore_index=True).dropna()
    return out.drop_duplicates()


def trough_after_infusion(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """The trough sample's day is after the infusion it belongs to.

    The infusion is the assessment on the same line (wide files); otherwise the patient's infusion
    (this file or the warehouse) nearest the sample, within TROUGH_MATCH_DAYS days.
    """
    el = frames["elisa"]
    if not len(el):
        return no_findings()
    day = el["trough_sample_datetime"].dt.normalize()
    a = frames["assessment"]
    same_line = a.dropna(subset=["source_line"]).drop_duplicates("source_line").set_index("source_line")
    inf = pd.Series(pd.NaT, index=el.index, dtype="datetime64[us]")
    if len(same_line):
        on_line = same_line["infusion_date"].fillna(same_line["colonoscopy_date"])
        hit = el["source_line"].isin(on_line.index)
        inf[hit] = el.loc[hit, "source_line"].map(on_line).astype("datetime64[us]")
    need = inf.isna() & day.notna() & el["patient_id"].notna()
    if need.any():
        known = _infusions(frames, ctx).rename(columns={"infusion_date": "inf"})
        left = pd.DataFrame({"patient_id": el.loc[need, "patient_id"].astype("str"), "day": day[need]})
        left = left.reset_index().sort_values("day")
        known = known.assign(patient_id=known["patient_id"].astype("str")).sort_values("inf")
        known["inf"] = known["inf"].astype("datetime64[us]")
        left["day"] = left["day"].astype("datetime64[us]")
        matched = pd.merge_asof(left, known, left_on="day", right_on="inf", by="patient_id",
                                direction="nearest", tolerance=pd.Timedelta(days=TROUGH_MATCH_DAYS))
        inf.loc[matched["index"].to_numpy()] = matched["inf"].to_numpy()
    bad_mask = day.notna() & inf.notna() & (day > inf)
    bad = el[bad_mask]
    return findings("elisa", bad, "trough_sample_datetime",
                    "trough sample drawn after the infusion of " + _ymd(inf[bad_mask]),
                    "on the infusion day " + _ymd(inf[bad_mask]) + ", before the infusion")


def ses_cd_sum_mismatch(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """SES-CD total = sum of the five segments (all given) or >= the sum (some given)."""
    a = frames["assessment"]
    seg = a[list(SES_CD_SEGMENTS)].astype("Float64")
    n_given = seg.notna().sum(axis=1)
    total_seg = seg.sum(axis=1, skipna=True)
    total = a["ses_cd_total"].astype("Float64")
    mism = ((n_given == len(SES_CD_SEGMENTS)) & (total != total_seg)) | \
           ((n_given > 0) & (n_given < len(SES_CD_SEGMENTS)) & (total < total_seg))
    mism = mism.fillna(False).astype(bool) & total.notna()
    bad = a[mism]
    ts = total_seg[mism].astype("Int64").astype("str")
    full = n_given[mism] == len(SES_CD_SEGMENTS)
    expected = pd.Series(np.where(full, "sum of the segment scores = " + ts, "at least the sum of the segments given = " + ts),
                         index=bad.index)
    return findings("assessment", bad, "ses_cd_total", "SES-CD total does not match its segment scores",
                    expected)


def ati_titre_inconsistent(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """Positive below the cut-off, negative at/above it, or positive with a zero titre."""
    e = frames["elisa"]
    st, ti, cu = e["ati_status"], e["ati_titre_ng_ml"], e["ati_cutoff_ng_ml"]
    pos_low = (st == "positive") & ti.notna() & ((cu.notna() & (ti < cu)) | (cu.isna() & (ti <= 0)))
    neg_high = (st == "negative") & ti.notna() & cu.notna() & (ti >= cu)
    pos_low, neg_high = pos_low.fillna(False).astype(bool), neg_high.fillna(False).astype(bool)
    out = []
    b = e[pos_low]
    exp = pd.Series(np.where(b["ati_cutoff_ng_ml"].notna(),
                             "titre >= cut-off " + b["ati_cutoff_ng_ml"].astype("str") + " ng/mL",
                             "titre > 0"), index=b.index)
    out.append(findings("elisa", b, "ati_status",
                        "ATI positive but the titre " + b["ati_titre_ng_ml"].astype("str") + " ng/mL is not above the cut-off",
                        exp))
    b = e[neg_high]
    out.append(findings("elisa", b, "ati_status",
                        "ATI negative but the titre " + b["ati_titre_ng_ml"].astype("str") + " ng/mL is at or above the cut-off",
                        "titre < cut-off " + b["ati_cutoff_ng_ml"].astype("str") + " ng/mL, or status positive"))
    return pd.concat(out, ignore_index=True)


def _close(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).abs() <= 1e-6 + 1e-6 * b.abs()


def censored_trough_inconsistent(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """'<' carries the LLOQ, '>' the ULOQ, '=' lies within [LLOQ, ULOQ]."""
    e = frames["elisa"]
    c, t, lo, hi = e["trough_censor"], e["trough_ug_ml"], e["lloq_ug_ml"], e["uloq_ug_ml"]
    below = (c == "<") & t.notna() & lo.notna() & ~_close(t, lo)
    above = (c == ">") & t.notna() & hi.notna() & ~_close(t, hi)
    q_low = (c == "=") & t.notna() & lo.notna() & (t < lo) & ~_close(t, lo)
    q_high = (c == "=") & t.notna() & hi.notna() & (t > hi) & ~_close(t, hi)
    masks = [m.fillna(False).astype(bool) for m in (below, above, q_low, q_high)]
    out = []
    b = e[masks[0]]
    out.append(findings("elisa", b, "trough_ug_ml", "below-LLOQ trough does not carry the LLOQ",
                        "the LLOQ " + b["lloq_ug_ml"].astype("str") + " ug/mL (with '<')"))
    b = e[masks[1]]
    out.append(findings("elisa", b, "trough_ug_ml", "above-ULOQ trough does not carry the ULOQ",
                        "the ULOQ " + b["uloq_ug_ml"].astype("str") + " ug/mL (with '>')"))
    b = e[masks[2]]
    out.append(findings("elisa", b, "trough_ug_ml", "quantified trough is below the assay's LLOQ",
                        "'<" + b["lloq_ug_ml"].astype("str") + "' (below LLOQ) or a value >= the LLOQ"))
    b = e[masks[3]]
    out.append(findings("elisa", b, "trough_ug_ml", "quantified trough is above the assay's ULOQ",
                        "'>" + b["uloq_ug_ml"].astype("str") + "' (above ULOQ) or a value <= the ULOQ"))
    return pd.concat(out, ignore_index=True)


def second_assessment(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """More than one follow-up assessment (distinct colonoscopy dates) per patient.

    Within the file the earliest colonoscopy is kept and later ones are flagged; a patient who
    already has a current assessment with another date in the warehouse has every new one flagged.
    A row with the same key as the existing one is a correction (it supersedes), not a second.
    """
    a = frames["assessment"]
    ok = a[a["patient_id"].notna() & a["colonoscopy_date"].notna()]
    if not len(ok):
        return no_findings()
    first = ok.groupby("patient_id")["colonoscopy_date"].transform("min")
    later = ok["colonoscopy_date"] != first
    e = ctx.existing_assessments
    prior = pd.Series(pd.NaT, index=ok.index, dtype="datetime64[us]")
    if len(e):
        ex = e[e["centre_id"].astype("str") == ctx.centre_id] if "centre_id" in e.columns else e
        ex_first = pd.to_datetime(ex["colonoscopy_date"]).astype("datetime64[us]").groupby(
            ex["patient_id"].astype("str")).min()
        prior = ok["patient_id"].map(ex_first)
        same_key = pd.MultiIndex.from_arrays([ok["patient_id"], ok["colonoscopy_date"]]).isin(
            pd.MultiIndex.from_arrays([ex["patient_id"].astype("str"),
                                       pd.to_datetime(ex["colonoscopy_date"]).astype("datetime64[us]")]))
        has_ex = prior.notna()
        later = later.where(~has_ex, ~pd.Series(same_key, index=ok.index))
        first = first.where(~has_ex, prior)
    bad = ok[later]
    return findings("assessment", bad, "colonoscopy_date",
                    "second follow-up assessment for this patient (first: " + _ymd(first[later]) + ")",
                    "one follow-up assessment per patient")


def _str_isin(values: pd.Series, ids: pd.Index) -> pd.Series:
    """``values.isin(ids)`` for string ids, hashed in Arrow.

    pandas 3's ``ArrowStringArray.isin`` turns every element of ``ids`` into a Python object
    first: about 30 s for a 1e6-row lab file against 1e6 known patients, against about 0.1-1 s
    here (benchmarks/, docs/PERFORMANCE.md).  Missing values never match.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = pc.is_in(pa.array(values.astype("str"), type=pa.large_string()),
                   value_set=pa.array(ids.astype("str"), type=pa.large_string()))
    return pd.Series(np.asarray(hit.fill_null(False), dtype=bool), index=values.index)


def orphan_record(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """Visit/ELISA/lab rows whose patient has no baseline in this file or in the warehouse."""
    ids = _baseline_ids(frames, ctx)
    out = []
    for ent in ("assessment", "elisa", "lab"):
        df = frames[ent]
        bad = df[df["patient_id"].notna() & ~_str_isin(df["patient_id"], ids)]
        out.append(findings(ent, bad, "patient_id", "no baseline record for this patient in this centre",
                            "a patient in the centre's baseline data"))
    return pd.concat(out, ignore_index=True)


def _line_signatures(frames: Frames) -> pd.DataFrame:
    parts = []
    for ent in ENTITY_ORDER:
        df = frames[ent]
        if not len(df):
            continue
        h = content_hash(df)
        g = pd.DataFrame({"source_line": df["source_line"].to_numpy(), "h": h.to_numpy()})
        agg = g.groupby("source_line")["h"].agg(["sum", "size"])
        agg.columns = [f"{ent}_sum", f"{ent}_n"]
        parts.append(agg)
    if not parts:
        return pd.DataFrame()
    lines = parts[0].index
    for part in parts[1:]:
        lines = lines.union(part.index)
    sig = pd.concat([part.reindex(lines.sort_values(), fill_value=0) for part in parts], axis=1)  # stays uint64
    # A wide export carries the patient's baseline once (the adapter keeps it on the patient's first
    # line), so a repeated wide line has no patient row: compare lines on their visit records, and
    # on the patient record only when the line has nothing else (baseline files).
    other = [c for c in sig.columns if c.endswith("_n") and not c.startswith("patient_")]
    if "patient_n" in sig.columns and other:
        has_other = sig[other].sum(axis=1) > 0
        sig.loc[has_other, ["patient_sum", "patient_n"]] = 0
    return sig


def duplicate_row(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """A line whose records repeat an earlier line (one finding per repeated line).

    Lines are compared on their visit/ELISA/lab records when they have any, else on the patient
    record, because a wide export's patient baseline appears once per patient.
    """
    sig = _line_signatures(frames)
    if not len(sig):
        return no_findings()
    cols = list(sig.columns)
    dup = sig.duplicated(subset=cols, keep="first")
    if not dup.any():
        return no_findings()
    first_line = sig.reset_index().groupby(cols)["source_line"].transform("min")
    first_line.index = sig.index
    dup_lines = first_line[dup]
    out = []
    done = pd.Index([])
    for ent in ENTITY_ORDER:
        df = frames[ent]
        rows = df[df["source_line"].isin(dup_lines.index) & ~df["source_line"].isin(done)]
        rows = rows.drop_duplicates("source_line")
        done = done.append(pd.Index(rows["source_line"]))
        orig = rows["source_line"].map(dup_lines).astype("int64").astype("str")
        out.append(findings(ent, rows, None, "line repeats line " + orig, "no repeated lines",
                            value=pd.Series("line " + orig, index=rows.index)))
    return pd.concat(out, ignore_index=True)


def duplicate_key(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """A row that repeats an earlier row's key with different content."""
    out = []
    for ent in ENTITY_ORDER:
        df = frames[ent]
        key = [k for k in ENTITIES[ent].key if k != "centre_id"]
        ok = df[df[key].notna().all(axis=1)]
        if not len(ok):
            continue
        keyed = ok[key].copy()
        key_dup = keyed.duplicated(keep="first")
        keyed["_h"] = content_hash(ok)
        same_content = keyed.duplicated(keep="first")
        bad_mask = key_dup & ~same_content
        bad = ok[bad_mask]
        if not len(bad):
            continue
        first_line = ok.groupby(key)["source_line"].transform("min")[bad_mask].astype("str")
        out.append(findings(ent, bad, key[-1], "another record with the same key on line " + first_line,
                            "one " + ent + " record per " + " + ".join(key)))
    return pd.concat(out, ignore_index=True) if out else no_findings()


def patient_in_other_centre(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """The patient id is already registered by another centre (flagged once per line)."""
    other = ctx.other_centre_patients
    if not len(other):
        return no_findings()
    if "centre_id" in other.columns:
        other = other[other["centre_id"].astype("str") != ctx.centre_id]
    where = other.drop_duplicates("patient_id").set_index(other.drop_duplicates("patient_id")["patient_id"].astype("str"))
    centres = where["centre_id"].astype("str") if "centre_id" in where.columns else pd.Series("another centre", index=where.index)
    out = []
    done = pd.Index([])
    for ent in ENTITY_ORDER:
        df = frames[ent]
        rows = df[df["patient_id"].isin(centres.index) & ~df["source_line"].isin(done)].drop_duplicates("source_line")
        done = done.append(pd.Index(rows["source_line"]))
        out.append(findings(ent, rows, "patient_id",
                            "patient id already registered by centre " + rows["patient_id"].map(centres).astype("str"),
                            "a patient reported by one centre only"))
    return pd.concat(out, ignore_index=True)


def lab_value_negative(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    """A lab value below 0 is impossible (reported under the schema rule ``range``)."""
    lab = frames["lab"]
    bad = lab[(lab["value"] < 0).fillna(False).astype(bool)]
    return findings("lab", bad, "value", bad["analyte"].astype("str") + " is negative", ">= 0")


def colonoscopy_not_on_infusion_day(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    a = frames["assessment"]
    m = a["colonoscopy_date"].notna() & a["infusion_date"].notna() & (a["colonoscopy_date"] != a["infusion_date"])
    bad = a[m.fillna(False).astype(bool)]
    return findings("assessment", bad, "infusion_date",
                    _COHORT + "colonoscopy (" + _ymd(bad["colonoscopy_date"]) + ") not on the infusion day",
                    "the colonoscopy date " + _ymd(bad["colonoscopy_date"]))


def age_18_or_over(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    p = frames["patient"]
    adult = add_years(p["birth_date"], 18)
    at_dx = (p["diagnosis_date"] >= adult).fillna(False).astype(bool)
    at_ifx = (p["ifx_start_date"] >= adult).fillna(False).astype(bool) & ~at_dx
    out = []
    b = p[at_dx]
    out.append(findings("patient", b, "diagnosis_date", _COHORT + "aged 18 or over at diagnosis",
                        "before the 18th birthday " + _ymd(adult[at_dx])))
    b = p[at_ifx]
    out.append(findings("patient", b, "ifx_start_date", _COHORT + "aged 18 or over at the first IFX infusion",
                        "before the 18th birthday " + _ymd(adult[at_ifx])))
    return pd.concat(out, ignore_index=True)


def ifx_under_1_year(frames: Frames, ctx: ValidationContext) -> pd.DataFrame:
    m = _with_patient(frames, ctx)
    one_year = add_years(m["ifx_start_date"], 1)
    mask = ((m["colonoscopy_date"] >= m["ifx_start_date"]) & (m["colonoscopy_date"] < one_year)).fillna(False).astype(bool)
    bad = frames["assessment"].loc[m.index[mask]]
    return findings("assessment", bad, "colonoscopy_date",
                    _COHORT + "IFX for less than 1 year at the colonoscopy (IFX start " + _ymd(m.loc[mask, "ifx_start_date"]) + ")",
                    "on or after " + _ymd(one_year[mask]))


#: Rule name -> function.  ``lab_value_negative`` reports under ``range`` (a schema-level range).
ROW_RULES: dict[str, RuleFn] = {
    "date_order": date_order,
    "trough_after_infusion": trough_after_infusion,
    "ses_cd_sum_mismatch": ses_cd_sum_mismatch,
    "ati_titre_inconsistent": ati_titre_inconsistent,
    "censored_trough_inconsistent": censored_trough_inconsistent,
    "second_assessment": second_assessment,
    "orphan_record": orphan_record,
    "duplicate_row": duplicate_row,
    "duplicate_key": duplicate_key,
    "patient_in_other_centre": patient_in_other_centre,
    "range": lab_value_negative,
    "colonoscopy_not_on_infusion_day": colonoscopy_not_on_infusion_day,
    "age_18_or_over": age_18_or_over,
    "ifx_under_1_year": ifx_under_1_year,
}

assert all(entity_columns(e) for e in ENTITY_ORDER)

__all__ = ["FINDING_COLUMNS", "ROW_RULES", "findings", "no_findings", "add_years", "fmt"] + [
    f.__name__ for f in ROW_RULES.values()
]
