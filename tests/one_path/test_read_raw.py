"""read_raw's line numbers and cells on hand-made awkward CSVs (blank, white-space-only and short
blank lines, quoted line breaks, a preamble: the numbers the deleted pandas reader gave, written
out), privacy, a decimal-comma profile (against the recording), and the harness's own ability to
see a difference."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from centres import BUILTIN_DIR, builtin_profiles
from centres.profile import parse_profile
from centres.raw import read_raw
from synth import generate_cohort, write_exports
from tests.one_path.recording import FINDING_COLUMNS, differences, load_recording, outcome_record
from tests.one_path.test_recorded import run_one_path

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
def test_source_lines_around_blank_lines_and_a_quoted_line_break(tmp_path, blank):
    """Blank lines are dropped but counted; a record with a quoted line break counts as one line (as
    the reference reader counted it: ``source_line`` is the header line + 1 + the record's index)."""
    spec = SMC.match("smc_tdm_export.csv")
    headers = [c.source for c in spec.all_columns() if not c.optional]
    pid = headers[0]
    body = [_row(headers, **{pid: "A1"}), blank, blank, _row(headers, **{pid: '"B\n2"'}), blank,
            _row(headers, **{pid: "C3"}), "", _row(headers, **{pid: "D4"})]
    path, spec, _ = _smc_file(tmp_path, body)
    new = _raw_frame(path, spec)
    assert new["source_line"].tolist() == [2, 5, 7, 9]
    assert new[pid].tolist() == ["A1", "B\n2", "C3", "D4"]
    assert (new[headers[1:]] == "").all().all() and list(new.columns) == ["source_line"] + headers


def test_a_preamble_and_sep_line_shift_the_header(tmp_path):
    spec = SMC.match("smc_tdm_export.csv")
    headers = [c.source for c in spec.all_columns() if not c.optional]
    path, spec, _ = _smc_file(tmp_path, [_row(headers, **{headers[0]: "A1"}), "", _row(headers, **{headers[0]: "B2"})],
                              header_extra="sep=,\n")
    assert _raw_frame(path, spec)["source_line"].tolist() == [3, 5]


def test_the_harness_sees_a_changed_value_a_changed_message_and_an_error(tmp_path):
    m = write_exports(generate_cohort(12, ("smc",), 2), {"smc": SMC}, tmp_path / "x", error_rate=0.5, seed=2)
    f = Path(m.files.file.iloc[0])
    frames, got = run_one_path(f, "smc")
    assert differences(got, got) == [] and len(got["findings"]) > 0
    findings = pd.DataFrame(got["findings"], columns=FINDING_COLUMNS)
    changed = {e: df.copy() for e, df in frames.items()}
    changed["lab"].loc[0, "value"] = changed["lab"].loc[0, "value"] + 1e-9
    assert any(d.startswith("lab") for d in differences(got, outcome_record(changed, findings, None)))
    worded = findings.copy()
    worded.loc[0, "message"] = worded.loc[0, "message"] + "."
    assert any(d.startswith("findings") for d in differences(got, outcome_record(frames, worded, None)))
    assert differences(outcome_record(None, None, ("FileRejected", "encoding", "m", 1, None, None)), got)


def test_direct_identifiers_are_refused_before_harmonising(tmp_path):
    spec = SMC.match("smc_tdm_export.csv")
    headers = [c.source for c in spec.all_columns() if not c.optional] + ["patient name"]
    path = tmp_path / "smc_tdm_export.csv"
    path.write_text(",".join(headers) + "\n" + ",".join(["A1"] + [""] * (len(headers) - 2) + ["Kim"]) + "\n",
                    encoding="utf-8")
    _, got = run_one_path(path, "smc")
    assert got["error"][:2] == ["PrivacyError", "direct_identifier"] and "'patient name'" in got["error"][2]


def decimal_comma_export(folder: Path):
    """A semicolon-separated export with decimal commas (no built-in centre writes one), awkward
    numbers and troughs among its cells; (path, profile)."""
    text = (BUILTIN_DIR / "smc.yaml").read_text(encoding="utf-8")
    text = text.replace('csv: {delimiter: ",", encoding: [utf-8-sig], decimal: "."}',
                        'csv: {delimiter: ";", encoding: [utf-8-sig], decimal: ","}')
    assert 'decimal: ","' in text
    profile = parse_profile(yaml.safe_load(text), "smc-comma")
    m = write_exports(generate_cohort(20, ("smc",), 4), {"smc": SMC}, folder / "src", error_rate=0.0, seed=4)
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
    path = folder / Path(m.files.file.iloc[0]).name
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path, profile


def test_a_decimal_comma_profile_equals_the_recording(tmp_path):
    """Numbers, the trough with its censoring, and awkward cells give the values and findings the
    pandas reference recorded (``case:decimal_comma``)."""
    path, profile = decimal_comma_export(tmp_path)
    _, got = run_one_path(path, "smc", profile)
    assert "error" not in got and len(got["findings"]) >= 3
    assert differences(load_recording()["case:decimal_comma"], got) == []
