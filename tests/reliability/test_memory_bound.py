"""Peak memory of a whole ingestion pass over hostile inputs, measured in a fresh process (issue 13,
item 6): a 640 MB zip bomb, a workbook whose used range claims every row, a 150 MB line without a
line break in a wide CSV (read in chunks, never whole) and a good file.  Each ends
with its own outcome, the good file loads, and the pass peaks under 2 GB."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from tests.reliability.conftest import KEY
from tests.reliability.corpus import utf8, xlsx_bytes
from tests.lake import read_lake

LIMIT_MB = 2048


def test_a_pass_over_hostile_inputs_stays_under_2gb(tmp_path, sources):
    import openpyxl

    home = tmp_path / "home"
    sch, smc = home / "inbox" / "sch", home / "inbox" / "smc"
    sch.mkdir(parents=True)
    smc.mkdir(parents=True)
    (sch / "sch_bomb.xlsx").write_bytes(xlsx_bytes(sources.sch_xlsx_slot(1)))
    with zipfile.ZipFile(sch / "sch_bomb.xlsx", "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/media/huge.xml", "w", force_zip64=True) as fh:
            block = b" " * (16 << 20)
            for _ in range(40):                       # 640 MB inflated (limit 512 MB), ~1 MB stored
                fh.write(block)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IFX"
    for r in sources.sch_xlsx_slot(2):
        ws.append(r)
    ws.cell(row=1_048_576, column=2, value=" ")
    wb.save(sch / "sch_stray.xlsx")
    rows = sources.smc_slot(3)
    with open(smc / "smc_one_line.csv", "wb") as fh:
        fh.write(utf8(rows[:2]))
        chunk = b"x" * (1 << 20)
        for _ in range(150):
            fh.write(chunk)
    (smc / "smc_good.csv").write_bytes(utf8(sources.smc_slot(4)))

    code = textwrap.dedent(f"""
        from ingestion import run_pass
        out = run_pass({str(home)!r}, stable_seconds=0)
        for c in out:
            print("file", c.file_name, c.status, (c.message or "")[:80].replace(" ", "_"))
        from tests.peak_memory import peak_mb
        print("rss_mb", peak_mb())
    """)
    env = {**os.environ, "TDM_PSEUDONYM_KEY": KEY, "TDM_MODE": "demo",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    status = {ln.split()[1]: ln.split()[2] for ln in proc.stdout.splitlines() if ln.startswith("file ")}
    assert status == {"sch_bomb.xlsx": "rejected", "sch_stray.xlsx": "loaded", "smc_one_line.csv": "rejected",
                      "smc_good.csv": "loaded"}, proc.stdout
    assert "line_too_long" in _codes(home) and "workbook_too_large" in _codes(home)
    rss = int(proc.stdout.split("rss_mb")[1])
    print(f"peak memory of the pass: {rss} MB")                 # shown with -s
    assert rss < LIMIT_MB, proc.stdout
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()]       # nothing left to block later passes


def _codes(home: Path) -> set[str]:
    import duckdb

    con = read_lake(home)
    try:
        return {r[0] for r in con.execute("SELECT error_code FROM ingest.files WHERE error_code IS NOT NULL").fetchall()}
    finally:
        con.close()
