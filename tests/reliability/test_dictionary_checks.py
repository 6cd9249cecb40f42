"""The one path's dictionary checks (SQL) against the pandas path's recorded findings on real harmonised
files: every case of the reliability corpus and every synthetic error kind, through the centre adapters."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

from centres import adapt_file, builtin_profiles
from base.errors import TdmError
from synth import generate_cohort, write_exports
from synth.exports import ERROR_KINDS
from tests.reliability.conftest import KEY, slots
from tests.reliability.corpus import CASES
from tests.validators.dictionary_diff import check_recorded
from validators.context import ValidationContext

TODAY = dt.date(2026, 11, 1)
LINES = 1_000_000                                   # more lines than any one file has


def _ctx(centre: str, name: str) -> ValidationContext:
    return ValidationContext(centre_id=centre, file_name=name, today=TODAY)


@lru_cache(maxsize=1)
def _profiles() -> dict:
    return builtin_profiles()


def _adapted(path: Path, centre: str):
    try:
        return adapt_file(path, _profiles()[centre], KEY.encode())
    except TdmError:
        return None                                      # a file-level rejection: no entity rows to check


def _stacked(frame_sets: list[dict]) -> dict:
    """The files' frames as one set, file ``k``'s lines moved to ``k * LINES + line`` (one comparison
    instead of one per file: the checks are per row, and both sides see the same stack)."""
    out = {}
    for ent in ("patient", "assessment", "elisa", "lab"):
        parts = [fs[ent].assign(source_line=fs[ent]["source_line"] + k * LINES)
                 for k, fs in enumerate(frame_sets) if fs.get(ent) is not None and len(fs[ent])]
        if parts:
            out[ent] = pd.concat(parts, ignore_index=True)
    return out


# the corpus cases whose lines the dictionary checks flag, or whose unparsed cells leave a hole
FAST_CASES = ("huge_value", "negative_trough", "future_date_9999", "lis_negative_value", "placeholder_dot",
              "excel_error_div0", "impossible_date", "infinite_value", "huge_integer_overflow",
              "xlsx_serial_date_number", "lis_excel_error", "zero_width_space_in_code")


def _corpus_differences(sources, tmp_path, cases, case_name):
    slot = slots(CASES)
    names, frame_sets = [], []
    for case in cases:
        path = tmp_path / case.file_name
        path.write_bytes(case.build(sources, slot[case.name]))
        adapted = _adapted(path, case.centre)
        path.unlink()
        if adapted is not None:
            names.append(case.name)
            frame_sets.append(adapted.frames)
    assert len(names) == len(cases), set(c.name for c in cases) - set(names)   # every loaded case adapted
    sql_f = check_recorded(case_name, _stacked(frame_sets), _ctx("smc", "corpus"))
    return {names[k] for k in (sql_f["source_line"] // LINES).unique()}


def test_the_corpus_cases_the_dictionary_checks_flag_give_the_recorded_findings(sources, tmp_path):
    cases = [c for c in CASES if c.name in FAST_CASES]
    assert len(cases) == len(FAST_CASES)
    flagged = _corpus_differences(sources, tmp_path, cases, "corpus:flagged")
    assert {"huge_value", "negative_trough", "future_date_9999"} <= flagged, flagged
    assert "lis_negative_value" not in flagged            # a negative lab value is rules.lab_value_negative's


@pytest.mark.slow
def test_every_corpus_case_gives_the_recorded_findings(sources, tmp_path):
    flagged = _corpus_differences(sources, tmp_path, [c for c in CASES if c.loaded], "corpus:every")   # rejected: no rows
    assert "negative_trough" in flagged and len(flagged) >= 5, flagged


def test_every_synthetic_error_kind_gives_the_recorded_findings(tmp_path):
    cohort = generate_cohort(90, ("smc", "sch", "knuh"), seed=11)
    m = write_exports(cohort, builtin_profiles(), tmp_path, error_rate=0.35, seed=11)
    assert set(m.injected["kind"]) == set(ERROR_KINDS)
    frame_sets = []
    for f in m.files.itertuples():
        adapted = _adapted(Path(f.file), f.centre_id)
        assert adapted is not None, f.file
        frame_sets.append(adapted.frames)
    sql_f = check_recorded("synthetic", _stacked(frame_sets), _ctx("smc", "synthetic"))
    # the kinds the dictionary checks see (the others are cross-record rules, unit mix-ups or adapter cell issues)
    assert {"lab_value_implausible", "range"} <= set(sql_f["rule"]), set(sql_f["rule"])
