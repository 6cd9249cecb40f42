"""The seeded ground-truth cohort: canonical frames that mimic the study's Table 1.

Everything is drawn with one ``np.random.default_rng(seed)`` and vectorised numpy, so 100,000
patients take about a second.  Outcomes come from a latent model that keeps the paper's
associations: mucosal healing (SES-CD = 0) follows a logistic model in the IFX trough (OR 1.48 per
ug/mL), B1 behaviour (OR 3.5) and the diagnosis-to-IFX interval (OR 0.53 per year), with the
intercept solved so that about 49 % heal; ATI are more frequent without azathioprine and ATI-positive
patients have troughs around 1 ug/mL.  The secondary outcomes follow the trough as strongly as in the
paper (Results 3.2, 3.5): clinical activity (PCDAI >= 10) is a logistic function of log trough, ATI and
mucosal inflammation (intercept solved for 90.5 % clinical remission; trough AUC ~0.9), and the CRP
comes from an "inflamed" state driven the same way, more weakly (intercept solved for ~83 % with CRP
< 0.3 mg/dL; trough AUC ~0.7), so that Table 1's PCDAI and CRP medians stay those of the paper.

A few patients are deliberately ineligible (``truth_exclusion``): IBD-U, IFX for a perianal fistula,
IFX for less than a year at the colonoscopy, and aged 18 or over at the first infusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from schema.dictionary import ANALYTES, BY_ENTITY, entity_columns
from schema.models import PANDAS_DTYPES

DAY = np.timedelta64(1, "D")
STUDY_START = np.datetime64("2013-03-01")
STUDY_END = np.datetime64("2016-06-30")

# Centre mix of the built-in centres (others share the remainder equally).
CENTRE_WEIGHTS = {"smc": 0.5, "sch": 0.2, "knuh": 0.3}

# How each centre reports its ELISA (kit, limits, ATI titre/cut-off) and numbers its patients.
ASSAY = "Matriks Biotek Shikari Q-INFLIXI"
CENTRE_STYLE: dict[str, dict] = {
    "smc": {"id": "SMC-{:05d}", "ati_titre": True, "ati_cutoff": 10.0, "extra_panels": False},
    "sch": {"id": "CW{:06d}", "ati_titre": False, "ati_cutoff": None, "extra_panels": False},
    "knuh": {"id": "{:08d}", "id_offset": 10_000_000, "ati_titre": True, "ati_cutoff": 10.0,
             "extra_panels": True},
}
DEFAULT_STYLE = {"ati_titre": True, "ati_cutoff": 10.0, "extra_panels": False}

LLOQ, ULOQ = 0.4, 16.0

EXCLUSION_RATES = {  # share of generated patients excluded for each reason
    "ibd_u": 0.02,
    "perianal_fistula_indication": 0.02,
    "ifx_duration": 0.025,
    "age_at_ifx_start": 0.015,
}

# latent model for mucosal healing (log odds ratios from the paper's multivariate model)
MH_TARGET = 0.486
BETA_TROUGH = np.log(1.479)
BETA_B1 = np.log(3.524)
BETA_DELAY = np.log(0.529)

# latent model for clinical activity (PCDAI >= 10): logit = b0 + coef . (log trough, ATI, SES-CD > 0)
CLINICAL_REMISSION_TARGET = 0.905
CLIN_LOG_TROUGH = -2.6
CLIN_ATI = 1.0
CLIN_NO_MH = 0.6
# PCDAI within clinical remission (< 10) by MH, and in active disease (>= 10)
PCDAI_REMISSION = ([0, 2.5, 5, 7.5], {True: [.65, .16, .12, .07], False: [.42, .15, .24, .19]})
PCDAI_ACTIVE = ([10, 12.5, 15, 17.5, 20, 25, 30, 35], [.30, .20, .17, .10, .10, .07, .04, .02])

# latent "inflamed" state behind the CRP: logit = b0 + coef . (log trough, ATI, SES-CD > 0)
BIOCHEMICAL_REMISSION_TARGET = 0.835
CRP_LOG_TROUGH = -1.0
CRP_ATI = 0.5
CRP_NO_MH = 0.6
CRP_QUIET = (np.log(0.035), 0.9)    # lognormal (log median, sd) of the CRP, mg/dL
CRP_INFLAMED = (np.log(0.9), 0.9)


@dataclass(frozen=True)
class Cohort:
    """Ground truth in canonical form; ``patient_id`` holds the RAW study number.

    ``patients`` has one extra column ``truth_exclusion`` (missing when eligible, else the code of
    :data:`schema.derived.EXCLUSIONS` the patient was built to fail).
    """

    patients: pd.DataFrame
    assessments: pd.DataFrame
    elisa: pd.DataFrame
    labs: pd.DataFrame
    seed: int
    centres: tuple[str, ...]

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        return {"patient": self.patients, "assessment": self.assessments, "elisa": self.elisa, "lab": self.labs}

    def for_centre(self, centre_id: str) -> dict[str, pd.DataFrame]:
        return {k: v[v["centre_id"] == centre_id].reset_index(drop=True) for k, v in self.frames.items()}

    def save(self, directory: str | Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for name, df in self.frames.items():
            p = directory / f"truth_{name}.parquet"
            df.to_parquet(p, index=False)
            out.append(p)
        return out

    @classmethod
    def load(cls, directory: str | Path, seed: int = -1) -> "Cohort":
        directory = Path(directory)
        f = {n: pd.read_parquet(directory / f"truth_{n}.parquet") for n in ("patient", "assessment", "elisa", "lab")}
        centres = tuple(dict.fromkeys(f["patient"]["centre_id"]))
        return cls(f["patient"], f["assessment"], f["elisa"], f["lab"], seed, centres)


def _typed(entity: str, data: dict) -> pd.DataFrame:
    cols = {}
    n = len(next(iter(data.values())))
    for v in BY_ENTITY[entity]:
        dtype = PANDAS_DTYPES[v.dtype]
        s = pd.Series(data.get(v.name, [None] * n))
        cols[v.name] = s.astype(dtype) if dtype != "Int64" else pd.array(s, dtype="Int64")
    return pd.DataFrame(cols)


def _choice(rng, codes, p, n):
    return np.asarray(codes, dtype=object)[rng.choice(len(codes), size=n, p=np.asarray(p) / np.sum(p))]


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _solve_intercept(lin: np.ndarray, target: float) -> float:
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _expit(mid + lin).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _inflamed_share(remission_target: float) -> float:
    """Share in the inflamed state that gives ``remission_target`` with CRP < 0.3 mg/dL."""
    below = [NormalDist(mu, sd).cdf(np.log(0.3)) for mu, sd in (CRP_QUIET, CRP_INFLAMED)]
    return float(np.clip((below[0] - remission_target) / (below[0] - below[1]), 0.0, 1.0))


def _raw_ids(rng, centre: np.ndarray, centres: tuple[str, ...]) -> np.ndarray:
    ids = np.empty(len(centre), dtype=object)
    for c in centres:
        idx = np.flatnonzero(centre == c)
        style = CENTRE_STYLE.get(c, {})
        fmt = style.get("id", c.upper() + "-{:05d}")
        # distinct, unordered study numbers
        numbers = rng.choice(np.arange(1, max(10 * len(idx), 1000)), size=len(idx), replace=False)
        numbers = numbers + style.get("id_offset", 0)
        ids[idx] = [fmt.format(int(k)) for k in numbers]
    return ids


def _labs_panel(rng, n: int, mh: np.ndarray, aza: np.ndarray, inflamed: np.ndarray) -> dict[str, np.ndarray]:
    """One lab panel per patient (canonical units, realistic precision), NaN where not done.

    ``inflamed``: the latent state behind the CRP (see :data:`CRP_INFLAMED`)."""
    nomh = ~mh
    wbc = np.clip(np.round(rng.lognormal(np.log(6000), 0.38, n), -1), 1500, 20000)
    hct = np.clip(np.round(rng.normal(41.5, 4.3, n), 1), 25, 55)
    plt_ = np.clip(np.round(rng.normal(252 + 22 * nomh, 58, n)), 80, 700)
    alb = np.clip(np.round(rng.normal(4.55 - 0.12 * nomh, 0.28, n), 1), 2.5, 5.4)
    esr = np.clip(np.round(rng.lognormal(np.log(9) + 0.35 * nomh, 0.85, n)), 1, 120)
    crp = np.where(inflamed, rng.lognormal(*CRP_INFLAMED, n), rng.lognormal(*CRP_QUIET, n))
    crp = np.clip(np.round(crp, 2), 0.01, 30)
    tgn = np.clip(np.round(rng.normal(253, 101, n)), 30, 900)
    tgn = np.where(aza & (rng.random(n) < 0.85), tgn, np.nan)
    esr = np.where(rng.random(n) < 0.03, np.nan, esr)
    return {"wbc_per_ul": wbc, "haematocrit_pct": hct, "platelets_10e3_ul": plt_, "albumin_g_dl": alb,
            "esr_mm_h": esr, "crp_mg_dl": crp, "tgn6_pmol_8e8_rbc": tgn}


def _long(centre, pid, dates, panel: dict[str, np.ndarray]) -> pd.DataFrame:
    parts = []
    for analyte in ANALYTES:
        v = panel[analyte]
        keep = ~np.isnan(v)
        parts.append(pd.DataFrame({"centre_id": centre[keep], "patient_id": pid[keep],
                                   "sample_date": dates[keep], "analyte": analyte, "value": v[keep]}))
    return pd.concat(parts, ignore_index=True)


def generate_cohort(n_patients: int, centres=("smc", "sch", "knuh"), seed: int = 0) -> Cohort:
    """A realistic multicentre cohort of ``n_patients`` (ground truth, canonical units, raw ids)."""
    if isinstance(centres, str):
        centres = tuple(c.strip() for c in centres.split(",") if c.strip())
    centres = tuple(centres)
    if not centres:
        raise ValueError("give at least one centre")
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    n = int(n_patients)
    rng = np.random.default_rng(seed)

    known = [CENTRE_WEIGHTS.get(c) for c in centres]
    rest = (1.0 - sum(w for w in known if w)) if any(w is None for w in known) else 0.0
    n_unknown = sum(w is None for w in known)
    w = np.array([k if k is not None else max(rest, 0.3) / n_unknown for k in known], dtype=float)
    centre = _choice(rng, centres, w, n).astype(str)
    pid = _raw_ids(rng, centre, centres)

    # planned exclusions (at least one of each when the cohort is big enough)
    exclusion = np.full(n, None, dtype=object)
    order = rng.permutation(n)
    pos = 0
    for code, rate in EXCLUSION_RATES.items():
        k = int(round(rate * n)) or (1 if n >= 40 else 0)
        exclusion[order[pos:pos + k]] = code
        pos += k

    # baseline
    sex = np.where(rng.random(n) < 0.70, "M", "F")
    age_dx = np.clip(rng.normal(14.7, 2.2, n), 5.0, 17.6)
    fast = rng.random(n) < 0.62
    delay = np.where(fast, rng.uniform(0.02, 0.15, n), rng.lognormal(np.log(1.2), 0.8, n))
    delay = np.clip(delay, 0.02, None)
    age_exc = exclusion == "age_at_ifx_start"
    age_dx = np.where(age_exc, rng.uniform(17.2, 17.8, n), age_dx)
    delay = np.where(age_exc, 18.1 - age_dx + rng.uniform(0.0, 0.5, n), np.minimum(delay, 17.85 - age_dx))
    duration = 1.05 + rng.gamma(1.2, 0.2, n)
    short = exclusion == "ifx_duration"
    duration = np.where(short, rng.uniform(0.4, 0.9, n), duration)

    span = int((STUDY_END - STUDY_START) / DAY)
    colo = STUDY_START + rng.integers(0, span + 1, n) * DAY
    ifx_start = colo - np.round(duration * 365.25).astype(int) * DAY
    diagnosis = ifx_start - np.maximum(np.round(delay * 365.25).astype(int), 7) * DAY
    birth = diagnosis - np.round(age_dx * 365.25).astype(int) * DAY
    delay_years = (ifx_start - diagnosis) / DAY / 365.25
    age_dx_years = (diagnosis - birth) / DAY / 365.25

    location = _choice(rng, ["L1", "L2", "L3"], [0.076, 0.057, 0.867], n)
    upper = _choice(rng, ["none", "L4a", "L4b", "L4ab"], [0.33, 0.27, 0.14, 0.26], n)
    behaviour = _choice(rng, ["B1", "B2", "B3", "B2B3"], [0.80, 0.16, 0.03, 0.01], n)
    paris_age = np.where(age_dx_years < 10, "A1a", np.where(age_dx_years < 17, "A1b", "A2"))
    patients = _typed("patient", {
        "centre_id": centre, "patient_id": pid, "sex": sex,
        "birth_date": birth, "diagnosis_date": diagnosis,
        "diagnosis_type": np.where(exclusion == "ibd_u", "IBD-U", "CD"),
        "paris_age": paris_age, "paris_location": location, "paris_upper": upper, "paris_behaviour": behaviour,
        "paris_perianal": rng.random(n) < 0.64,
        "paris_growth": np.where(rng.random(n) < 0.17, "G1", "G0"),
        "family_history_ibd": rng.random(n) < 0.105,
        "ifx_start_date": ifx_start,
        "ifx_indication": np.where(exclusion == "perianal_fistula_indication", "perianal_fistula", "luminal"),
        "anti_tnf_naive": rng.random(n) < 0.97,
    })
    patients["truth_exclusion"] = pd.Series(exclusion, dtype="str")

    # treatment at the follow-up colonoscopy
    dose_up = rng.random(n) < 0.105
    aza = rng.random(n) < 0.905
    n_inf = _choice(rng, [7, 8, 9, 10, 11], [0.05, 0.60, 0.25, 0.07, 0.03], n).astype(int)
    n_inf = np.where(dose_up, n_inf + rng.integers(1, 3, n), n_inf)
    n_inf = np.where(short, rng.integers(4, 7, n), n_inf)

    # ELISA: ATI more frequent without AZA; ATI-positive troughs around 1 ug/mL
    ati = rng.random(n) < np.where(aza, 0.06, 0.22)
    trough = np.where(ati, rng.lognormal(np.log(1.0), 0.8, n), rng.lognormal(np.log(4.0), 0.5, n))
    trough = np.where(dose_up & ~ati, trough * 1.1, trough)
    trough = np.round(trough, 2)
    censor = np.where(trough < LLOQ, "<", np.where(trough > ULOQ, ">", "="))
    trough = np.where(censor == "<", LLOQ, np.where(censor == ">", ULOQ, trough))
    trough_analysis = np.where(censor == "<", LLOQ / 2, trough)

    # mucosal healing from the latent model
    lin = BETA_TROUGH * trough_analysis + BETA_B1 * (behaviour == "B1") + BETA_DELAY * delay_years
    b0 = _solve_intercept(lin, MH_TARGET)
    mh = rng.random(n) < _expit(b0 + lin)
    near = rng.random(n) < 0.22
    ses = np.where(mh, 0, np.where(near, rng.integers(1, 3, n), 2 + rng.geometric(0.206, n)))
    ses = np.minimum(ses, 30)
    # segments where the disease is (L1 ileum; L2 colon; L3 both)
    seg_w = np.where((location == "L1")[:, None], [1, 0, 0, 0, 0],
                     np.where((location == "L2")[:, None], [0, 1, 1, 1, 1], [3, 1, 1, 1, 1])).astype(float)
    segs = rng.multinomial(ses, seg_w / seg_w.sum(axis=1, keepdims=True))
    segs = np.minimum(segs, 12)
    ses = segs.sum(axis=1)
    # clinical activity and the inflamed state follow the trough (log scale), ATI and the mucosa
    log_trough = np.log(trough_analysis)
    inflamed_mucosa = (ses > 0).astype(float)
    lin_clin = CLIN_LOG_TROUGH * log_trough + CLIN_ATI * ati + CLIN_NO_MH * inflamed_mucosa
    active = rng.random(n) < _expit(_solve_intercept(lin_clin, 1 - CLINICAL_REMISSION_TARGET) + lin_clin)
    lin_crp = CRP_LOG_TROUGH * log_trough + CRP_ATI * ati + CRP_NO_MH * inflamed_mucosa
    b0_crp = _solve_intercept(lin_crp, _inflamed_share(BIOCHEMICAL_REMISSION_TARGET))
    p_inflamed = _expit(b0_crp + lin_crp)
    values, probs = PCDAI_REMISSION
    pcdai = np.where(ses == 0, _choice(rng, values, probs[True], n), _choice(rng, values, probs[False], n))
    pcdai = np.where(active, _choice(rng, *PCDAI_ACTIVE, n), pcdai).astype(float)

    assessments = _typed("assessment", {
        "centre_id": centre, "patient_id": pid, "colonoscopy_date": colo, "infusion_date": colo,
        "n_infusions": n_inf, "dose_intensification": dose_up, "concomitant_aza": aza,
        "corticosteroids": rng.random(n) < 0.057, "gi_surgery": rng.random(n) < 0.057,
        "pcdai": pcdai, "ses_cd_total": ses,
        "ses_cd_ileum": segs[:, 0], "ses_cd_right_colon": segs[:, 1], "ses_cd_transverse_colon": segs[:, 2],
        "ses_cd_left_colon": segs[:, 3], "ses_cd_rectum": segs[:, 4],
    })

    # trough sample 30-90 min before an infusion started between 09:00 and 14:00
    infusion_min = 9 * 60 + 5 * rng.integers(0, 61, n)
    sample_min = infusion_min - rng.integers(30, 91, n)
    sample_dt = colo.astype("datetime64[m]") + sample_min * np.timedelta64(1, "m")
    style = [CENTRE_STYLE.get(c, DEFAULT_STYLE) for c in centres]
    has_titre = np.isin(centre, [c for c, s in zip(centres, style) if s["ati_titre"]])
    cutoff_by = {c: s["ati_cutoff"] for c, s in zip(centres, style)}
    cutoff = pd.Series(centre).map(cutoff_by).astype("float64").to_numpy()
    titre = np.where(ati & has_titre, np.round(np.maximum(rng.lognormal(np.log(60), 0.8, n), 12.0), 1), np.nan)
    elisa = _typed("elisa", {
        "centre_id": centre, "patient_id": pid, "trough_sample_datetime": sample_dt.astype("datetime64[us]"),
        "assay_name": np.full(n, ASSAY), "trough_ug_ml": trough, "trough_censor": censor,
        "lloq_ug_ml": np.full(n, LLOQ), "uloq_ug_ml": np.full(n, ULOQ),
        "ati_status": np.where(ati, "positive", "negative"), "ati_titre_ng_ml": titre,
        "ati_cutoff_ng_ml": np.where(has_titre, cutoff, np.nan),
    })

    # labs: the panel for the visit (same day or the day before), plus, where the centre's LIS
    # sends everything, earlier and later panels the warehouse must not pick
    lab_date = colo - rng.integers(0, 2, n) * DAY
    frames = [_long(centre, pid, lab_date, _labs_panel(rng, n, ses == 0, aza, rng.random(n) < p_inflamed))]
    extra_centres = [c for c, s in zip(centres, style) if s.get("extra_panels")]
    if extra_centres:
        sel = np.isin(centre, extra_centres)
        early = sel & (rng.random(n) < 0.4)
        late = sel & (rng.random(n) < 0.2)
        early_date = colo - rng.integers(14, 91, n) * DAY
        late_date = colo + rng.integers(14, 61, n) * DAY
        for when, dates in ((early, early_date), (late, late_date)):
            panel = _labs_panel(rng, n, ses == 0, aza, rng.random(n) < p_inflamed)
            frames.append(_long(centre[when], pid[when], dates[when], {k: v[when] for k, v in panel.items()}))
    labs = pd.concat(frames, ignore_index=True)
    labs = labs.sort_values(["centre_id", "patient_id", "sample_date"], kind="stable").reset_index(drop=True)
    labs = _typed("lab", {c: labs[c].to_numpy() for c in entity_columns("lab")})

    return Cohort(patients=patients, assessments=assessments, elisa=elisa, labs=labs, seed=seed, centres=centres)


__all__ = ["Cohort", "generate_cohort", "CENTRE_STYLE", "ASSAY", "LLOQ", "ULOQ", "EXCLUSION_RATES"]
