"""Discovery: which inbox files are complete and ready, which centres are held, in what order.

A file is *complete* when its size and modification time have been stable for a while; temporary
names, symlinks and anything outside a configured centre's inbox are skipped with a warning.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from dataclasses import dataclass, replace
from pathlib import Path

from centres.profile import load_profiles_isolated
from base.config import Settings

# Names a sender's tools use while a file is being written or that are not exports at all.
TEMPORARY_PATTERNS = ("*.part", "*.partial", "*.tmp", "*.temp", "*.crdownload", "*.download", "~$*", ".*",
                      "*.swp", "*~")
DEFAULT_STABLE_SECONDS = 5.0
# Baseline data first so that visits, ELISA and labs of the same pass find their patients.
KIND_ORDER = {"wide": 0, "baseline": 0, "visit": 1, "elisa": 2, "labs_long": 3}

# One writer per process; DuckDB's file lock serialises writers across processes.
@dataclass(frozen=True)
class Candidate:
    centre_id: str
    path: Path
    size_bytes: int
    mtime: float


@dataclass(frozen=True)
class Discovery:
    ready: tuple[Candidate, ...]
    waiting: tuple[Path, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Held:
    """A centre whose profile is invalid: its files wait in the inbox until the profile is fixed."""

    centre_id: str
    problem: str          # every problem of the profile, one line
    files: int            # files waiting in its inbox

    def line(self) -> str:
        return (f"centre {self.centre_id}: {self.files} file(s) wait in the inbox because its profile is invalid: "
                f"{self.problem}")


def held_centres(settings: Settings, broken: dict | None = None) -> tuple[Held, ...]:
    """The centres whose profile does not load, with the number of files waiting for each.

    ``broken``: the errors of ``load_profiles_isolated`` when the caller has just loaded the
    profiles (so they are not loaded twice)."""
    if not settings.centres_dir.is_dir():
        return ()
    if broken is None:
        _, broken = load_profiles_isolated(settings.centres_dir)
    out = []
    for centre, err in sorted(broken.items()):
        inbox = settings.centre_inbox(centre)
        n = sum(1 for f in inbox.iterdir() if f.is_file() and not is_temporary(f.name)) if inbox.is_dir() else 0
        out.append(Held(centre, " ".join(str(err).split()), n))
    return tuple(out)


def plan_pass(settings: Settings, profiles: dict, *, stable_seconds: float = DEFAULT_STABLE_SECONDS,
              held: tuple[Held, ...] | None = None) -> Discovery:
    """The complete files of this pass, without those of held centres (whose folders are not
    "unconfigured": their files wait rather than being ignored)."""
    held = held_centres(settings) if held is None else held
    waiting_centres = {h.centre_id for h in held}
    found = discover(settings, [*profiles, *waiting_centres], stable_seconds=stable_seconds)
    return replace(found, ready=tuple(c for c in found.ready if c.centre_id not in waiting_centres))


def group_by_centre(candidates) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for c in candidates:
        out.setdefault(c.centre_id, []).append(c)
    return out


def order_candidates(profile, candidates) -> list[Candidate]:
    """Baseline-carrying files first, then visits, ELISA and labs; oldest first within a kind."""
    def kind_rank(c: Candidate) -> int:
        spec = profile.match(c.path.name)
        return KIND_ORDER.get(getattr(spec, "kind", None), 9)

    return sorted(candidates, key=lambda c: (kind_rank(c), c.mtime, c.path.name))


def is_temporary(name: str) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in TEMPORARY_PATTERNS)


def discover(settings: Settings, centres: list[str], *, stable_seconds: float = DEFAULT_STABLE_SECONDS,
             now: float | None = None) -> Discovery:
    """Files ready for ingestion in every configured centre's inbox, oldest first.

    A file is *complete* when its modification time is at least ``stable_seconds`` old: a sender
    still writing keeps touching it.  Symlinks, folders and files in unconfigured inbox folders are
    ignored with a warning (they could point outside the inbox or at another centre's data).
    """
    now = now if now is not None else dt.datetime.now().timestamp()
    ready: list[Candidate] = []
    waiting: list[Path] = []
    warnings: list[str] = []
    if not settings.inbox.exists():
        return Discovery((), (), ())
    configured = set(centres)
    for entry in sorted(os.scandir(settings.inbox), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.name not in configured or entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            warnings.append(f"ignored '{entry.name}' in the inbox: not a configured centre's folder")
            continue
        for f in sorted(os.scandir(entry.path), key=lambda e: e.name):
            if is_temporary(f.name):
                continue
            try:
                f.name.encode("utf-8")
            except UnicodeEncodeError:   # undecodable bytes: cannot be recorded, reported or archived safely
                warnings.append(f"ignored {entry.name}/{os.fsencode(f.name)!r}: the file name is not valid UTF-8; "
                                "rename the file")
                continue
            if f.is_symlink():
                warnings.append(f"ignored symlink {entry.name}/{f.name}: only regular files are ingested")
                continue
            if not f.is_file(follow_symlinks=False):
                warnings.append(f"ignored {entry.name}/{f.name}: not a regular file")
                continue
            st = f.stat(follow_symlinks=False)
            if now - st.st_mtime < stable_seconds:
                waiting.append(Path(f.path))
                continue
            ready.append(Candidate(entry.name, Path(f.path), st.st_size, st.st_mtime))
    ready.sort(key=lambda c: (c.centre_id, c.mtime, c.path.name))
    return Discovery(tuple(ready), tuple(waiting), tuple(warnings))


__all__ = ["Candidate", "DEFAULT_STABLE_SECONDS", "Discovery", "Held", "KIND_ORDER", "TEMPORARY_PATTERNS", "discover",
           "group_by_centre", "held_centres", "is_temporary", "order_candidates", "plan_pass"]
