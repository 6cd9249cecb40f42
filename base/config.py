"""Settings resolved once from the environment: where the home is, what lives in it, and every
``TDM_*`` variable as a typed, validated field (docs/CONFIGURATION.md is the table of them).

All state lives under one folder, ``TDM_HOME`` (default ``./tdm-home``)::

    tdm-home/
      centres/<centre>.yaml     centre profiles (copied from the built-ins by ``tdm init``)
      inbox/<centre>/           where centres drop their exports
      archive/<centre>/         processed files, renamed <file_id>-<name>
      reports/<centre>/         one validation report per file, plus index.html
      published/<publication>/  versioned analysis outputs (CSV, HTML, PNG)
      lake/catalog.sqlite       the warehouse: a DuckLake's catalog (default TDM_LAKE; readers never wait)
      lake/data/                its Parquet data files
      warehouse.duckdb          a pre-DuckLake warehouse, converted once by ``tdm init`` (then kept as
                                warehouse.duckdb.converted)
      secrets/                  demo-mode pseudonymisation key (never used in production mode)
      web/accounts.sqlite       web app accounts and sessions (``tdm users``, ``tdm serve``)
      cache/                    rebuildable caches (the compiled SQL of the dictionary checks)

:func:`load_settings` is the one place that reads the environment; nothing reads a ``TDM_*``
variable at import time or anywhere else, and the values reach the code that uses them as
arguments (``settings.limits`` for the size and memory bounds).  A bad value is a
:class:`~base.errors.ConfigError` naming the variable (the CLI exits 2).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from base.errors import ConfigError, HomeNotFound

MODES = ("demo", "production")
MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """The size and memory bounds of ingestion, the web upload and the writer (defaults: the
    documented ones; tests and benchmarks ``dataclasses.replace`` them)."""

    max_line_bytes: int = 1024 << 10              # TDM_MAX_LINE_KB: a longer CSV line is refused
    xlsx_max_bytes: int = 512 * MB                # TDM_XLSX_MAX_MB: a workbook's uncompressed total
    xlsx_max_cells: int = 4_000_000               # TDM_XLSX_MAX_CELLS: value cells (or the dense range read)
    # TDM_WRITER_MEMORY_LIMIT: DuckDB's buffer pool of the writer. 768MB, not 1GB: the 1e7-line LIS export
    # peaked at 1.29-1.36 GB instead of 1.58-1.61 GB in 38-40 s either way, the 1e6-line wide CSV at
    # 1.13 GB instead of 1.35 GB in 34 s vs 40 s (side by side, quiet, 2 December 2026)
    writer_memory_limit: str = "768MB"
    upload_max_bytes: int = 512 * MB              # TDM_UPLOAD_MAX_MB: one web upload


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Settings:
    home: Path
    mode: str = "demo"
    pseudonym_key: str | None = field(default=None, repr=False)   # TDM_PSEUDONYM_KEY (a secret: never printed)
    pseudonym_key_file: Path | None = None                        # TDM_PSEUDONYM_KEY_FILE
    debug: bool = False                                           # TDM_DEBUG: tracebacks and library warnings
    chromium: str | None = None        # TDM_CHROMIUM: None = search PATH, "" = no PDF, else the program
    limits: Limits = DEFAULT_LIMITS
    prefect_server_idle: float = 600.0  # TDM_PREFECT_SERVER_IDLE: s a home's idle Prefect server lives; 0 = per command
    spill_dir: str | None = None       # TDM_SPILL_DIR: where DuckDB spills a file's tables; None = <home>/tmp/spill
    lake_url: str | None = None         # TDM_LAKE: a DuckLake connection string; None = embedded under the home
    s3: S3Access = field(default_factory=lambda: S3Access())   # TDM_S3_* / AWS_*: an S3 data path's access

    @property
    def centres_dir(self) -> Path:
        return self.home / "centres"

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def published(self) -> Path:
        return self.home / "published"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"

    @property
    def lake(self) -> LakeSpec:
        """The warehouse: the DuckLake of TDM_LAKE, else the embedded one under the home."""
        spec = LakeSpec.parse(self.lake_url) if self.lake_url else LakeSpec.embedded(self.home)
        return replace(spec, s3=self.s3)

    @property
    def spill_directory(self) -> Path:
        """Where DuckDB writes what exceeds its memory limit while a file is read and checked."""
        return Path(self.spill_dir).expanduser() if self.spill_dir else self.home / "tmp" / "spill"

    @property
    def legacy_warehouse(self) -> Path:
        """A pre-DuckLake single-file warehouse (``tdm init`` converts it once)."""
        return self.home / "warehouse.duckdb"

    @property
    def cache(self) -> Path:
        """Rebuildable caches (``tdm init`` warms them; deleting the folder is always safe)."""
        return self.home / "cache"

    def centre_inbox(self, centre_id: str) -> Path:
        return self.inbox / centre_id

    @property
    def is_initialised(self) -> bool:
        """``tdm init`` has run here: the home holds its centre profiles folder and a warehouse
        (an embedded lake's catalog, a configured lake, or a legacy file still to convert)."""
        if not self.centres_dir.is_dir():
            return False
        catalog = self.lake.catalog_file
        return catalog is None or catalog.is_file() or self.legacy_warehouse.is_file()

    def ensure_dirs(self) -> None:
        for d in (self.centres_dir, self.inbox, self.archive, self.reports, self.published, self.secrets):
            d.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class LakeSpec:
    """Where the warehouse lives: a DuckLake connection string (``ducklake:sqlite:<file>``,
    ``ducklake:postgres:<libpq string>``, ``ducklake:<file>.ducklake``) and the data path its
    Parquet files go to when the lake is created (None: DuckLake's default beside the catalog)."""

    url: str
    data_path: str | None = None
    s3: S3Access | None = field(default=None, compare=False)   # how httpfs reaches an s3:// data path (not part of which lake)

    @classmethod
    def embedded(cls, home: Path) -> LakeSpec:
        """The default: a SQLite catalog and the Parquet files under ``<home>/lake/`` (no server)."""
        return cls(f"ducklake:sqlite:{home / 'lake' / 'catalog.sqlite'}", f"{home / 'lake' / 'data'}/")

    @classmethod
    def parse(cls, text: str) -> LakeSpec:
        """``ducklake:<catalog>[;data_path=<path or URL>]`` (TDM_LAKE)."""
        url, sep, rest = text.strip().partition(";")
        data_path = None
        if sep:
            key, eq, value = rest.partition("=")
            if key.strip().lower() != "data_path" or not eq or not value.strip():
                raise ConfigError("TDM_LAKE may only add ';data_path=<path>' after the connection string",
                                  code="bad_setting", value=text,
                                  hint="for example ducklake:sqlite:/srv/lake/catalog.sqlite;data_path=/srv/lake/data/ (docs/LAKE.md)")
            data_path = value.strip()
        if not url.startswith("ducklake:") or len(url) <= len("ducklake:"):
            raise ConfigError("TDM_LAKE must be a DuckLake connection string starting with 'ducklake:'",
                              code="bad_setting", value=text,
                              hint="for example ducklake:sqlite:/srv/lake/catalog.sqlite, or "
                                   "ducklake:postgres:dbname=lake host=db;data_path=s3://bucket/lake/ (docs/LAKE.md)")
        return cls(url, data_path)

    @property
    def catalog_file(self) -> Path | None:
        """The catalog's local file (SQLite or DuckDB catalog), None for a catalog server."""
        rest = self.url.removeprefix("ducklake:")
        if rest.startswith("sqlite:"):
            return Path(rest.removeprefix("sqlite:"))
        if rest.startswith(("postgres:", "mysql:")):
            return None
        return Path(rest.removeprefix("duckdb:"))

    @property
    def postgres_dsn(self) -> str | None:
        """The libpq connection string of a PostgreSQL catalog (None for any other catalog)."""
        rest = self.url.removeprefix("ducklake:")
        return rest.removeprefix("postgres:") if rest.startswith("postgres:") else None

    @property
    def remote_data(self) -> bool:
        """The Parquet files are in object storage: an ``s3://``-style data path, or a catalog server
        with S3 access configured (a reader may leave the data path, stored in the catalog, out)."""
        if self.data_path:
            return "://" in self.data_path
        return self.catalog_file is None and bool(self.s3 and self.s3.configured)


@dataclass(frozen=True)
class S3Access:
    """How DuckDB's httpfs reaches an S3-compatible data path: the fields of one DuckDB ``CREATE
    SECRET (TYPE s3, ...)`` (``warehouse.lake.s3_secret_sql``).  Each comes from ``TDM_S3_*``, else
    the standard ``AWS_*`` variable; unset fields are left to DuckDB's defaults (AWS, https, vhost)."""

    endpoint: str | None = None                              # host:port, or http(s)://host:port
    region: str | None = None
    key_id: str | None = field(default=None, repr=False)     # secrets: never printed
    secret: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    url_style: str | None = None                             # 'path' (MinIO, moto, Ceph) or 'vhost' (AWS)
    use_ssl: bool | None = None                              # None: from the endpoint's scheme, else true

    @property
    def configured(self) -> bool:
        return any(getattr(self, f) is not None for f in self.__dataclass_fields__)


# --- parsing one variable --------------------------------------------------------------------------

def _bad(name: str, raw: str, expected: str) -> ConfigError:
    return ConfigError(f"environment variable {name} must be {expected}", code="bad_setting", value=raw,
                       hint=f"set {name} to {expected}, or unset it for the default (docs/CONFIGURATION.md)")


def _finite_nonnegative(name: str, raw: str, expected: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise _bad(name, raw, expected)
    return value


def _megabytes(scale: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        return int(_finite_nonnegative(name, raw, "a number >= 0 (for example 64 or 0.5)") * scale)
    return parse


def _seconds(name: str, raw: str) -> float:
    return _finite_nonnegative(name, raw, "a number of seconds >= 0 (for example 600, or 0)")


def _count(name: str, raw: str) -> int:
    if not re.fullmatch(r"\s*[0-9][0-9_]*\s*", raw) or int(raw) < 1:
        raise _bad(name, raw, "a whole number >= 1 (for example 500000)")
    return int(raw)


_MEMORY = re.compile(r"\s*[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.I)


def _memory(name: str, raw: str) -> str:
    if not _MEMORY.fullmatch(raw):
        raise _bad(name, raw, "a DuckDB memory size such as 1GB or 512MB")
    return raw.strip()


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise _bad(name, raw, "1 or 0 (also true/false, yes/no, on/off)")
    return value in _TRUE


def _mode(name: str, raw: str) -> str:
    raw = raw or "demo"
    if raw not in MODES:
        raise _bad(name, raw, f"one of {', '.join(MODES)}")
    return raw


def _text(name: str, raw: str) -> str:
    return raw


def _url_style(name: str, raw: str) -> str | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value not in ("path", "vhost"):
        raise _bad(name, raw, "path (MinIO, moto, Ceph: http://host/bucket/key) or vhost (AWS: http://bucket.host/key)")
    return value


def _endpoint(name: str, raw: str) -> str | None:
    if not raw.strip():
        return None
    if not re.fullmatch(r"\s*(https?://)?[A-Za-z0-9.\-\[\]:]+(:[0-9]+)?/?\s*", raw):
        raise _bad(name, raw, "an S3 endpoint host[:port] or http(s)://host[:port] (for example 127.0.0.1:9000)")
    return raw.strip()


def _optional_flag(name: str, raw: str) -> bool | None:
    return _flag(name, raw) if raw.strip() else None


def _lake(name: str, raw: str) -> str:
    LakeSpec.parse(raw)          # refused here, at start-up, with the variable named
    return raw.strip()


@dataclass(frozen=True)
class Variable:
    """One ``TDM_*`` variable: the field it sets (``limits.x`` for :class:`Limits`) and its parser."""

    name: str
    field: str
    parse: Callable[[str, str], object]
    default: str
    meaning: str


#: Every TDM_* variable the code knows; docs/CONFIGURATION.md has the same table (a test checks both).
VARIABLES: tuple[Variable, ...] = (
    Variable("TDM_HOME", "home", _text, "./tdm-home", "the home folder (all state); `--home` wins"),
    Variable("TDM_MODE", "mode", _mode, "demo", "demo or production (production needs a pseudonymisation key)"),
    Variable("TDM_PSEUDONYM_KEY", "pseudonym_key", _text, "(none)", "the pseudonymisation key itself (text)"),
    Variable("TDM_PSEUDONYM_KEY_FILE", "pseudonym_key_file", _text, "(none)",
             "a file holding the key (>= 16 bytes); used when TDM_PSEUDONYM_KEY is unset"),
    Variable("TDM_DEBUG", "debug", _flag, "0", "1: tracebacks for unexpected errors, library warnings shown"),
    Variable("TDM_CHROMIUM", "chromium", _text, "(search PATH)",
             "the Chromium program that prints report.pdf; empty: no PDF"),
    Variable("TDM_PREFECT_SERVER_IDLE", "prefect_server_idle", _seconds, "600",
             "seconds this home's Prefect server lives on without use; 0: one server per command, stopped with it"),
    Variable("TDM_LAKE", "lake_url", _lake, "ducklake:sqlite:<home>/lake/catalog.sqlite",
             "the warehouse: a DuckLake connection string, optionally ';data_path=<path or URL>' for its Parquet files"),
    Variable("TDM_S3_ENDPOINT", "s3.endpoint", _endpoint, "(AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)",
             "the S3-compatible server of an s3:// data path: host:port or http(s)://host:port"),
    Variable("TDM_S3_REGION", "s3.region", _text, "(AWS_REGION, AWS_DEFAULT_REGION)", "the S3 region"),
    Variable("TDM_S3_KEY_ID", "s3.key_id", _text, "(AWS_ACCESS_KEY_ID)", "the S3 access key id"),
    Variable("TDM_S3_SECRET", "s3.secret", _text, "(AWS_SECRET_ACCESS_KEY)", "the S3 secret access key (never printed)"),
    Variable("TDM_S3_URL_STYLE", "s3.url_style", _url_style, "(DuckDB's: vhost)",
             "path for MinIO, moto, Ceph (bucket in the path); vhost for AWS"),
    Variable("TDM_S3_USE_SSL", "s3.use_ssl", _optional_flag, "(the endpoint's scheme, else 1)", "0: plain http to the endpoint"),
    Variable("TDM_MAX_LINE_KB", "limits.max_line_bytes", _megabytes(1 << 10), "1024",
             "longest CSV line accepted, in KB (a longer one refuses the file: `line_too_long`)"),
    Variable("TDM_XLSX_MAX_MB", "limits.xlsx_max_bytes", _megabytes(MB), "512",
             "a workbook's uncompressed size limit, in MB (`workbook_too_large`)"),
    Variable("TDM_XLSX_MAX_CELLS", "limits.xlsx_max_cells", _count, "4000000",
             "value cells of one sheet (and the dense range the fast reader reads)"),
    Variable("TDM_WRITER_MEMORY_LIMIT", "limits.writer_memory_limit", _memory, "768MB",
             "DuckDB's memory limit for the warehouse writer (it spills to disk beyond)"),
    Variable("TDM_SPILL_DIR", "spill_dir", _text, "<home>/tmp/spill",
             "where DuckDB spills a file's tables beyond TDM_WRITER_MEMORY_LIMIT while it is read and checked"),
    Variable("TDM_UPLOAD_MAX_MB", "limits.upload_max_bytes", _megabytes(MB), "512", "largest web upload, in MB"),
)


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The parsed value of every set ``TDM_*`` variable, by field (``limits.x`` for limits)."""
    env = os.environ if environ is None else environ
    return {v.field: v.parse(v.name, env[v.name]) for v in VARIABLES if v.name in env}


def load_settings(home: str | os.PathLike | None = None, mode: str | None = None, *,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings from arguments, then the ``TDM_*`` environment, then defaults (the one reader)."""
    values = read_environment(environ)
    if mode:
        values["mode"] = _mode("TDM_MODE", mode)
    limits = {k.removeprefix("limits."): values.pop(k) for k in list(values) if k.startswith("limits.")}
    s3 = {k.removeprefix("s3."): values.pop(k) for k in list(values) if k.startswith("s3.")}
    home_path = Path(home or values.pop("home", None) or "tdm-home").expanduser().resolve()
    values.pop("home", None)
    key_file = values.pop("pseudonym_key_file", None)
    return Settings(home=home_path, pseudonym_key_file=Path(key_file).expanduser() if key_file else None,
                    limits=Limits(**limits), s3=_s3_access(s3, os.environ if environ is None else environ), **values)


#: The standard AWS variables each S3 field falls back to (the first set one wins).
AWS_FALLBACK = {"endpoint": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
                "key_id": ("AWS_ACCESS_KEY_ID",), "secret": ("AWS_SECRET_ACCESS_KEY",),
                "session_token": ("AWS_SESSION_TOKEN",)}


def _s3_access(values: dict[str, object], env: Mapping[str, str]) -> S3Access:
    """The S3 fields of ``TDM_S3_*``, each else its ``AWS_*`` fallback (empty values count as unset)."""
    fields = {k: v for k, v in values.items() if v not in (None, "")}
    for name, aws in AWS_FALLBACK.items():
        if name not in fields:
            found = next((env[a] for a in aws if env.get(a)), None)
            if found is not None:
                fields[name] = _endpoint(aws[0], found) if name == "endpoint" else found
    return S3Access(**fields)


def require_home(settings: Settings) -> Settings:
    """``settings`` if its home was initialised by ``tdm init``; else :class:`HomeNotFound`.

    A mistyped TDM_HOME must never silently become a second home with a second warehouse and a
    second pseudonymisation key (the same patient would get another pseudonym)."""
    if not settings.is_initialised:
        raise HomeNotFound(settings.home)
    return settings
