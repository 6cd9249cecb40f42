"""What an analysis of the plan is given (:class:`Context`) and how the plan describes one (:class:`Analysis`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from publication.study import PRIMARY_OUTCOME, PublicationParameters

#: Placeholder id of the publication being built (its id depends on the analyses' results).
CURRENT_PUBLICATION = "(this publication)"


@dataclass
class Context:
    """What an analysis may read: the cohort, the parameters, earlier tables and shared state."""

    df: pd.DataFrame
    params: PublicationParameters
    seed: int
    created_at: dt.datetime
    previous_cutoffs: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, analysis: str, reason: str) -> None:
        self.skipped.append({"analysis": analysis, "reason": reason})

    def outcome(self, name: str = PRIMARY_OUTCOME) -> pd.Series:
        return self.df[name].astype("boolean")


@dataclass(frozen=True)
class Analysis:
    """One published table: how to compute it and what it needs."""

    name: str
    title: str
    compute: Callable[[Context], pd.DataFrame]
    note: str | Callable[[Context], str] = ""
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    centre_level: bool = False
    #: How the report lays it out (:mod:`analytics.render.tables`); "generic" for supplementary tables.
    layout: str = "generic"



__all__ = ["Analysis", "Context", "CURRENT_PUBLICATION"]
