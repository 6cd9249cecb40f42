"""Field counts, line limits and workbook limits, checked as plain functions (the corpus runs them
end to end).  The field counter is tested against Python's csv module, an independent parser."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import duckdb

import centres.workbook as W
import ingestion as ingest
import ingestion.pipeline as pipeline
from centres import builtin_profiles
from centres.csv_lines import check_lines, utf8_blocks
from centres.raw import read_raw
from base.config import Limits
from base.errors import FileRejected

cell = st.text(alphabet=st.sampled_from(list('ab1,"\n ')), max_size=4)
rows = st.lists(st.lists(cell, min_size=1, max_size=4), min_size=2, max_size=6)


@settings(max_examples=300, deadline=None)
@given(rows, st.integers(1, 7))
def test_field_counts_agree_with_the_csv_module(table, block):
    """Whatever the quoting and embedded line breaks, and wherever the blocks are cut, the first line
    refused is the first record whose csv-module field count differs from the header's."""
    text = "".join(",".join(f'"{c.replace(chr(34), 2 * chr(34))}"' if any(x in c for x in ',"\n') else c for c in r)
                   + "\n" for r in table)
    recs = list(csv.reader(io.StringIO(text)))
    assume("".join(recs[0]).strip(' ,"\n'))                 # a blank header is another error (no header)
    physical, starts = 1, []
    for r in recs:                                  # the physical line each record starts on
        starts.append(physical)
        physical += sum(c.count("\n") for c in r) + 1
    want = next(((starts[k], len(r)) for k, r in enumerate(recs[1:], 1)
                 if len(r) != len(recs[0]) and "".join(r).strip(' ,"\n') != ""), None)
    try:
        check_lines(utf8_blocks(text.encode(), block), delimiter=",", quotechar='"', header_row=1, file_name="f")
        got = None
    except FileRejected as exc:
        assert exc.code == "field_count", str(exc)
        got = (exc.line, int(str(exc).split(" has ")[1].split()[0])) if "the header (line" not in str(exc) else "hdr"
    if want is None:
        assert got is None
    elif got != "hdr":
        assert got == want


def test_a_short_line_is_refused_by_the_set_wise_reader(tmp_path):
    spec = builtin_profiles()["knuh"].match("knuh_lis.csv")
    p = tmp_path / "knuh_lis.csv"
    p.write_text("PT_NO,TEST_NM,SPC_DT,RSLT,UNIT,TEST_CD,REF_RANGE\n" + "1,CRP,2015-01-01 08:00:00,0.5,mg/dL,,\n" * 5
                 + "1,CRP,2015-01-02 08:00:00,mg/dL,,\n", encoding="utf-8")
    with pytest.raises(FileRejected, match="line 7 has 6 fields, the header 7") as exc:
        read_raw(duckdb.connect(), p, spec, p.name)
    assert exc.value.code == "field_count"


def test_a_line_over_the_limit_is_refused_before_it_is_read_whole():
    data = b"a,b\n1,2\n" + b"x" * (3 << 20)
    with pytest.raises(FileRejected, match="line 3 is longer than 1,024 KB") as exc:
        check_lines(utf8_blocks(data, 1 << 16), delimiter=",", quotechar='"', header_row=1, file_name="f")
    assert exc.value.code == "line_too_long"


def test_workbook_limits_refuse_before_parsing(tmp_path, monkeypatch):
    p = tmp_path / "w.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/big.xml", b" " * (2 << 20))
    with pytest.raises(FileRejected, match="inflate to 2 MB") as exc:
        W.inspect_workbook(p, limits=Limits(xlsx_max_bytes=1 << 20))
    assert exc.value.code == "workbook_too_large"
    monkeypatch.setattr(W, "RATIO_FLOOR", 1 << 20)
    with pytest.raises(FileRejected, match="zip bomb"):
        W.inspect_workbook(p, limits=Limits(xlsx_max_bytes=8 << 20))


def test_an_unreadable_file_is_reported_not_left_waiting(tmp_path, monkeypatch):
    """Mode 0000 does not stop root (CI), so the permission error is injected where the file is read."""
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "line-structure-test-key-0123456789")
    home = tmp_path / "home"
    p = home / "inbox" / "smc" / "smc_locked.csv"
    p.parent.mkdir(parents=True)
    p.write_text("patient_id\nx\n")

    def denied(path, chunk=1 << 20):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pipeline, "sha256_file", denied)     # where prepare reads the file first
    out = ingest.run_pass(str(home), stable_seconds=0)
    assert [(c.status, "permission denied" in c.message) for c in out] == [("rejected", True)]
    assert not p.exists()                               # moved out of the inbox: not retried forever


@pytest.mark.parametrize("kind", ["stray_cell", "zip_bomb"])
def test_peak_memory_of_reading_a_hostile_workbook_is_bounded(tmp_path, kind):
    """Measured in a fresh process: reading (or refusing) the workbook peaks far below 2 GB (the
    parser alone took 1.7 GB for the stray cell and 6 GB for the bomb before the checks)."""
    import openpyxl

    p = tmp_path / "sch.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IFX"
    for r in range(4):
        ws.append([f"h{c}" if r == 0 else c for c in range(40)])
    ws.cell(row=1_048_576, column=2, value=" ")
    wb.save(p)
    if kind == "zip_bomb":
        with zipfile.ZipFile(p, "a", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/sharedStrings2.xml", b" " * (600 << 20))
    code = textwrap.dedent(f"""
        from pathlib import Path
        from centres import builtin_profiles
        from centres.readers import read_workbook
        from base.errors import FileRejected
        try:
            df = read_workbook(Path({str(p)!r}), builtin_profiles()["sch"].match("x.xlsx"))
            print("rows", len(df))
        except FileRejected as exc:
            print("refused", exc.code)
        from tests.peak_memory import peak_mb
        print("rss_mb", peak_mb())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}).stdout
    rss = int(out.split("rss_mb")[1])
    assert ("rows 3" in out) if kind == "stray_cell" else ("refused workbook_too_large" in out or "unsafe" in out), out
    assert rss < 2048 and rss < 600, out


def test_a_part_that_lies_about_its_size_is_refused(tmp_path):
    """Declared 1,000 bytes, 3 MB inside: only the declared size is ever inflated, then the CRC fails."""
    import struct

    p = tmp_path / "lying.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/big.xml", b" " * (3 << 20))
    data = bytearray(p.read_bytes())
    name = b"xl/big.xml"
    struct.pack_into("<I", data, data.rfind(b"PK\x03\x04", 0, data.find(name)) + 22, 1000)      # local header
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02", 0, data.rfind(name)) + 24, 1000)     # central directory
    p.write_bytes(bytes(data))
    with pytest.raises(FileRejected, match="size is not what the zip declares") as exc:
        W.inspect_workbook(p)
    assert exc.value.code == "unsafe_workbook"


def test_cr_only_line_ends_and_a_sep_line_through_the_set_wise_reader(tmp_path):
    spec = builtin_profiles()["knuh"].match("knuh_lis.csv")
    p = tmp_path / "knuh_lis.csv"
    body = ["PT_NO,TEST_NM,SPC_DT,RSLT,UNIT,TEST_CD,REF_RANGE"] + \
        [f"{k},CRP,2015-01-0{k} 08:00:00,0.{k},mg/dL,," for k in range(1, 6)]
    p.write_bytes(("sep=,\r" + "\r".join(body) + "\r").encode("utf-8"))
    con = duckdb.connect()
    raw = read_raw(con, p, spec, p.name)
    pt, rslt = raw.headers.index("PT_NO"), raw.headers.index("RSLT")
    got = [(int(line), a, b) for line, a, b in
           con.execute(f"SELECT source_line, c{pt}, c{rslt} FROM raw ORDER BY source_line").fetchall()]
    assert got == [(k + 2, str(k), f"0.{k}") for k in range(1, 6)]       # line 1 sep=, line 2 the header


@pytest.mark.slow
def test_a_workbook_at_the_cell_limit_reads_well_inside_the_bound(tmp_path):
    """The largest workbook the limits admit (4 million value cells: 100,000 rows x 40) is read by the
    fast parser in a fresh process far below 2 GB (measured ~500 MB), so the limit leaves room for the
    harmonise and validate stages of the same pass."""
    import xlsxwriter

    p = tmp_path / "dense.xlsx"
    wb = xlsxwriter.Workbook(str(p), {"constant_memory": True})
    ws = wb.add_worksheet("IFX")
    for r in range(100_000):
        ws.write_row(r, 0, [f"h{c}" for c in range(40)] if r == 0 else
                     [(r * c) % 997 + 0.25 if c % 3 else f"txt{(r + c) % 50}" for c in range(40)])
    wb.close()
    code = textwrap.dedent(f"""
        from pathlib import Path
        from centres import builtin_profiles
        from centres.readers import read_workbook
        df = read_workbook(Path({str(p)!r}), builtin_profiles()["sch"].match("x.xlsx"))
        print("rows", len(df))
        from tests.peak_memory import peak_mb
        print("rss_mb", peak_mb())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}).stdout
    assert "rows 99999" in out, out
    assert int(out.split("rss_mb")[1]) < 1024, out
