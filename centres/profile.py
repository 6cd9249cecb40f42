"""Centre profiles: one YAML file per centre describing its exports, validated on load.

A profile says, for each kind of file a centre sends, how to recognise it (file-name patterns),
how to read it (CSV delimiter/encoding/decimal, XLSX sheet, header row) and how each of its
columns maps onto the data dictionary (target variable, unit, date format, code labels, boolean
words).  Adding a centre is writing one of these files (see ``docs/CENTRES.md``), never code.

Everything a profile names is checked against :mod:`schema.dictionary` when it is loaded
(:mod:`centres.profile_checks`): an
unknown variable, a unit that cannot be converted to the canonical one, a code label that maps to
a code the variable does not have, or a malformed field raises :class:`~base.errors.ConfigError`
naming the file and the field.
"""

from __future__ import annotations

import codecs
import fnmatch
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schema.dictionary import template_columns
from centres.profile_checks import FILE_KINDS, check_spec, norm_label
from base.errors import ConfigError

DEFAULT_TRUE = ("yes", "y", "true", "t", "1")
DEFAULT_FALSE = ("no", "n", "false", "f", "0")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Strict):
    delimiter: str = ","
    encoding: list[str] = Field(default_factory=lambda: ["utf-8-sig"])
    decimal: Literal[".", ","] = "."
    quotechar: str = '"'

    @field_validator("encoding", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        if isinstance(v, str):
            v = [v]
        for enc in v:
            try:
                codecs.lookup(enc)
            except LookupError:
                raise ValueError(f"unknown encoding {enc!r}") from None
        return v

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v):
        if v == "\\t":
            v = "\t"
        if len(v) != 1:
            raise ValueError("delimiter must be one character")
        return v


class XlsxOptions(_Strict):
    sheet: str | int = 0


class Booleans(_Strict):
    true: list[str] = Field(default_factory=lambda: list(DEFAULT_TRUE))
    false: list[str] = Field(default_factory=lambda: list(DEFAULT_FALSE))

    @model_validator(mode="before")
    @classmethod
    def _yaml_bool_keys(cls, data):
        # YAML reads an unquoted `true:` key as the boolean True
        if isinstance(data, dict):
            data = {("true" if k is True else "false" if k is False else k): v for k, v in data.items()}
        return data

    @field_validator("true", "false", mode="before")
    @classmethod
    def _strs(cls, v):
        return [str(x) for x in v]

    @model_validator(mode="after")
    def _disjoint(self):
        both = {norm_label(x) for x in self.true} & {norm_label(x) for x in self.false}
        if both:
            raise ValueError(f"words listed as both true and false: {sorted(both)}")
        return self

    def table(self) -> dict[str, bool]:
        t = {norm_label(x): True for x in self.true}
        t.update({norm_label(x): False for x in self.false})
        return t


class ColumnSpec(_Strict):
    """How one source column maps onto the dictionary."""

    source: str
    to: list[str]
    unit: str | None = None
    codes: str | dict[str, str] | None = None
    booleans: Booleans | None = None
    formats: list[str] | None = None
    optional: bool = False
    absent: dict[str, str] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)

    @field_validator("to", mode="before")
    @classmethod
    def _list(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("formats", mode="before")
    @classmethod
    def _fmt_list(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_str(cls, v):
        if isinstance(v, dict):
            return {str(k): str(x) for k, x in v.items()}
        return v

    @property
    def target(self) -> str:
        return self.to[0]


class FileSpec(_Strict):
    """One kind of file a centre sends."""

    name: str
    kind: Literal["wide", "baseline", "visit", "elisa", "labs_long"]
    patterns: list[str] = Field(min_length=1)
    example_name: str | None = None
    description: str = ""
    csv: CsvOptions | None = None
    xlsx: XlsxOptions | None = None
    header_row: int = Field(1, ge=1)
    template: bool = False
    columns: list[ColumnSpec] = Field(default_factory=list)
    ignore_columns: list[str] = Field(default_factory=list)
    unknown_columns: Literal["reject", "ignore"] = "reject"
    constants: dict[str, Any] = Field(default_factory=dict)
    analyte_units: dict[str, str] = Field(default_factory=dict)
    date_formats: list[str] | None = None
    datetime_formats: list[str] | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _columns(cls, v):
        # YAML form: {source header: target} or {source header: {to: ..., unit: ...}}
        if isinstance(v, dict):
            out = []
            for src, spec in v.items():
                if isinstance(spec, (str, list)):
                    spec = {"to": spec}
                elif not isinstance(spec, dict):
                    raise ValueError(f"column {src!r}: expected a target name or a mapping")
                out.append({"source": str(src), **spec})
            return out
        return v

    @model_validator(mode="after")
    def _formats(self):
        if self.csv is None and self.xlsx is None:
            raise ValueError("give 'csv' and/or 'xlsx' reading options")
        return self

    @property
    def entities(self) -> tuple[str, ...]:
        return FILE_KINDS[self.kind]

    def reading_format(self, file_name: str) -> str:
        """'xlsx' for a workbook name when the spec reads workbooks, else 'csv'."""
        is_xlsx = Path(file_name).suffix.lower() in (".xlsx", ".xlsm")
        if is_xlsx and self.xlsx is not None:
            return "xlsx"
        if not is_xlsx and self.csv is not None:
            return "csv"
        return "xlsx" if self.csv is None else "csv"

    def all_columns(self) -> list[ColumnSpec]:
        """Explicit columns plus, with ``template: true``, every template column mapped to itself."""
        cols = list(self.columns)
        if self.template:
            explicit = {norm_label(c.source) for c in cols}
            mapped = {t for c in cols for t in c.to}
            for name in template_columns():
                if norm_label(name) not in explicit and name not in mapped:
                    cols.append(ColumnSpec(source=name, to=[name]))
        return cols


class CentreProfile(_Strict):
    """A centre's configuration (see ``docs/CENTRES.md``)."""

    centre_id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    name: str
    description: str = ""
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"])
    datetime_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"])
    booleans: Booleans = Field(default_factory=Booleans)
    code_maps: dict[str, dict[str, str]] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    files: list[FileSpec] = Field(min_length=1)
    # a file whose share of rejected rows exceeds this is rejected as a whole (used by ingestion)
    max_error_fraction: float = Field(0.5, ge=0.0, le=1.0)
    source_path: str | None = None

    @field_validator("code_maps", mode="before")
    @classmethod
    def _maps(cls, v):
        if isinstance(v, dict):
            return {str(k): {str(a): str(b) for a, b in (m or {}).items()} for k, m in v.items()}
        return v

    @model_validator(mode="after")
    def _check(self):
        names = [f.name for f in self.files]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"file spec names must be unique, repeated: {sorted(dup)}")
        for i, spec in enumerate(self.files):
            check_spec(self, spec, f"files[{i}]")
        return self

    # -- lookups used by the harmonisation ------------------------------------------------------
    def match(self, file_name: str) -> FileSpec | None:
        """The first file spec whose pattern matches ``file_name`` (case-insensitive), else None."""
        name = Path(file_name).name.lower()
        for spec in self.files:
            if any(fnmatch.fnmatchcase(name, p.lower()) for p in spec.patterns):
                return spec
        return None

    def code_map(self, col: ColumnSpec) -> dict[str, str]:
        """Normalised label -> code for a column (named or inline map)."""
        if col.codes is None:
            return {}
        raw = self.code_maps[col.codes] if isinstance(col.codes, str) else col.codes
        return {norm_label(k): v for k, v in raw.items()}

    def labels_for(self, col: ColumnSpec) -> dict[str, list[str]]:
        """code -> labels as written in the profile (the first is the preferred spelling)."""
        if col.codes is None:
            return {}
        raw = self.code_maps[col.codes] if isinstance(col.codes, str) else col.codes
        out: dict[str, list[str]] = {}
        for label, code in raw.items():
            out.setdefault(code, []).append(label)
        return out

    def booleans_for(self, col: ColumnSpec) -> Booleans:
        return col.booleans or self.booleans

    def constants_for(self, spec: FileSpec) -> dict[str, Any]:
        out = dict(self.constants)
        out.update(spec.constants)
        return out

    def date_formats_for(self, spec: FileSpec, col: ColumnSpec | None = None) -> list[str]:
        if col is not None and col.formats:
            return col.formats
        return spec.date_formats or self.date_formats

    def datetime_formats_for(self, spec: FileSpec, col: ColumnSpec | None = None) -> list[str]:
        if col is not None and col.formats:
            return col.formats
        return spec.datetime_formats or self.datetime_formats


def _format_validation_error(exc: ValidationError) -> tuple[str, str, Any]:
    """(location of the first problem, every problem as ``loc: message`` joined by ``; ``, its value)."""
    parts, first_loc, first_value = [], "", None
    for i, err in enumerate(exc.errors()):
        loc = ".".join(str(x) for x in err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if not loc and ": " in msg:  # cross-field checks put the field path first
            loc, msg = msg.split(": ", 1)
        if i == 0:
            first_loc, first_value = loc, err.get("input")
        parts.append(f"{loc}: {msg}" if loc else msg)
    if len(parts) > 1:
        first_value = None          # the message lists every problem; one value would mislead
    return first_loc, "; ".join(parts), first_value


def parse_profile(data: Any, source: str = "<profile>") -> CentreProfile:
    """Validate a profile given as a mapping (the parsed YAML)."""
    if not isinstance(data, dict):
        raise ConfigError("a centre profile must be a YAML mapping", code="invalid_profile", file=source)
    try:
        return CentreProfile.model_validate({**data, "source_path": source})
    except ValidationError as exc:
        loc, msg, value = _format_validation_error(exc)
        if isinstance(value, (dict, list)):
            value = None
        raise ConfigError(f"invalid centre profile: {msg}", code="invalid_profile",
                          file=source, column=loc or None, value=value,
                          hint="see docs/CENTRES.md for the profile format") from None


# libyaml's safe loader when PyYAML was built with it (every profile is read once per pass: 6 profiles
# took ~0.1 s in the pure-Python one, about 10x less in C); the same safe subset of YAML either way
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_profile(path: str | Path) -> CentreProfile:
    """Read and validate one centre profile YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("centre profile not found", code="invalid_profile", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"centre profile is not UTF-8 text ({exc.reason})", code="invalid_profile",
                          file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"centre profile is not valid YAML: {getattr(exc, 'problem', exc)}",
                          code="invalid_profile", file=str(path),
                          line=None if mark is None else mark.line + 1) from None
    return parse_profile(data, str(path))


def _profile_paths(directory: Path) -> list[Path]:
    return sorted(list(directory.glob("*.yaml")) + list(directory.glob("*.yml")))


def _load_named_profile(path: Path) -> CentreProfile:
    profile = load_profile(path)
    if profile.centre_id != path.stem:
        raise ConfigError(f"centre_id {profile.centre_id!r} does not match the file name",
                          code="invalid_profile", file=str(path), column="centre_id",
                          value=profile.centre_id, hint=f"rename the file to {profile.centre_id}.yaml")
    return profile


def load_profiles(directory: str | Path) -> dict[str, CentreProfile]:
    """All ``*.yaml``/``*.yml`` profiles of a folder, keyed by centre id (= the file name stem);
    the first invalid one raises (use :func:`load_profiles_isolated` to keep the others)."""
    return {p.stem: _load_named_profile(p) for p in _profile_paths(Path(directory))}


def load_profiles_isolated(directory: str | Path) -> tuple[dict[str, CentreProfile], dict[str, ConfigError]]:
    """(valid profiles, the error of each invalid one) keyed by centre id (= the file name stem).

    One broken profile must not stop the other centres: ingestion holds the broken centre's files
    in its inbox and reports the error (every problem of the profile in one line)."""
    valid: dict[str, CentreProfile] = {}
    broken: dict[str, ConfigError] = {}
    for path in _profile_paths(Path(directory)):
        try:
            valid[path.stem] = _load_named_profile(path)
        except ConfigError as exc:
            broken[path.stem] = exc
    return valid, broken


__all__ = [
    "FILE_KINDS",
    "CsvOptions",
    "XlsxOptions",
    "Booleans",
    "ColumnSpec",
    "FileSpec",
    "CentreProfile",
    "norm_label",
    "parse_profile",
    "load_profile",
    "load_profiles",
    "load_profiles_isolated",
]
