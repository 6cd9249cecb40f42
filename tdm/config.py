"""Settings resolved once from the environment: where the home is and what lives in it.

All state lives under one folder, ``TDM_HOME`` (default ``./tdm-home``)::

    tdm-home/
      centres/<centre>.yaml     centre profiles (copied from the built-ins by ``tdm init``)
      inbox/<centre>/           where centres drop their exports
      archive/<centre>/         processed files, renamed <file_id>-<name>
      reports/<centre>/         one validation report per file, plus index.html
      published/<publication>/  versioned analysis outputs (CSV, HTML, PNG)
      warehouse.duckdb          the single-writer warehouse
      warehouse.read.duckdb     read-only snapshot analysts query (replaced after each load)
      secrets/                  demo-mode pseudonymisation key (never used in production mode)
      web/accounts.sqlite       web app accounts and sessions (``tdm users``, ``tdm serve``)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tdm.errors import ConfigError, HomeNotFound

MODES = ("demo", "production")


@dataclass(frozen=True)
class Settings:
    home: Path
    mode: str = "demo"
    #: a CSV larger than this is read in chunks of ``chunk_rows`` lines (``TDM_STREAM_THRESHOLD_MB``)
    chunk_threshold_bytes: int = 64 * 1024 * 1024
    #: lines per chunk read and per window of the pandas checks (``TDM_STREAM_CHUNK_ROWS``)
    chunk_rows: int = 500_000

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
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def snapshot(self) -> Path:
        """Read-only copy for analysts, replaced atomically after every successful write."""
        return self.home / "warehouse.read.duckdb"

    def centre_inbox(self, centre_id: str) -> Path:
        return self.inbox / centre_id

    @property
    def is_initialised(self) -> bool:
        """``tdm init`` has run here: the folder holds the migrated warehouse."""
        return self.warehouse.is_file()

    def ensure_dirs(self) -> None:
        for d in (self.centres_dir, self.inbox, self.archive, self.reports, self.published, self.secrets):
            d.mkdir(parents=True, exist_ok=True)


def load_settings(home: str | os.PathLike | None = None, mode: str | None = None) -> Settings:
    """Resolve settings from arguments, then ``TDM_HOME`` / ``TDM_MODE``, then defaults."""
    home_path = Path(home or os.environ.get("TDM_HOME") or "tdm-home").expanduser().resolve()
    mode = mode or os.environ.get("TDM_MODE") or "demo"
    if mode not in MODES:
        raise ConfigError(f"TDM_MODE must be one of {', '.join(MODES)}", value=mode)
    threshold = os.environ.get("TDM_STREAM_THRESHOLD_MB") or "64"
    rows = os.environ.get("TDM_STREAM_CHUNK_ROWS") or "500000"
    try:
        threshold_bytes, chunk_rows = int(float(threshold) * 1024 * 1024), int(rows)
    except ValueError:
        raise ConfigError("TDM_STREAM_THRESHOLD_MB must be a number of megabytes and TDM_STREAM_CHUNK_ROWS a "
                          "whole number of lines", value=f"{threshold} / {rows}") from None
    if chunk_rows < 1:
        raise ConfigError("TDM_STREAM_CHUNK_ROWS must be at least 1", value=rows)
    return Settings(home=home_path, mode=mode, chunk_threshold_bytes=threshold_bytes, chunk_rows=chunk_rows)


def require_home(settings: Settings) -> Settings:
    """``settings`` if its home was initialised by ``tdm init``; else :class:`HomeNotFound`.

    A mistyped TDM_HOME must never silently become a second home with a second warehouse and a
    second pseudonymisation key (the same patient would get another pseudonym)."""
    if not settings.is_initialised:
        raise HomeNotFound(settings.home)
    return settings
