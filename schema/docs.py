"""Human-readable outputs of the dictionary: the data dictionary (Markdown) and the canonical
export template (CSV headers + a README for centres)."""

from __future__ import annotations

from schema.derived import DERIVED, EXCLUSIONS, LAB_WINDOW_DAYS
from schema.dictionary import ANALYTES, ENTITIES, LAB_DATE_COLUMN, BY_ENTITY, Variable, template_columns
from schema.views import VIEWS


def _allowed(v: Variable) -> str:
    if v.codes:
        return ", ".join(f"`{c}`" for c in v.codes)
    if v.min is not None or v.max is not None:
        lo = "" if v.min is None else f"{v.min:g}"
        hi = "" if v.max is None else f"{v.max:g}"
        return f"{lo} to {hi}"
    return ""


def _row(v: Variable) -> str:
    req = "required" if v.required else "optional"
    return f"| `{v.name}` | {v.dtype} | {v.unit or ''} | {_allowed(v)} | {req} | {v.description} |"


HEADER = "| variable | type | unit | allowed | required | description |\n|---|---|---|---|---|---|"


def data_dictionary_markdown() -> str:
    out = ["# tdm-warehouse data dictionary", "",
           "Generated from `schema/dictionary.py` (the one source of truth); do not edit by hand.", ""]
    for name, entity in ENTITIES.items():
        out += [f"## `{name}` -> table `core.{entity.table}`", "", entity.description, "",
                f"Key: {', '.join(f'`{k}`' for k in entity.key)}. Every row also carries `file_id`, "
                "`source_line`, `is_current`, `superseded_by_file_id`, `warnings` (lineage).", "", HEADER]
        out += [_row(v) for v in BY_ENTITY[name]]
        out.append("")
        if name == "lab":
            out += ["### Analytes (`lab.analyte` codes; one column each in the canonical template)", "", HEADER]
            out += [_row(v) for v in ANALYTES.values()]
            out.append("")
    out += ["## Derived variables (defined once in `schema/derived.py`, exposed by `analysis.cohort`)", "",
            "| name | type | definition (DuckDB SQL) | description |", "|---|---|---|---|"]
    out += [f"| `{d.name}` | {d.dtype} | `{d.sql}` | {d.description} |" for d in DERIVED]
    out += ["", "## Eligibility (a patient is excluded when any of these holds)", "",
            "| code | condition (SQL) | reason |", "|---|---|---|"]
    out += [f"| `{c}` | `{sql}` | {r} |" for c, sql, r in EXCLUSIONS]
    out += ["", f"Labs are matched to the follow-up assessment by this rule: the sample taken on the "
            f"infusion day, else the most recent one at most {LAB_WINDOW_DAYS} days before it.", "",
            "## Curated views (schema `analysis`)", ""]
    out += [f"- `{v.name}`: {v.description}" for v in VIEWS]
    return "\n".join(out) + "\n"


def template_csv() -> str:
    return ",".join(template_columns()) + "\n"


def template_readme() -> str:
    lines = [
        "# Canonical export template for participating centres",
        "",
        "Export one row per patient and follow-up ileocolonoscopy, with exactly these column headers",
        "(`tdm-template.csv`). A file in this form needs no mapping: drop it in your centre's inbox.",
        "",
        "- Encoding UTF-8 (a BOM is fine), comma-separated, `.` as decimal separator, one header row.",
        "- Dates as `YYYY-MM-DD`; the trough sample time as `YYYY-MM-DD HH:MM`.",
        "- Yes/no columns as `yes`/`no` (also accepted: `Y`/`N`, `1`/`0`, `true`/`false`).",
        "- Leave a cell empty when the value is unknown; never write 0 for unknown.",
        "- `patient_id` is your study number for the patient, never a name or registration number: it is",
        "  pseudonymised on arrival and files containing direct identifiers are rejected.",
        "- `trough_ug_ml`: write censored results as the laboratory reports them, e.g. `<0.4` or `>16`;",
        "  give the assay's limits in `lloq_ug_ml` and `uloq_ug_ml`.",
        f"- Lab results in canonical units, taken on `{LAB_DATE_COLUMN}` (the infusion day or the day before).",
        "",
        "| column | type | unit | allowed | required | description |",
        "|---|---|---|---|---|---|",
    ]
    by_name = {}
    for ent in ("patient", "assessment", "elisa"):
        for v in BY_ENTITY[ent]:
            by_name.setdefault(v.name, v)
    by_name.update(ANALYTES)
    for col in template_columns():
        if col == LAB_DATE_COLUMN:
            lines.append(f"| `{col}` | date |  |  | optional | Date the lab panel was drawn. |")
            continue
        v = by_name[col]
        req = "required" if v.required else "optional"
        desc = v.description
        if col == "trough_ug_ml":
            desc += " Censored results as `<LLOQ` / `>ULOQ`."
        lines.append(f"| `{col}` | {v.dtype} | {v.unit or ''} | {_allowed(v)} | {req} | {desc} |")
    return "\n".join(lines) + "\n"
