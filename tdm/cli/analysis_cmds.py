"""CLI commands: analysis."""

from __future__ import annotations

from tdm.cli import app  # noqa: F401
