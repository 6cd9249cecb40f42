"""Shared fixtures: an isolated TDM home per test, offline Prefect settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from tests.homes import demo_settings
from tests.lake_servers import lake_servers  # noqa: F401  (session fixture: PostgreSQL + S3 on loopback)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_TELEMETRY_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# One Prefect home for the test session (kept between runs, so Prefect migrates it once); the CLI
# puts it under the TDM home only when PREFECT_HOME is not set (base.runtime.prefect_home_under).
# Each pytest-xdist worker has its own (one SQLite database per process tree).
os.environ.setdefault("PREFECT_HOME", os.path.join(os.path.dirname(os.path.dirname(__file__)), ".prefect",
                                                   os.environ.get("PYTEST_XDIST_WORKER", "main")))
# Commands the tests run as subprocesses start a Prefect server for their own run only and stop it
# (tdm.prefect_server); the long-lived server has its own tests, which stop what they start.
os.environ.setdefault("TDM_PREFECT_SERVER_IDLE", "0")
# Publications print report.pdf with Chromium (seconds each); only the PDF tests turn it on.
os.environ.setdefault("TDM_CHROMIUM", "")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings for a fresh home under tmp_path (demo mode)."""
    return demo_settings(tmp_path / "home", monkeypatch)


@pytest.fixture
def warehouse(settings):
    """An initialised (migrated) warehouse in a fresh home."""
    from warehouse.init import init_warehouse

    init_warehouse(settings)
    return settings


# Session-scoped fixtures that take long to build (the reliability corpus pass, the web home, the
# validators' 100,000-line result, the centres' exports).  Under pytest-xdist (`make test` runs two
# workers) every module that names one goes to the same worker as the others naming it, so each is
# built once; every other module goes whole to one worker, so its module-scoped fixtures are built
# once and its tests run in file order.  (xdist's own ``--dist loadgroup`` marks did not group here:
# pytest 9.2, pytest-xdist 3.8, measured 2026-12-02.)
_COSTLY_SESSION_FIXTURES = ("corpus_pass", "web_home", "big_result", "clean_exports")
_TESTS = Path(__file__).resolve().parent


def _fixture_groups() -> dict[str, str]:
    groups = {}
    for path in sorted(_TESTS.rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        named = next((f for f in _COSTLY_SESSION_FIXTURES if f in text), None)
        if named:
            groups[path.relative_to(_TESTS.parent).as_posix()] = named
    return groups


class _ByModuleOrCostlyFixture(LoadScopeScheduling):
    groups = _fixture_groups()

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return self.groups.get(path, path)


def pytest_xdist_make_scheduler(config, log):
    return _ByModuleOrCostlyFixture(config, log)


def pytest_collection_modifyitems(config, items):
    """The modules sharing a costly fixture first, then the reliability tests (the longest), then the
    rest, each in file order: xdist hands out modules in this order, so the long ones do not start last."""
    groups = _ByModuleOrCostlyFixture.groups

    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return 0 if path in groups else 1 if path.startswith("tests/reliability/") else 2
    items.sort(key=rank)
