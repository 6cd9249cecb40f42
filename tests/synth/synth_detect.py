"""Check that an injected error is visible in the harmonised frames at the recorded line."""

from __future__ import annotations

import pandas as pd

from schema.dictionary import ANALYTES, ENTITIES


def _at(frames, entity, file, line):
    df = frames[file].get(entity)
    if df is None:
        return df
    return df[df["source_line"] == line]


def detectable(rec, frames: dict[str, dict[str, pd.DataFrame]], issues: dict[str, pd.DataFrame],
               centre_frames: dict[str, pd.DataFrame]) -> bool:
    """``frames[file][entity]``, ``issues[file]``; ``centre_frames[entity]`` all files of the centre."""
    file, line, kind, col = rec.file, int(rec.source_line), rec.kind, rec.column
    if kind in ("unit_mixup", "out_of_range_lab"):
        rows = _at(frames, "lab", file, line)
        rows = rows[rows["analyte"] == col]
        a = ANALYTES[col]
        return bool(((rows["value"] < a.min) | (rows["value"] > a.max)).any())
    if kind == "code_typo":
        iss = issues[file]
        hit = iss[(iss["source_line"] == line) & (iss["rule"] == "unknown_code") & (iss["column_name"] == col)]
        return len(hit) == 1
    if kind == "swapped_dates":
        rows = _at(frames, "patient", file, line)
        return bool((rows["diagnosis_date"] > rows["ifx_start_date"]).any())
    if kind == "missing_required":
        rows = _at(frames, rec.entity, file, line)
        return len(rows) >= 1 and bool(rows[col].isna().all())
    if kind == "duplicate_row":
        entity = rec.entity
        df = frames[file][entity]
        key = list(ENTITIES[entity].key)
        cur = df[df["source_line"] == line]
        prev = df[df["source_line"] == line - 1]
        if entity == "lab":
            cur, prev = cur[cur["analyte"] == col], prev[prev["analyte"] == col]
        if len(cur) != 1 or len(prev) != 1:
            return False
        return cur[key].reset_index(drop=True).equals(prev[key].reset_index(drop=True))
    if kind == "orphan_visit":
        rows = _at(frames, "assessment", file, line)
        known = set(centre_frames["patient"]["patient_id"])
        return len(rows) == 1 and rows["patient_id"].iloc[0] not in known
    if kind == "trough_after_infusion":
        rows = _at(frames, "elisa", file, line)
        a = centre_frames["assessment"]
        m = rows.merge(a, on=["centre_id", "patient_id"])
        return len(m) >= 1 and bool((m["trough_sample_datetime"].dt.normalize() > m["infusion_date"]).all())
    if kind == "negative_trough":
        rows = _at(frames, "elisa", file, line)
        return bool((rows["trough_ug_ml"] < 0).any())
    raise AssertionError(f"no detector for {kind}")


__all__ = ["detectable"]
