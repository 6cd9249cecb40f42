"""The compiled plan of stage 2 (:mod:`centres.sql_harmonise`): what a profile's columns become
before one statement builds the typed lines: level-1 expressions over the trimmed cells, the typed
value of every target, the findings to write, and the label and date maps joined back."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from centres import sql_cells as S
from centres.cells import entity_of, expected_labels
from centres.profile import ColumnSpec
from centres.sql_labels import Message, code_table, label_sql
from schema import units as U

CODE_FIX = ("write one of the values under 'expected'; if this label is right at your centre, ask the "
           "study's data team to accept it")


@dataclass
class Issue:
    target: str
    pos: int                 # the raw column whose cell the finding shows
    rule: str
    bad: str                 # SQL condition over the level-1 columns
    message: Message
    expected: str
    fix: str
    entity: str


@dataclass
class Plan:
    """The compiled mapping: level-1 expressions (over ``t<i>``/``c<i>`` and the label maps), the
    final typed value of every target, which raw cells were non-empty, the findings to write."""

    kind: str
    level1: dict[str, str] = field(default_factory=dict)
    level2: dict[str, str] = field(default_factory=dict)       # over level 1 (a number's checked value)
    joins: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)       # target -> SQL over level 1
    nonempty: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    keep: str = "true"                                           # lines that carry rows (long labs: not dropped)
    maps: dict[int, pd.DataFrame] = field(default_factory=dict)
    unit_pairs: pd.DataFrame | None = None                       # long labs: (analyte, unit) -> factor

    def issue(self, target: str, pos: int, rule: str, bad: str, message: Message, expected: str, fix: str) -> None:
        self.issues.append(Issue(target, pos, rule, bad, message, expected, fix, entity_of(target, self.kind)))


def q(name: str) -> str:
    return S.ident(name)


def join_map(plan: Plan, pos: int, table: pd.DataFrame) -> str:
    plan.maps[pos] = table
    plan.joins.append(f"LEFT JOIN _maps m{pos} ON m{pos}.pos = {pos} AND m{pos}.k = h.t{pos}")
    return f"m{pos}"


def inline_labels(plan: Plan, pos: int, table: pd.DataFrame, values: dict[str, str]) -> None:
    """A label column as expressions over its trimmed cell (:func:`centres.sql_labels.label_sql`)."""
    for name, expr in label_sql(f"h.t{pos}", table, values).items():
        plan.level1[f"{name}:{pos}" if name in ("bad", "drop") else f"v:{name}"] = expr


def codes(plan: Plan, col: ColumnSpec, pos: int, header: str, profile, cells, message: str) -> None:
    inline_labels(plan, pos, code_table(cells[pos], col, profile), {tg: "VARCHAR" for tg in col.to})
    for tg in col.to:
        plan.values[tg] = q(f"v:{tg}")
    plan.issue(col.target, pos, "unknown_code", q(f"bad:{pos}"), Message(header, message),
               expected_labels(col, profile), CODE_FIX)


def factor(expr: str, col: ColumnSpec, target: str) -> str:
    if col.unit is None:
        return expr
    f = U.factor(col.unit, U.CANONICAL_UNIT[target])
    if f is None:
        raise ValueError(f"cannot convert {col.unit!r} to {U.CANONICAL_UNIT[target]!r}")
    return S.apply_factor(expr, f)


__all__ = ["CODE_FIX", "Issue", "Plan", "codes", "factor", "inline_labels", "join_map", "q"]
