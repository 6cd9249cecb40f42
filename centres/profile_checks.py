"""What a centre profile names, checked against the data dictionary when it is loaded: targets a
file kind may map to, code labels mapping to the variable's codes, convertible units, constants,
required columns.  A problem is a ``ValueError`` naming the field (pydantic turns it into the
profile's one :class:`~base.errors.ConfigError`, :mod:`centres.profile`)."""

from __future__ import annotations

import unicodedata
from typing import Any

from schema.dictionary import ANALYTES, BY_ENTITY, LAB_DATE_COLUMN, variable
from schema import units as U

FILE_KINDS: dict[str, tuple[str, ...]] = {
    "wide": ("patient", "assessment", "elisa", "lab"),
    "baseline": ("patient",),
    "visit": ("assessment",),
    "elisa": ("elisa",),
    "labs_long": ("lab",),
}

# Targets a long lab export maps its columns to (the analyte *name* comes from a code map).
LONG_LAB_TARGETS = ("patient_id", "analyte", "sample_date", "value", "unit")
LONG_LAB_REQUIRED = ("patient_id", "analyte", "sample_date", "value")


def norm_label(value: str) -> str:
    """How labels, codes and headers are compared: trimmed, case-folded, inner spaces collapsed, NFC
    (macOS writes Korean decomposed, NFD, which looks identical but compares different)."""
    return unicodedata.normalize("NFC", " ".join(str(value).replace("\ufeff", "").split())).casefold()


def targets_for_kind(kind: str) -> dict[str, Any]:
    """target name -> dictionary Variable (or None for the long-lab pseudo targets)."""
    if kind == "labs_long":
        return {t: None for t in LONG_LAB_TARGETS}
    out: dict[str, Any] = {}
    for entity in FILE_KINDS[kind]:
        if entity == "lab":
            out[LAB_DATE_COLUMN] = None
            out.update(ANALYTES)
            continue
        for v in BY_ENTITY[entity]:
            if v.name != "centre_id":
                out[v.name] = v
    return out


def check_spec(profile, spec, where: str) -> None:
    """Refuse a file spec of ``profile`` whose names the dictionary does not know (``where``: its path)."""
    targets = targets_for_kind(spec.kind)
    seen_sources: set[str] = set()
    seen_targets: dict[str, str] = {}
    for col in spec.all_columns():
        cw = f"{where}.columns[{col.source!r}]"
        key = norm_label(col.source)
        if key in seen_sources:
            raise ValueError(f"{cw}: source column listed twice")
        seen_sources.add(key)
        for t in col.to:
            if t not in targets:
                valid = ", ".join(sorted(targets))
                raise ValueError(f"{cw}: unknown target {t!r} for a {spec.kind} file; valid: {valid}")
            if t in seen_targets:
                raise ValueError(f"{cw}: target {t!r} already mapped from column {seen_targets[t]!r}")
            seen_targets[t] = col.source
        if len(col.to) > 1 and col.codes is None:
            raise ValueError(f"{cw}: a column mapped to several targets needs a code map")
        # code maps
        if isinstance(col.codes, str) and col.codes not in profile.code_maps:
            raise ValueError(f"{cw}: unknown code map {col.codes!r}; defined: {sorted(profile.code_maps)}")
        if col.codes is not None:
            allowed = _allowed_codes(spec.kind, col.to)
            if allowed is not None:
                for label, code in profile.code_map(col).items():
                    if code not in allowed:
                        raise ValueError(f"{cw}: label {label!r} maps to {code!r}, not a code of "
                                         f"{'/'.join(col.to)} (codes: {', '.join(sorted(allowed))})")
            for t, code in col.absent.items():
                if t not in col.to:
                    raise ValueError(f"{cw}: 'absent' names {t!r}, not one of this column's targets")
        # units
        if col.unit is not None:
            canonical = U.CANONICAL_UNIT.get(col.target)
            if canonical is None:
                raise ValueError(f"{cw}: {col.target!r} has no unit; remove 'unit'")
            if not U.is_known(col.unit, canonical):
                ok = ", ".join(U.CONVERSIONS.get(canonical, {}))
                raise ValueError(f"{cw}: unit {col.unit!r} cannot be converted to {canonical!r} (known: {ok})")
    for analyte, unit in spec.analyte_units.items():
        if analyte not in ANALYTES:
            raise ValueError(f"{where}.analyte_units: unknown analyte {analyte!r}")
        if not U.is_known(unit, ANALYTES[analyte].unit):
            raise ValueError(f"{where}.analyte_units[{analyte!r}]: unit {unit!r} cannot be converted to "
                             f"{ANALYTES[analyte].unit!r}")
    for name in profile.constants_for(spec):
        if spec.kind != "labs_long" and name not in targets and name not in _all_variable_names():
            raise ValueError(f"{where}.constants: unknown variable {name!r}")
    if spec.kind == "labs_long":
        missing = [t for t in LONG_LAB_REQUIRED if t not in seen_targets]
        if missing:
            raise ValueError(f"{where}: a labs_long file must map columns to {', '.join(missing)}")
    elif "patient_id" not in seen_targets:
        raise ValueError(f"{where}: no column is mapped to patient_id")


def _all_variable_names() -> set[str]:
    return {v.name for vs in BY_ENTITY.values() for v in vs}


def _allowed_codes(kind: str, targets: list[str]) -> set[str] | None:
    if kind == "labs_long" and targets == ["analyte"]:
        return set(ANALYTES)
    allowed: set[str] = set()
    for t in targets:
        try:
            v = variable("lab" if t in ANALYTES else _entity_of(t), t)
        except KeyError:
            return None
        if not v.codes:
            return None
        allowed.update(v.codes)
    return allowed


def _entity_of(name: str) -> str:
    for entity, vs in BY_ENTITY.items():
        if any(v.name == name for v in vs):
            return entity
    raise KeyError(name)


__all__ = ["FILE_KINDS", "LONG_LAB_REQUIRED", "LONG_LAB_TARGETS", "check_spec", "norm_label", "targets_for_kind"]
