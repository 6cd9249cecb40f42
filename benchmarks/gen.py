"""Fast, vectorised generators of large, valid centre exports for the benchmarks.

``tdm.synth`` builds a realistic study (a few hundred patients, injected errors); here we need
1e4..1e7 *valid* rows quickly, so rows are drawn with numpy in chunks and written with Arrow's
CSV writer (about 1-2 s per million wide rows).  Formats:

* ``smc``  - the canonical wide template (``schema.dictionary.template_columns()``), one row per
  patient and follow-up assessment (one assessment per patient so no row trips
  ``second_assessment``), ISO dates, yes/no booleans, trough as reported (``3.2``, ``<0.4``).
* ``knuh`` - the baseline research-database CSV (``knuh_baseline.csv``; the lab file's patients
  must be known or every lab row is an ``orphan_record``) and the LONG LIS lab export
  (``knuh_lis_labs.csv``: ``PT_NO, TEST_CD, TEST_NM, SPC_DT, RSLT, UNIT, REF_RANGE``), one row per
  patient, test and sample, with tests the profile drops (Hb, AST...) mixed in and CRP in mg/L or
  mg/dL as in the real export.

Every value is inside the dictionary's ranges and every cross-field rule holds (paediatric
diagnosis, IFX >= 1 year before the colonoscopy, colonoscopy on the infusion day, trough on the
infusion day, SES-CD total = sum of segments), so the whole file is accepted and the benchmark
measures the full load, not an early rejection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from schema.dictionary import template_columns

CHUNK = 250_000
EPOCH = np.datetime64("2000-01-01")


def _days(base, offs) -> np.ndarray:
    return (base + offs.astype("timedelta64[D]")).astype("datetime64[D]")


def _iso(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[D]").astype("str")


def _dots(d: np.ndarray) -> np.ndarray:
    return np.char.replace(_iso(d), "-", ".")


def _choice(rng, values, n, p=None) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)].astype("str")


def _fmt(x: np.ndarray, decimals: int) -> np.ndarray:
    return np.char.mod(f"%.{decimals}f", np.round(x, decimals))


def _patients(rng, n: int):
    """Per-patient dates that satisfy every date rule (paediatric, IFX >= 1 y before colonoscopy)."""
    birth = _days(EPOCH, rng.integers(0, 3650, n))                      # 2000-2009
    dx = _days(birth, rng.integers(6 * 365, 12 * 365, n))               # age 6-12 at diagnosis
    ifx = _days(dx, rng.integers(14, 300, n))                           # < 18 at first IFX
    colo = _days(ifx, rng.integers(400, 1200, n))                       # >= 1 year on IFX
    return birth, dx, ifx, colo


def _write(path: Path, columns: list[str], chunks) -> int:
    """Write chunks of {column: str array} as a CSV without quoting (values never need it)."""
    rows = 0
    opts = pacsv.WriteOptions(include_header=True, quoting_style="none")
    schema = pa.schema([(c, pa.string()) for c in columns])
    with pacsv.CSVWriter(str(path), schema, write_options=opts) as w:
        for data in chunks:
            t = pa.table({c: pa.array(data[c], type=pa.string()) for c in columns}, schema=schema)
            w.write_table(t)
            rows += t.num_rows
    return rows


# -- smc: canonical wide ------------------------------------------------------------------------------

def _smc_chunk(rng, start: int, n: int) -> dict[str, np.ndarray]:
    birth, dx, ifx, colo = _patients(rng, n)
    yn = lambda p: np.where(rng.random(n) < p, "yes", "no")  # noqa: E731
    seg = rng.integers(0, 4, size=(5, n))
    lloq, uloq = 0.4, 16.0
    trough = np.round(rng.lognormal(1.0, 0.9, n), 1)
    trough_txt = np.where(trough < lloq, "<0.4", np.where(trough > uloq, ">16", _fmt(np.clip(trough, lloq, uloq), 1)))
    ati_pos = rng.random(n) < 0.1
    titre = np.where(ati_pos, _fmt(rng.uniform(20, 200, n), 1), "")
    cutoff = np.where(ati_pos, "10", "")
    tgn = np.where(rng.random(n) < 0.5, _fmt(rng.uniform(100, 500, n), 0), "")
    out = {
        "patient_id": np.char.add("S", np.char.zfill(np.arange(start, start + n).astype("str"), 8)),
        "sex": _choice(rng, ["M", "F"], n),
        "birth_date": _iso(birth),
        "diagnosis_date": _iso(dx),
        "diagnosis_type": _choice(rng, ["CD", "IBD-U"], n, [0.95, 0.05]),
        "paris_age": _choice(rng, ["A1a", "A1b"], n),
        "paris_location": _choice(rng, ["L1", "L2", "L3"], n),
        "paris_upper": _choice(rng, ["none", "L4a", "L4b", "L4ab"], n, [0.5, 0.3, 0.1, 0.1]),
        "paris_behaviour": _choice(rng, ["B1", "B2", "B3", "B2B3"], n, [0.7, 0.15, 0.1, 0.05]),
        "paris_perianal": yn(0.3),
        "paris_growth": _choice(rng, ["G0", "G1"], n),
        "family_history_ibd": yn(0.1),
        "ifx_start_date": _iso(ifx),
        "ifx_indication": _choice(rng, ["luminal", "perianal_fistula"], n, [0.8, 0.2]),
        "anti_tnf_naive": yn(0.9),
        "colonoscopy_date": _iso(colo),
        "infusion_date": _iso(colo),
        "n_infusions": rng.integers(8, 40, n).astype("str"),
        "dose_intensification": yn(0.3),
        "concomitant_aza": yn(0.5),
        "corticosteroids": yn(0.1),
        "gi_surgery": yn(0.05),
        "pcdai": _fmt(rng.integers(0, 24, n) * 2.5, 1),
        "ses_cd_total": seg.sum(axis=0).astype("str"),
        "ses_cd_ileum": seg[0].astype("str"),
        "ses_cd_right_colon": seg[1].astype("str"),
        "ses_cd_transverse_colon": seg[2].astype("str"),
        "ses_cd_left_colon": seg[3].astype("str"),
        "ses_cd_rectum": seg[4].astype("str"),
        "trough_sample_datetime": np.char.add(_iso(colo), " 08:30"),
        "assay_name": np.full(n, "Shikari Q-INFLIXI"),
        "trough_ug_ml": trough_txt,
        "lloq_ug_ml": np.full(n, "0.4"),
        "uloq_ug_ml": np.full(n, "16"),
        "ati_status": np.where(ati_pos, "positive", "negative"),
        "ati_titre_ng_ml": titre,
        "ati_cutoff_ng_ml": cutoff,
        "lab_date": _iso(colo),
        "wbc_per_ul": rng.integers(3000, 12000, n).astype("str"),
        "haematocrit_pct": _fmt(rng.uniform(30, 45, n), 1),
        "platelets_10e3_ul": rng.integers(150, 500, n).astype("str"),
        "albumin_g_dl": _fmt(rng.uniform(3, 5, n), 1),
        "esr_mm_h": rng.integers(2, 60, n).astype("str"),
        "crp_mg_dl": _fmt(rng.uniform(0.01, 5, n), 2),
        "tgn6_pmol_8e8_rbc": tgn,
    }
    return out


def write_smc(path: str | Path, rows: int, seed: int = 1, chunk: int = CHUNK) -> Path:
    """A canonical wide CSV of ``rows`` rows (one per patient), all valid."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cols = template_columns()

    def gen():
        for start in range(0, rows, chunk):
            yield _smc_chunk(rng, start, min(chunk, rows - start))

    _write(path, cols, gen())
    return path


# -- knuh: baseline + long LIS lab export ---------------------------------------------------------------

KNUH_BASELINE_COLUMNS = ["PT_NO", "SEX", "BIRTH_DT", "DX_DT", "DX", "PARIS_AGE", "PARIS_L", "PARIS_UGI", "PARIS_B",
                         "PERIANAL", "GROWTH", "FHX", "IFX_START_DT", "IFX_IND", "ANTI_TNF_NAIVE"]
KNUH_LAB_COLUMNS = ["PT_NO", "TEST_CD", "TEST_NM", "SPC_DT", "RSLT", "UNIT", "REF_RANGE"]

# (test name, test code, unit, low, high, decimals); Hb/AST/ALT... are dropped by the profile.  hs-CRP is
# left out: it maps onto the same analyte as CRP and would repeat the (patient, day, analyte) key.
LIS_TESTS = [
    ("WBC", "L1001", "/uL", 3000, 12000, 0),
    ("Hct", "L1002", "%", 30, 45, 1),
    ("PLT", "L1003", "10^3/uL", 150, 500, 0),
    ("Albumin", "L2001", "g/dL", 3.0, 5.0, 1),
    ("ESR", "L3001", "mm/hr", 2, 60, 0),
    ("CRP", "L2002", "mg/L", 0.1, 50, 1),
    ("6-TGN", "L4001", "pmol/8x10^8 RBC", 100, 500, 0),
    ("Hb", "L1004", "g/dL", 10, 15, 1),
    ("AST", "L2101", "U/L", 10, 40, 0),
    ("ALT", "L2102", "U/L", 10, 40, 0),
    ("Cr", "L2201", "mg/dL", 0.3, 1.0, 2),
]


def knuh_patient_ids(n_patients: int) -> np.ndarray:
    return np.char.add("K", np.char.zfill(np.arange(n_patients).astype("str"), 7))


def write_knuh_baseline(path: str | Path, n_patients: int, seed: int = 2) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def gen():
        for start in range(0, n_patients, CHUNK):
            n = min(CHUNK, n_patients - start)
            birth, dx, ifx, _ = _patients(rng, n)
            yield {
                "PT_NO": knuh_patient_ids(n_patients)[start:start + n],
                "SEX": _choice(rng, ["1", "2"], n), "BIRTH_DT": _dots(birth), "DX_DT": _dots(dx),
                "DX": _choice(rng, ["CD", "IBDU"], n, [0.95, 0.05]), "PARIS_AGE": _choice(rng, ["A1a", "A1b"], n),
                "PARIS_L": _choice(rng, ["L1", "L2", "L3"], n), "PARIS_UGI": _choice(rng, ["0", "L4a", "L4b"], n),
                "PARIS_B": _choice(rng, ["B1", "B2", "B3"], n), "PERIANAL": _choice(rng, ["0", "1"], n),
                "GROWTH": _choice(rng, ["G0", "G1"], n), "FHX": _choice(rng, ["0", "1"], n, [0.9, 0.1]),
                "IFX_START_DT": _dots(ifx), "IFX_IND": _choice(rng, ["luminal", "fistula"], n, [0.8, 0.2]),
                "ANTI_TNF_NAIVE": _choice(rng, ["Y", "N"], n, [0.9, 0.1]),
            }

    _write(path, KNUH_BASELINE_COLUMNS, gen())
    return path


def write_knuh_labs(path: str | Path, rows: int, n_patients: int, seed: int = 3, chunk: int = CHUNK) -> Path:
    """A long LIS export of ``rows`` rows over ``n_patients`` patients (PT_NO as in the baseline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = knuh_patient_ids(n_patients)
    names = np.array([t[0] for t in LIS_TESTS])
    codes = np.array([t[1] for t in LIS_TESTS])
    units = np.array([t[2] for t in LIS_TESTS])
    lo = np.array([t[3] for t in LIS_TESTS], dtype=float)
    hi = np.array([t[4] for t in LIS_TESTS], dtype=float)
    dec = np.array([t[5] for t in LIS_TESTS])

    first_day = _days(np.datetime64("2012-01-01"), rng.integers(0, 3000, n_patients))
    n_tests = len(LIS_TESTS)

    def gen():
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            i = np.arange(start, start + n)
            # row i -> patient i % P, its k-th result (k = i // P): test k % T on sample day k // T, so
            # (patient, sample day, test) never repeats and no row trips duplicate_key/duplicate_row
            p, k = i % n_patients, i // n_patients
            t = k % n_tests
            v = rng.uniform(lo[t], hi[t])
            txt = np.empty(n, dtype=object)
            for d in np.unique(dec):
                m = dec[t] == d
                txt[m] = _fmt(v[m], int(d))
            day = _days(first_day[p], (k // n_tests) * 7)
            hh = np.char.zfill(rng.integers(6, 20, n).astype("str"), 2)
            mm = np.char.zfill(rng.integers(0, 60, n).astype("str"), 2)
            spc = np.char.add(np.char.add(np.char.add(np.char.add(_iso(day), " "), hh), ":"), np.char.add(mm, ":00"))
            yield {
                "PT_NO": ids[p], "TEST_CD": codes[t], "TEST_NM": names[t],
                "SPC_DT": spc, "RSLT": txt.astype("str"), "UNIT": units[t], "REF_RANGE": np.full(n, "-"),
            }

    _write(path, KNUH_LAB_COLUMNS, gen())
    return path


# -- analysis data ----------------------------------------------------------------------------------------

def roc_data(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A trough-like marker (0.1 ug/mL resolution, ties as in real data) and a binary outcome."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    x = np.round(rng.lognormal(np.where(y, 1.6, 1.0), 0.8), 1)
    return x, y


def write_roc_csv(path: str | Path, n: int, seed: int = 7) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x, y = roc_data(n, seed)
    _write(path, ["marker", "outcome"], [{"marker": _fmt(x, 1), "outcome": y.astype(int).astype("str")}])
    return path
