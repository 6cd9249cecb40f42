"""Fast, vectorised generators of large, valid centre exports for the benchmarks.

``synth`` builds a realistic study (a few hundred patients, injected errors); here we need
1e4..1e7 *valid* rows quickly, so rows are drawn with numpy in chunks and written with Arrow's
CSV writer (about 1-2 s per million wide rows).  Formats:

* ``smc``  - the canonical wide template (``schema.dictionary.template_columns()``), one row per
  patient and follow-up assessment (one assessment per patient so no row trips
  ``second_assessment``), ISO dates, yes/no booleans, trough as reported (``3.2``, ``<0.4``).
* ``sch``  - the wide workbook (sheet ``IFX``): the same lines under the profile's Korean headers,
  day-first dates, local labels and units (WBC 10^3/uL, Hct fraction, albumin g/L, CRP mg/L).
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
import xlsxwriter

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

def _smc_chunk(rng, start: int, n: int, noisy: bool = False) -> dict[str, np.ndarray]:
    birth, dx, ifx, colo = _patients(rng, n)
    line = np.arange(start, start + n)
    warn = noisy & (line % 100 == 49)          # ~1 cohort warning in 100 lines: IFX < 1 year at colonoscopy
    ifx = np.where(warn, colo - np.timedelta64(200, "D"), ifx)
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
    if noisy:
        _break_lines(out, line)
    return out


#: the errors of a noisy export, one line in 1,000, in turn: column -> text that rejects the line
BAD_CELLS = (("birth_date", "31/02/2009"), ("sex", "X"), ("pcdai", "-5"))


def _break_lines(out: dict[str, np.ndarray], line: np.ndarray) -> None:
    """One line in 1,000 gets one bad cell (an unparseable date, an unknown code, a value out of range)."""
    bad = line % 1000 == 499
    kind = (line // 1000) % len(BAD_CELLS)
    for k, (col, text) in enumerate(BAD_CELLS):
        out[col] = np.where(bad & (kind == k), text, out[col]).astype("str")


def write_smc(path: str | Path, rows: int, seed: int = 1, chunk: int = CHUNK, noisy: bool = False) -> Path:
    """A canonical wide CSV of ``rows`` rows (one per patient), all valid; ``noisy``: the realistic
    export of issue #15's targets, one line in 1,000 with an error (:data:`BAD_CELLS`) and one in 100
    with a cohort warning (``ifx_under_1_year``: IFX started 200 days before the colonoscopy)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cols = template_columns()

    def gen():
        for start in range(0, rows, chunk):
            yield _smc_chunk(rng, start, min(chunk, rows - start), noisy)

    _write(path, cols, gen())
    return path


# -- sch: the wide workbook (Korean headers, day-first dates, local labels, other units) -----------------

def _dmy(iso: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD[ rest]`` -> ``DD/MM/YYYY[ rest]`` (vectorised on the characters)."""
    iso = np.asarray(iso, dtype="str")
    width = iso.dtype.itemsize // 4
    c = np.ascontiguousarray(iso.astype(f"U{width}")).view("U1").reshape(len(iso), width)
    order = [8, 9, 7, 5, 6, 4, 0, 1, 2, 3] + list(range(10, width))
    d = np.ascontiguousarray(c[:, order])
    d[:, 2] = d[:, 5] = "/"
    return d.view(f"U{width}").ravel()


def _label(values: np.ndarray, labels: dict[str, str]) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    for code, label in labels.items():
        out[values == code] = label
    return out.astype("str")


def _per(x: np.ndarray, factor: float, decimals: int) -> np.ndarray:
    return _fmt(np.asarray(x, dtype=float) * factor, decimals)


_YN = {"yes": "Y", "no": "N"}


def _sch_chunk(rng, start: int, n: int) -> dict[str, np.ndarray]:
    """The sch workbook's columns from the canonical values (the profile run backwards)."""
    d = _smc_chunk(rng, start, n)
    upper = d["paris_upper"]
    loc = np.where(upper == "none", d["paris_location"], np.char.add(np.char.add(d["paris_location"], "+"), upper))
    return {
        "연구번호": d["patient_id"], "성별": _label(d["sex"], {"M": "남", "F": "여"}),
        "생년월일": _dmy(d["birth_date"]), "진단일": _dmy(d["diagnosis_date"]),
        "진단명": _label(d["diagnosis_type"], {"CD": "크론병", "IBD-U": "미분류"}), "Paris A": d["paris_age"],
        "Location": loc, "Behav": _label(d["paris_behaviour"], {"B1": "b1", "B2": "b2", "B3": "b3", "B2B3": "B2/B3"}),
        "항문주위": _label(d["paris_perianal"], _YN), "Growth": d["paris_growth"],
        "가족력": _label(d["family_history_ibd"], _YN), "IFX 시작일": _dmy(d["ifx_start_date"]),
        "IFX 적응증": _label(d["ifx_indication"], {"luminal": "Luminal", "perianal_fistula": "Perianal fistula"}),
        "Anti-TNF naive": _label(d["anti_tnf_naive"], _YN), "CFS date": _dmy(d["colonoscopy_date"]),
        "Infusion date": _dmy(d["infusion_date"]), "IFX #": d["n_infusions"],
        "Dose ↑": _label(d["dose_intensification"], _YN), "AZA": _label(d["concomitant_aza"], _YN),
        "Steroid": _label(d["corticosteroids"], _YN), "수술력": _label(d["gi_surgery"], _YN), "PCDAI": d["pcdai"],
        "SES-CD": d["ses_cd_total"], "SES-I": d["ses_cd_ileum"], "SES-RC": d["ses_cd_right_colon"],
        "SES-TC": d["ses_cd_transverse_colon"], "SES-LC": d["ses_cd_left_colon"], "SES-R": d["ses_cd_rectum"],
        "채혈시간": _dmy(d["trough_sample_datetime"]), "IFX TL": d["trough_ug_ml"],
        "ATI": _label(d["ati_status"], {"positive": "양성", "negative": "음성"}), "Lab date": _dmy(d["lab_date"]),
        "WBC (10^3/uL)": _per(d["wbc_per_ul"], 1e-3, 3), "Hct": _per(d["haematocrit_pct"], 1e-2, 3),
        "PLT (10^3/uL)": d["platelets_10e3_ul"], "Alb (g/L)": _per(d["albumin_g_dl"], 10, 0),
        "ESR (mm/hr)": d["esr_mm_h"], "CRP (mg/L)": _per(d["crp_mg_dl"], 10, 1), "6-TGN": d["tgn6_pmol_8e8_rbc"],
    }


def write_sch_workbook(path: str | Path, rows: int, seed: int = 4) -> Path:
    """The sch centre's wide workbook (sheet ``IFX``) of ``rows`` valid lines; numbers as number cells
    (as Excel stores them), dates as the day-first text the export holds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": True})
    ws = wb.add_worksheet("IFX")
    header = None
    r = 0
    for start in range(0, rows, CHUNK):
        cols = _sch_chunk(rng, start, min(CHUNK, rows - start))
        if header is None:
            header = list(cols)
            ws.write_row(0, 0, header)
            r = 1
        for values in zip(*(cols[h].tolist() for h in header)):
            ws.write_row(r, 0, [v if v != "" else None for v in values])
            r += 1
    wb.close()
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
