"""The validation backends side by side on the same harmonised frames (the project's
``validate_file``, pandera on pandas, pandera.polars, one DuckDB aggregate)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import ingestion as st
import validators
from benchmarks import backends
from benchmarks.tasks.common import fresh_home, place
from centres import adapt_file


def _harmonised(path: str, centre: str, home: str):
    fresh_home(home)
    settings, profiles, key = st.setup(home)
    profile = profiles[centre]
    dst = place(settings, centre, path)
    spec = profile.match(dst.name)
    return settings, profile, spec.kind, adapt_file(dst, profile, key, limits=settings.limits)


def validate_backends(path: str, centre: str, home: str, repeat: int = 3) -> dict:
    """Validation of the same harmonised frames: the project's ``validate_file`` (pandera on pandas +
    the cross-field rules), pandera's schema checks alone on pandas, the same column checks in
    pandera.polars, and the same checks as one SQL aggregate in DuckDB (in-database)."""
    settings, profile, kind, harmonised = _harmonised(path, centre, home)
    frames = harmonised.frames
    ctx = st.load_context(None, centre, Path(path).name, kind, 0.5)
    rows = sum(len(df) for df in frames.values())
    out = {"rows": rows, "lines": harmonised.rows_read}

    def med(fn):
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return round(statistics.median(ts), 4)

    res = validators.validate_file(frames, harmonised.cell_issues, ctx)
    out["validate_file_s"] = med(lambda: validators.validate_file(frames, harmonised.cell_issues, ctx))
    out["validate_file_issues"] = int(len(res.issues))
    out["pandera_pandas_s"] = med(lambda: backends.pandera_pandas(frames, ctx))
    try:
        out["pandera_polars_s"] = med(lambda: backends.pandera_polars(frames, ctx))
        out["polars_convert_s"] = med(lambda: backends.to_polars(frames))
    except ImportError as exc:
        out["pandera_polars_s"] = None
        out["pandera_polars_note"] = f"not installed: {exc}"
    out["duckdb_sql_s"] = med(lambda: backends.duckdb_checks(frames, ctx))
    out["failures"] = {"pandera_pandas": backends.pandera_pandas(frames, ctx),
                       "duckdb_sql": backends.duckdb_checks(frames, ctx)}
    return out
