"""The dictionary's pandera declaration (:func:`schema.models.declare`) for ``pandera.ibis``.

The one path checks the harmonised entity tables where they are, in DuckDB: pandera's ibis
backend turns each declared check into a SQL predicate over the table, so a 1e7-row lab table is
never fetched into Python (``benchmarks/dictionary_backends.py`` measured it against
``pandera.polars``; docs/ONE_PATH.md has the numbers).  Same columns, checks, check names and
error texts as the pandas models; only the two hand-written checks are spelled for ibis here.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import ibis
import ibis.expr.datatypes as idt
import pandera.ibis as pa
from pandera.api.ibis.types import IbisData

from schema.dictionary import ANALYTES
from schema.models import Backend, declare

IBIS_DTYPES = {"str": idt.String(), "code": idt.String(), "bool": idt.Boolean(), "int": idt.Int64(),
               "float": idt.Float64(), "date": idt.Date(), "datetime": idt.Timestamp()}


def _not_future_as_of(today: dt.date | None):
    """"Not after ``today``" as an ibis predicate (``None``: the day the check runs), as the pandas
    model's: a missing value passes, a date-time passes up to the end of ``today``."""

    def _not_future(data: IbisData):
        col = data.table[data.key]
        limit = (today or dt.date.today()) + dt.timedelta(days=1)
        bound = ibis.date(limit) if col.type().is_date() else ibis.timestamp(dt.datetime.combine(limit, dt.time()))
        return col.isnull() | (col < bound)

    return _not_future


def _lab_value_in_range(data: IbisData):
    """A lab value inside its analyte's plausible range; an unknown analyte or a missing value passes
    (those are the analyte code check's and the required check's)."""
    t = data.table
    lo = t["analyte"].cases(*[(k, a.min) for k, a in ANALYTES.items()], else_=None)
    hi = t["analyte"].cases(*[(k, a.max) for k, a in ANALYTES.items()], else_=None)
    return t["value"].isnull() | lo.isnull() | ((t["value"] >= lo) & (t["value"] <= hi))


IBIS = Backend(api=pa, dtypes=IBIS_DTYPES, source_line_dtype=idt.Int64(), not_future=_not_future_as_of,
               lab_value_in_range=_lab_value_in_range, coerce=False)


@lru_cache(maxsize=64)
def entity_model_ibis(entity: str, today: dt.date | None) -> pa.DataFrameSchema:
    """The ``pandera.ibis`` schema of one entity ("not in the future" = not after ``today``)."""
    return declare(IBIS, entity, today)


__all__ = ["IBIS", "IBIS_DTYPES", "entity_model_ibis"]
