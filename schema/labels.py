"""Display labels and units of the cohort's variables, from the data dictionary and derived variables.

Publications label every variable from here (``label("crp_mg_dl") == "CRP, mg/dL"``), so a label
changes in one place: :data:`schema.dictionary.VARIABLES` / :data:`schema.derived.DERIVED`.
Units are written as a reader expects them (``ug/mL`` -> ``µg/mL``); scores and counts have none.
"""

from __future__ import annotations

from schema.derived import DERIVED
from schema.dictionary import VARIABLES

__all__ = ["label", "display_unit", "short_label", "is_known", "EXTRA_LABELS"]

#: Analysis columns computed outside the warehouse (``publication.study.prepare_cohort``).
EXTRA_LABELS: dict[str, str] = {"male": "Male sex"}

_UNIT_TEXT = {"ug/mL": "µg/mL", "/uL": "/µL", "10^3/uL": "×10³/µL", "pmol/8x10^8 RBC": "pmol/8×10⁸ RBC",
              "ng/mL": "ng/mL", "points": None, "infusions": None}

_BY_NAME = {v.name: (v.label or v.name, v.unit) for v in VARIABLES}
_BY_NAME.update({d.name: (d.label or d.name, d.unit) for d in DERIVED})


def display_unit(name: str) -> str | None:
    """The unit of ``name`` as printed (``µg/mL``), None for unitless variables and unknown names."""
    unit = _BY_NAME.get(name, (None, None))[1]
    return _UNIT_TEXT.get(unit, unit) if unit else None


def short_label(name: str) -> str:
    """The label without unit (``"CRP"``); the name itself when the dictionary does not know it."""
    if name in EXTRA_LABELS:
        return EXTRA_LABELS[name]
    return _BY_NAME.get(name, (name, None))[0]


def label(name: str) -> str:
    """``"<label>, <unit>"`` (``"IFX trough level, µg/mL"``), or the label alone when unitless."""
    unit = display_unit(name)
    return f"{short_label(name)}, {unit}" if unit else short_label(name)


def is_known(name: str) -> bool:
    """True when ``name`` is a dictionary, derived or analysis variable (so it has a label)."""
    return name in _BY_NAME or name in EXTRA_LABELS
