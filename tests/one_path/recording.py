"""The inputs of the one path's recorded check and the recording's format.

Before the pandas harmonise was deleted, its outcome (read_export + privacy scan + harmonise) over
every input here was recorded in ``recorded_reference.json.gz``: the whole reliability corpus,
every synthetic error kind (a CP949 CSV among them) and the clean round trip of each centre.
``tests/one_path/test_recorded.py`` runs the one path over the same inputs (built again from the
same seeds) and compares with the recording: entity rows, cell findings and file errors, exactly.

A deliberate change of behaviour is re-recorded from the one path with
``TDM_RECORD_EXPECTATIONS=1 pytest tests/one_path/test_recorded.py`` and named in the commit.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pandas as pd

from schema.dictionary import ENTITIES
from schema.models import SOURCE_LINE
from centres import builtin_profiles
from synth import generate_cohort, write_exports
from tests.reliability.conftest import slots
from tests.reliability.corpus import CASES, Sources

KEY = b"one-path-differential-key-0123456789"
PROFILES = builtin_profiles()
RECORDING = Path(__file__).with_name("recorded_reference.json.gz")
FINDING_COLUMNS = ["source_line", "entity", "patient_id", "column_name", "source_column", "value", "rule",
                   "severity", "message", "expected", "fix"]


def corpus_inputs(folder: Path) -> list[tuple[str, Path, str]]:
    """Every reliability corpus case as (label, path, centre), written under ``folder``."""
    sources = Sources.build(folder / "clean", n_patients=360, seed=5)
    slot = slots(CASES)
    out = []
    for c in CASES:
        path = folder / c.centre / c.name / c.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(c.build(sources, slot[c.name]))
        out.append((f"corpus:{c.name}", path, c.centre))
    return out


def synthetic_runs(folder: Path):
    """Every synthetic error kind (at least one of each per centre), the sch layout as a CP949 CSV (a
    non-UTF-8 file, transcoded while read), and a clean export for the round trip."""
    cohort = generate_cohort(60, ("smc", "sch", "knuh"), 11)
    runs = {"errors": write_exports(cohort, PROFILES, folder / "errors", error_rate=0.25, seed=11),
            "cp949": write_exports(cohort, PROFILES, folder / "cp949", error_rate=0.25, seed=12,
                                   file_format={"sch": "csv"}, encoding={"sch": "cp949"}),
            "clean": write_exports(cohort, PROFILES, folder / "clean", error_rate=0.0, seed=11)}
    return cohort, runs


def synthetic_inputs(runs) -> list[tuple[str, Path, str]]:
    return [(f"synth:{kind}:{Path(r.file).name}", Path(r.file), r.centre_id)
            for kind, m in runs.items() for r in m.files.itertuples()]


def _cell(v):
    """One value as the recording writes it: None, a str, an int, a bool, a float (exact by repr), a
    date-time as ISO text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if hasattr(v, "item"):               # numpy scalars
        return _cell(v.item())
    return v


def _rows(df: pd.DataFrame, columns: list[str]) -> list[list]:
    return [[_cell(v) for v in row] for row in df[columns].astype("object").itertuples(index=False, name=None)]


def outcome_record(frames: dict[str, pd.DataFrame] | None, findings: pd.DataFrame | None,
                   error: tuple | None) -> dict:
    """One file's outcome as plain JSON: its file error, or its non-empty entity tables (rows in
    ``source_line`` order, labs by analyte within a line) and its cell findings (sorted)."""
    if error is not None:
        return {"error": [None if x is None else str(x) for x in error]}
    out: dict = {"entities": {}}
    for entity in ENTITIES:
        df = (frames or {}).get(entity)
        if df is None or not len(df):
            continue
        keys = [SOURCE_LINE] + (["analyte"] if entity == "lab" else [])
        df = df.sort_values(keys, kind="stable")
        out["entities"][entity] = {"columns": list(df.columns), "rows": _rows(df, list(df.columns)),
                                   "dtypes": [str(t) for t in df.dtypes]}
    f = findings if findings is not None and len(findings) else pd.DataFrame(columns=FINDING_COLUMNS)
    f = f[FINDING_COLUMNS].sort_values(["source_line", "column_name", "rule", "source_column", "value"],
                                       kind="stable", na_position="first")
    out["findings"] = _rows(f, FINDING_COLUMNS)
    return out


def load_recording(path: Path = RECORDING) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def save_recording(records: dict, path: Path = RECORDING) -> None:
    with gzip.GzipFile(path, "wb", mtime=0) as gz:
        gz.write(json.dumps(records, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def differences(want: dict, got: dict) -> list[str]:
    """Every difference between a recorded and a new outcome, in words (empty: equal)."""
    if want.get("error") or got.get("error"):
        return [] if want.get("error") == got.get("error") else \
            [f"file error: recorded {want.get('error')} vs one path {got.get('error')}"]
    out = []
    for entity in sorted(set(want["entities"]) | set(got["entities"])):
        w, g = want["entities"].get(entity), got["entities"].get(entity)
        if w is None or g is None:
            out.append(f"{entity}: recorded {len(w['rows']) if w else 0} rows, one path {len(g['rows']) if g else 0}")
            continue
        for part in ("columns", "dtypes"):
            if w[part] != g[part]:
                out.append(f"{entity}.{part}: recorded {w[part]} vs one path {g[part]}")
        out += _row_diffs(entity, w["rows"], g["rows"])
    out += _row_diffs("findings", want["findings"], got["findings"])
    return out


def _row_diffs(what: str, w: list, g: list) -> list[str]:
    if len(w) != len(g):
        return [f"{what}: recorded {len(w)} rows vs one path {len(g)}: {w[:2]} / {g[:2]}"]
    bad = [i for i, (a, b) in enumerate(zip(w, g)) if a != b]
    return [f"{what}: {len(bad)} rows differ, e.g. recorded {w[bad[0]]} vs one path {g[bad[0]]}"] if bad else []


__all__ = ["KEY", "PROFILES", "RECORDING", "corpus_inputs", "differences", "load_recording", "outcome_record",
           "save_recording", "synthetic_inputs", "synthetic_runs"]
