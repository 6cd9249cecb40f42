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
from schema.relations import TODAY_VARIABLE

IBIS_DTYPES = {"str": idt.String(), "code": idt.String(), "bool": idt.Boolean(), "int": idt.Int64(),
               "float": idt.Float64(), "date": idt.Date(), "datetime": idt.Timestamp()}




@ibis.udf.scalar.builtin(name="getvariable")
def _getvariable(name: str) -> idt.Date:
    """DuckDB's ``getvariable``: a ``SET VARIABLE`` of the connection (NULL when unset)."""


def checked_day():
    """The day of the check: the connection's :data:`TODAY_VARIABLE`, or the current date if unset."""
    return ibis.coalesce(_getvariable(TODAY_VARIABLE).name(TODAY_VARIABLE), ibis.now().date()).name("checked_day")


def _not_future_as_of(today: dt.date | None):
    """"Not after ``today``" as an ibis predicate, as the pandas model's: a missing value passes, a
    date-time passes up to the end of the day.  ``today=None``: the day :func:`checked_day` gives."""

    def _not_future(data: IbisData):
        col = data.table[data.key]
        day = ibis.date(today) if today is not None else checked_day()
        limit = day + ibis.interval(days=1)
        return col.isnull() | (col < (limit.cast(idt.Date()) if col.type().is_date() else limit.cast(idt.Timestamp())))

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
    """The ``pandera.ibis`` schema of one entity ("not in the future" = not after ``today``; ``None``:
    not after :func:`checked_day`, so one compiled query serves every day)."""
    return declare(IBIS, entity, today)


__all__ = ["IBIS", "IBIS_DTYPES", "TODAY_VARIABLE", "checked_day", "entity_model_ibis"]
