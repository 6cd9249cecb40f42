"""read_raw's line numbers and cells against the reference reader on hand-made awkward CSVs (blank,
white-space-only and short blank lines, quoted line breaks, a preamble), and the harness's own
ability to see a difference."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from tdm.centres import BUILTIN_DIR, builtin_profiles
from tdm.centres.profile import parse_profile
from tdm.centres.raw import read_raw
from tdm.centres.readers import read_export
from tdm.synth import generate_cohort, write_exports
from tests.one_path.differential import Outcome, differences, one_path, reference

SMC = builtin_profiles()["smc"]
KEY = b"read-raw-test-key-0123456789abcdef"


def _smc_file(tmp_path, body: list[str], name="smc_tdm_export.csv", header_extra: str = "") -> tuple:
    spec = SMC.match(name)
    headers = [c.source for c in spec.all_columns() if not c.optional]
    path = tmp_path / name
    lines = [",".join(headers)]
    for b in body:
        lines.append(b)
    path.write_text(header_extra + "\n".join(lines) + "\n", encoding="utf-8")
    return path, spec, headers


def _raw_frame(path, spec) -> pd.DataFrame:
    con = duckdb.connect()
    raw = read_raw(con, path, spec, path.name)
    df = con.execute("SELECT * FROM raw ORDER BY source_line").df()
    df.columns = ["source_line"] + list(raw.headers)
    return df


def _row(headers, **cells) -> str:
    return ",".join(cells.get(h, "") for h in headers)


@pytest.mark.parametrize("blank", ["", "   ", ",", "\t", "\r"])
def test_source_lines_match_the_reference_reader_around_blank_lines(tmp_path, blank):
    spec = SMC.match("smc_tdm_export.csv")
    headers = [c.source for c in spec.all_columns() if not c.optional]
    pid = headers[0]
    body = [_row(headers, **{pid: "A1"}), blank, blank, _row(headers, **{pid: '"B\n2"'}), blank,
            _row(headers, **{pid: "C3"}), "", _row(headers, **{pid: "D4"})]
    path, spec, _ = _smc_file(tmp_path, body)
    ref = read_export(path, spec)
    new = _raw_frame(path, spec)
    assert list(new["source_line"]) == list(ref["source_line"]) and len(new) == 4
    pd.testing.assert_frame_equal(new[list(ref.columns)].astype("str"), ref.astype("str"), check_dtype=False)


def test_a_preamble_and_sep_line_shift_the_header(tmp_path):
    spec = SMC.match("smc_tdm_export.csv")
    headers = [c.source for c in spec.all_columns() if not c.optional]
    path, spec, _ = _smc_file(tmp_path, [_row(headers, **{headers[0]: "A1"}), "", _row(headers, **{headers[0]: "B2"})],
                              header_extra="sep=,\n")
    ref, new = read_export(path, spec), _raw_frame(path, spec)
    assert list(new["source_line"]) == list(ref["source_line"]) == [3, 5]


def test_the_harness_sees_a_changed_value_and_a_changed_message(tmp_path):
    spec = SMC.match("smc_tdm_export.csv")
    m = write_exports(generate_cohort(12, ("smc",), 2), {"smc": SMC}, tmp_path / "x", error_rate=0.5, seed=2)
    f = m.files.file.iloc[0]
    ref, new = reference(Path(f), spec, SMC, KEY), one_path(Path(f), spec, SMC, KEY)
    assert differences(ref, new) == [] and len(new.findings) > 0
    frames = {e: df.copy() for e, df in new.frames.items()}
    frames["lab"].loc[0, "value"] = frames["lab"].loc[0, "value"] + 1e-9
    assert any(d.startswith("lab") for d in differences(ref, Outcome(frames=frames, findings=new.findings)))
    findings = new.findings.copy()
    findings.loc[0, "message"] = findings.loc[0, "message"] + "."
    assert any("message" in d for d in differences(ref, Outcome(frames=new.frames, findings=findings)))
    assert differences(Outcome(error=("FileRejected", "encoding", "m", 1, None, None)), new)


def test_direct_identifiers_are_refused_before_harmonising(tmp_path):
    spec = SMC.match("smc_tdm_export.csv")
    headers = [c.source for c in spec.all_columns() if not c.optional] + ["patient name"]
    path = tmp_path / "smc_tdm_export.csv"
    path.write_text(",".join(headers) + "\n" + ",".join(["A1"] + [""] * (len(headers) - 2) + ["Kim"]) + "\n",
                    encoding="utf-8")
    ref, new = reference(path, spec, SMC, KEY), one_path(path, spec, SMC, KEY)
    assert new.error is not None and new.error[0] == "PrivacyError" and "'patient name'" in new.error[2]
    assert differences(ref, new) == []


def test_a_decimal_comma_profile_agrees(tmp_path):
    """A semicolon-separated export with decimal commas (no built-in centre writes one): numbers, the
    trough with its censoring, and awkward cells give the reference's values and findings."""
    text = (BUILTIN_DIR / "smc.yaml").read_text(encoding="utf-8")
    text = text.replace('csv: {delimiter: ",", encoding: [utf-8-sig], decimal: "."}',
                        'csv: {delimiter: ";", encoding: [utf-8-sig], decimal: ","}')
    assert 'decimal: ","' in text
    profile = parse_profile(yaml.safe_load(text), "smc-comma")
    m = write_exports(generate_cohort(20, ("smc",), 4), {"smc": SMC}, tmp_path / "src", error_rate=0.0, seed=4)
    rows = list(csv.reader(io.StringIO(Path(m.files.file.iloc[0]).read_text(encoding="utf-8-sig"))))
    number = re.compile(r"^[<>]?=?-?\d+\.\d+$")
    rows = [rows[0]] + [[c.replace(".", ",") if number.match(c) else c for c in r] for r in rows[1:]]
    header = rows[0]
    odd = ["4.5", "1.000,5", "<0,4", ">=16,0", " 3,25 ", "1e3", "n.d.", "12,", ",5"]
    numeric = [i for i, c in enumerate(rows[1]) if re.match(r"^-?\d+,\d+$", c)]
    for k, value in enumerate(odd):
        rows[1 + k % (len(rows) - 1)][numeric[k % len(numeric)]] = value
    trough = header.index(next(c.source for c in profile.files[0].all_columns() if c.target == "trough_ug_ml"))
    for k, value in enumerate(["<0,4", "> 16", "3,2", "0,4<", "≤0,3"]):
        rows[1 + k][trough] = value
    path = tmp_path / Path(m.files.file.iloc[0]).name
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    spec = profile.match(path.name)
    ref, new = reference(path, spec, profile, KEY), one_path(path, spec, profile, KEY)
    assert ref.error is None and len(ref.findings) >= 3
    assert differences(ref, new) == []
