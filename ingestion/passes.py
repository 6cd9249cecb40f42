"""An ingestion pass with plain calls: set up the home, plan the pass, process each file in order.

``flows/ingest.py`` runs the same stages as Prefect tasks (centres in parallel, one writer).
"""

from __future__ import annotations

import logging

from centres import install_builtin_profiles
from centres.profile import load_profiles_isolated
from base.config import Settings, load_settings
from base.errors import HomeNotFound
from ingestion.writer import process_file
from ingestion.discovery import (DEFAULT_STABLE_SECONDS, Candidate, Held, group_by_centre, held_centres,
                                  order_candidates, plan_pass)
from ingestion.files import Committed
from centres.privacy import load_key
from ingestion.reports import write_held_notice
from base.runtime import STOP
from warehouse.revision import SCHEMA_HEAD, current_revision


def setup(home=None):
    """Settings, centre profiles and the pseudonymisation key for a pass (warehouse migrated)."""
    settings = load_settings(home)
    if not settings.home.is_dir():   # a mistyped home never becomes a new one (only `tdm init` creates)
        raise HomeNotFound(settings.home)
    # a fresh home is initialised; a lake of an older code version (or a single-file warehouse still
    # to convert) is migrated on its next pass; a lake at the head never imports alembic (issue 14)
    revision = current_revision(settings.lake)
    fresh = revision is None
    if fresh or revision != SCHEMA_HEAD or settings.legacy_warehouse.is_file():
        # lazy: alembic costs ~0.4 s and is needed only when the lake must change
        from warehouse.init import init_warehouse

        install_builtin_profiles(settings)
        init_warehouse(settings)
    settings.ensure_dirs()
    profiles, _broken = load_profiles_isolated(settings.centres_dir)   # broken ones: see held_centres
    return settings, profiles, load_key(settings, create=fresh)


def publish_held(settings: Settings, held: tuple[Held, ...]) -> None:
    """Show each held centre's problem at the top of its reports index."""
    for h in held:
        write_held_notice(settings, h.centre_id, h.line())


def process_file_guarded(settings: Settings, profile, candidate: Candidate, key: bytes) -> Committed:
    """``process_file``, but an unexpected failure (a bug, a full disk) is reported for this file and the
    pass goes on with the next one; the file stays in the inbox and is retried on the next pass."""
    try:
        return process_file(settings, profile, candidate, key)
    except Exception as exc:
        logging.getLogger("ingestion").exception("processing %s/%s failed", candidate.centre_id, candidate.path.name)
        return Committed(candidate.centre_id, candidate.path.name, None, "failed", 0, 0, 0, 0,
                         f"unexpected {type(exc).__name__}: {exc}; the file stays in the inbox and is retried",
                         None, None)


def run_pass(home=None, *, stable_seconds: float = DEFAULT_STABLE_SECONDS) -> list[Committed]:
    """One ingestion pass with plain calls, sequentially (what the flow does with tasks)."""
    settings, profiles, key = setup(home)
    held = held_centres(settings)
    found = plan_pass(settings, profiles, stable_seconds=stable_seconds, held=held)
    publish_held(settings, held)
    out = []
    for centre, cands in group_by_centre(found.ready).items():
        for cand in order_candidates(profiles[centre], cands):
            if STOP.is_set():
                return out
            out.append(process_file_guarded(settings, profiles[centre], cand, key))
    return out


__all__ = ["process_file_guarded", "publish_held", "run_pass", "setup"]
