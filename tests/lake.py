"""Tests read the warehouse (a DuckLake) the way analysts do: a read-only connection on the lake."""

from __future__ import annotations

from pathlib import Path

from base.config import Settings, load_settings
from warehouse.lake import open_reader


def read_lake(where, *, snapshot_version: int | None = None):
    """A read-only connection on the lake of a home (a path) or of ``Settings``."""
    settings = where if isinstance(where, Settings) else load_settings(Path(where))
    return open_reader(settings.lake, snapshot_version=snapshot_version, external_access=True)
