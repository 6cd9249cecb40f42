"""A large long-format lab export for the knuh profile, written in blocks (never held in memory),
and the measuring subprocess used by ``test_large_file.py``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

TESTS = [("CRP", "mg/dL", 0.05, 3.0), ("Albumin", "g/dL", 3.0, 5.0), ("ESR", "mm/hr", 2, 60),
         ("WBC", "10^3/uL", 3.0, 12.0), ("Hct", "%", 30.0, 45.0), ("PLT", "10^3/uL", 150, 450),
         ("Hb", "g/dL", 10.0, 15.0), ("AST", "IU/L", 10, 40)]
HEADER = "PT_NO,TEST_NM,SPC_DT,RSLT,UNIT,TEST_CD,REF_RANGE\n"


#: Sample days run from START to END, fixed and in the past: every row passes "not in the future"
#: whatever the day the test runs (a later day than END would be rejected).
START, END = dt.date(2005, 1, 1), dt.date(2025, 12, 31)


def write_large_lis(path: Path, baseline: bytes, target_bytes: int) -> tuple[int, bytes]:
    """Unique (patient, sample day, test) rows until ``target_bytes``; returns the number of data rows
    and the baseline to load first.

    The patients are the baseline's; when their days from START to END are used up, the baseline's rows
    are repeated under new study numbers (+1,000,000 per round), so a file of any size has every sample
    day in the past, every patient in the baseline and no duplicate key."""
    header, *rows = baseline.decode("utf-8-sig").splitlines()
    base = [r.split(",", 1) for r in rows if r]
    days = [(START + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range((END - START).days + 1)]
    n = written = 0
    clones: list[str] = []
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff" + HEADER)
        round_ = 0
        while written < target_bytes:
            patients = [str(int(pid) + 1_000_000 * round_) for pid, _ in base]
            clones += [f"{pid},{rest}" for pid, (_, rest) in zip(patients, base)] if round_ else []
            for day, d in enumerate(days):
                block = []
                for i, pid in enumerate(patients):
                    for j, (name, unit, lo, hi) in enumerate(TESTS):
                        v = lo + (hi - lo) * (((day * 31 + i * 7 + j * 13) % 97) / 97)
                        block.append(f"{pid},{name},{d} 08:{(i + j) % 60:02d}:00,{v:.2f},{unit},,\n")
                text = "".join(block)
                fh.write(text)
                written += len(text.encode("utf-8"))
                n += len(block)
                if written >= target_bytes:
                    break
            round_ += 1
    out = "\ufeff" + "\n".join([header] + [r for r in rows if r] + clones) + "\n"
    return n, out.encode("utf-8")


MEASURE = r"""
import os, sys, json
sys.path.insert(0, {root!r})
import ingestion as ingest
import centres.readers as readers
import ingestion.read as reading
home = {home!r}
calls = []
_raw = reading.read_raw
def read_raw(con, path, *a, **k):        # the set-wise reader (DuckDB's read_csv), never pandas whole-file
    calls.append(os.path.basename(str(path)))
    return _raw(con, path, *a, **k)
reading.read_raw = read_raw
def whole(*a, **k):
    raise AssertionError("a CSV was read whole into pandas")
readers.read_workbook = whole
settings, profiles, key = ingest.setup(home)
# warm-up: the baseline (small) through the same code, so imports and caches are in the baseline peak
ingest.run_pass(home, stable_seconds=0)
from tests.peak_memory import reset_peak, status_kb
# the peak of this pass alone, so a higher peak earlier (imports, the warm-up's compile) cannot hide the large file's
reset_peak()
before = status_kb("VmRSS")
os.rename({staged!r}, os.path.join(home, "inbox", "knuh", os.path.basename({staged!r})))
out = ingest.run_pass(home, stable_seconds=0)
after = status_kb("VmHWM")
print(json.dumps({{"before_kb": before, "after_kb": after, "streamed": calls,
                  "files": [[c.file_name, c.status, c.rows_read, c.rows_loaded, c.rows_rejected, c.message]
                            for c in out]}}))
"""


if __name__ == "__main__":  # manual use: python -m tests.reliability.large OUT.csv BASELINE.csv MB
    n, baseline = write_large_lis(Path(sys.argv[1]), Path(sys.argv[2]).read_bytes(), int(float(sys.argv[3]) * 2**20))
    Path(sys.argv[1]).with_suffix(".baseline.csv").write_bytes(baseline)
    print(n)
