"""Helpers shared by the round-trip tests: adapt every file of a centre and compare with truth."""

from __future__ import annotations

import pandas as pd

from schema.dictionary import ENTITIES, entity_columns
from schema.models import PANDAS_DTYPES, SOURCE_LINE
from centres import adapt_file
from centres.privacy import pseudonymise


def adapt_centre(manifest, profile, key, centre_id):
    files = manifest.files[manifest.files["centre_id"] == centre_id]
    frames: dict[str, list[pd.DataFrame]] = {}
    issues = []
    for path in files["file"]:
        a = adapt_file(path, profile, key)
        for entity, df in a.frames.items():
            frames.setdefault(entity, []).append(df)
        issues.append(a.cell_issues.assign(file=str(path)))
    out = {e: pd.concat(v, ignore_index=True) for e, v in frames.items()}
    return out, pd.concat(issues, ignore_index=True)


def truth_for(cohort, centre_id, key):
    out = {}
    for entity, df in cohort.for_centre(centre_id).items():
        df = df[entity_columns(entity)].copy()
        df["patient_id"] = pseudonymise(df["patient_id"], key)
        out[entity] = df
    return out


def sort_key(entity):
    key = list(ENTITIES[entity].key)
    return key


def assert_frames_match(got: pd.DataFrame, want: pd.DataFrame, entity: str) -> None:
    cols = entity_columns(entity)
    assert list(got.columns) == cols + [SOURCE_LINE], f"{entity}: columns {list(got.columns)}"
    g = got[cols].sort_values(sort_key(entity), kind="stable").reset_index(drop=True)
    w = want[cols].sort_values(sort_key(entity), kind="stable").reset_index(drop=True)
    assert len(g) == len(w), f"{entity}: {len(g)} rows harmonised, {len(w)} in the truth"
    from schema.dictionary import BY_ENTITY

    for v in BY_ENTITY[entity]:
        assert str(g[v.name].dtype) == str(pd.Series(dtype=PANDAS_DTYPES[v.dtype]).dtype), \
            f"{entity}.{v.name}: dtype {g[v.name].dtype}"
    w = w.astype({v.name: PANDAS_DTYPES[v.dtype] for v in BY_ENTITY[entity]})
    pd.testing.assert_frame_equal(g, w, check_exact=False, rtol=1e-9, atol=1e-12, obj=entity)
