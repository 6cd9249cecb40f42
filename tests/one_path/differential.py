"""Run one export through the reference path (``read_export`` + privacy scan + ``harmonise``) and the
one path (``read_raw`` + ``harmonise_raw``) and list every difference: entity frames (through
``schema.relations.tables_to_frames``), cell findings, file errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from schema.dictionary import ENTITIES
from schema.models import SOURCE_LINE
from schema.relations import FINDINGS_TABLE, tables_to_frames
from tdm.centres.harmonise import ISSUE_COLUMNS, harmonise
from tdm.centres.raw import read_raw
from tdm.centres.readers import read_export
from tdm.centres.sql_harmonise import harmonise_raw
from tdm.errors import TdmError
from tdm.privacy import refuse_identifiers


@dataclass
class Outcome:
    """One path's result for one file: its entity frames and findings, or its file error."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: pd.DataFrame | None = None
    error: tuple | None = None           # (type, code, message, line, column, value)


def _error(exc: TdmError) -> tuple:
    return (type(exc).__name__, getattr(exc, "code", None), exc.message, exc.line, exc.column,
            None if exc.value is None else str(exc.value))


def reference(path: Path, spec, profile, key: bytes) -> Outcome:
    try:
        raw = read_export(path, spec)
        refuse_identifiers(raw, path.name)
        h = harmonise(raw, spec, profile, key, file_name=path.name)
    except TdmError as exc:
        return Outcome(error=_error(exc))
    frames = {e: h.frames.get(e) for e in ENTITIES}
    return Outcome(frames={e: (df if df is not None else None) for e, df in frames.items()},
                   findings=h.cell_issues)


def one_path(path: Path, spec, profile, key: bytes) -> Outcome:
    con = duckdb.connect()
    try:
        raw = read_raw(con, path, spec, path.name)
        harmonise_raw(con, raw, spec, profile, key)
    except TdmError as exc:
        return Outcome(error=_error(exc))
    finally:
        pass
    frames = tables_to_frames(con)
    findings = con.execute(f"SELECT * FROM {FINDINGS_TABLE}").df()
    con.close()
    return Outcome(frames=frames, findings=findings)


def _norm_frame(df: pd.DataFrame | None, entity: str) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame()
    keys = [SOURCE_LINE] + (["analyte"] if entity == "lab" else [])
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _norm_findings(df: pd.DataFrame | None) -> pd.DataFrame:
    if df is None or not len(df):
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    out = df[ISSUE_COLUMNS].astype("object").where(df[ISSUE_COLUMNS].notna(), None)
    out["source_line"] = out["source_line"].astype("int64")
    return out.sort_values(["source_line", "column_name", "rule", "source_column"], kind="stable").reset_index(drop=True)


def differences(ref: Outcome, new: Outcome) -> list[str]:
    """Every difference between the two outcomes, in words (empty: the paths agree)."""
    if ref.error or new.error:
        return [] if ref.error == new.error else [f"file error: reference {ref.error} vs one path {new.error}"]
    out = []
    for entity in ENTITIES:
        r, n = ref.frames.get(entity), new.frames.get(entity)
        if r is None or not len(r):
            if n is not None and len(n):
                out.append(f"{entity}: one path has {len(n)} rows, reference none")
            continue
        r, n = _norm_frame(r, entity), _norm_frame(n, entity)
        try:
            pd.testing.assert_frame_equal(r, n, check_dtype=True, check_exact=True, obj=entity)
        except AssertionError as exc:
            out.append(f"{entity}: {str(exc)[:600]}")
    r, n = _norm_findings(ref.findings), _norm_findings(new.findings)
    if len(r) != len(n):
        out.append(f"findings: reference {len(r)} vs one path {len(n)}: "
                   f"{r.head(3).to_dict('records')} / {n.head(3).to_dict('records')}")
    else:
        for c in ISSUE_COLUMNS:
            a, b = r[c].to_numpy(dtype=object), n[c].to_numpy(dtype=object)
            bad = np.flatnonzero([x != y and not (x is None and y is None) for x, y in zip(a, b)])
            if len(bad):
                out.append(f"findings.{c}: {len(bad)} differ, e.g. {a[bad[0]]!r} vs {b[bad[0]]!r}")
    return out


__all__ = ["Outcome", "differences", "one_path", "reference"]
