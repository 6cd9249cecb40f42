"""Run the plan on one cohort frame (pure: no I/O) and apply the publication's small-cell suppression.

Honest failure: only :class:`base.errors.AnalysisError` (the data do not allow the analysis)
becomes a "not computed" entry with its reason; any other exception propagates, so a bug fails the
publication run instead of being published as "not computed".
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

import pandas as pd

from analytics.suppression import suppress_publication
from base.errors import AnalysisError
from publication.plan import PLAN, Analysis, Context
from publication.study import PublicationParameters, prepare_cohort
from base.runtime import step_done


@dataclass(frozen=True)
class AnalysisBundle:
    """Everything :func:`run_analyses` computed: tables (name -> frame), figure inputs, skips."""

    tables: dict[str, pd.DataFrame]
    titles: dict[str, str]
    notes: dict[str, str]
    layouts: dict[str, str]
    skipped: tuple[dict, ...]
    figure_data: dict
    seed: int
    n_patients: int


def _reason(exc: AnalysisError) -> str:
    where = exc.where()
    return f"{exc.message}" + (f" ({where})" if where else "")


def run_analyses(cohort: pd.DataFrame, params: PublicationParameters, *,
                 previous_cutoffs: pd.DataFrame | None = None, created_at: dt.datetime | None = None,
                 plan: tuple[Analysis, ...] = PLAN) -> AnalysisBundle:
    """Every analysis of ``plan`` on one cohort frame, then suppression of the per-centre tables.

    ``previous_cutoffs``: the cut-off history of earlier publications
    (:func:`analytics.drift.cutoff_history` rows) for the ``drift`` table; ``created_at``: this
    publication's time (UTC; default now), which orders it after them.

    An analysis whose columns are missing from the cohort, whose prerequisite table was not
    computed, or which raises :class:`~base.errors.AnalysisError` is listed in ``skipped`` with
    the reason; anything else raised propagates.
    """
    df = prepare_cohort(cohort)
    seed = params.seed if params.seed is not None else secrets.randbelow(2**31 - 1)
    ctx = Context(df=df, params=params, seed=int(seed), previous_cutoffs=previous_cutoffs,
                  created_at=created_at or dt.datetime.now(dt.timezone.utc))
    titles: dict[str, str] = {}
    notes: dict[str, str] = {}
    layouts: dict[str, str] = {}
    if len(df) == 0:
        ctx.skip("all", "the analysis cohort is empty")
        return AnalysisBundle({}, titles, notes, layouts, tuple(ctx.skipped), {}, ctx.seed, 0)
    for a in plan:
        missing = [c for c in a.needs if c not in df.columns]
        if missing:
            ctx.skip(a.name, f"column(s) {', '.join(missing)} not in the analysis cohort")
            continue
        absent = [t for t in a.after if t not in ctx.tables]
        if absent:
            ctx.skip(a.name, f"needs {', '.join(absent)}, which could not be computed")
            continue
        started = time.perf_counter()
        try:
            out = a.compute(ctx)
        except AnalysisError as exc:
            ctx.skip(a.name, _reason(exc))
            step_done(a.name, "not computed", time.perf_counter() - started)
            continue
        step_done(a.name, "done", time.perf_counter() - started)
        ctx.tables[a.name] = out.reset_index(drop=True)
        titles[a.name] = a.title
        layouts[a.name] = a.layout
        note = a.note(ctx) if callable(a.note) else a.note
        if note:
            notes[a.name] = note
    tables = suppress_publication(ctx.tables, centre_tables=[a.name for a in plan if a.centre_level],
                                  k=params.suppression_k)
    fig = {"cohort": df, "roc_curves": ctx.state.get("roc_curves"), "roc_summaries": ctx.state.get("roc_summaries")}
    return AnalysisBundle(tables, titles, notes, layouts, tuple(ctx.skipped), fig, ctx.seed, len(df))


__all__ = ["AnalysisBundle", "run_analyses"]
