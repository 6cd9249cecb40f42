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


def write_large_lis(path: Path, patients: list[str], target_bytes: int) -> int:
    """Unique (patient, sample day, test) rows until ``target_bytes``; returns the number of data rows."""
    start = dt.date(2005, 1, 1)
    n = 0
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff" + HEADER)
        day = 0
        while written < target_bytes:
            d = (start + dt.timedelta(days=day)).strftime("%Y-%m-%d")
            block = []
            for i, pid in enumerate(patients):
                for j, (name, unit, lo, hi) in enumerate(TESTS):
                    v = lo + (hi - lo) * (((day * 31 + i * 7 + j * 13) % 97) / 97)
                    block.append(f"{pid},{name},{d} 08:{(i + j) % 60:02d}:00,{v:.2f},{unit},,\n")
            text = "".join(block)
            fh.write(text)
            written += len(text.encode("utf-8"))
            n += len(block)
            day += 1
    return n


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


if __name__ == "__main__":  # manual use: python -m tests.reliability.large OUT.csv MB
    print(write_large_lis(Path(sys.argv[1]), [str(10000000 + i) for i in range(50)], int(float(sys.argv[2]) * 2**20)))
