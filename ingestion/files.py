"""One received file: its checksum, names in the archive and the reports, its outcome, its archiving."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from base.config import Settings
from base.errors import FileNotReady, FileRejected, TdmError
from ingestion.discovery import Candidate

MAX_NAME_BYTES = 120   # of a sender's file name inside our archive/report names (NAME_MAX is 255 bytes)
DIRECT_IDENTIFIER = "direct_identifier"


@dataclass(frozen=True)
class Committed:
    """What happened to one file (the pass's summary row)."""

    centre_id: str
    file_name: str
    file_id: int | None
    status: str
    rows_read: int
    rows_loaded: int
    rows_warned: int
    rows_rejected: int
    message: str | None
    report_path: str | None
    archive_path: str | None
    discarded: bool = False     # a file with direct identifiers is deleted, never archived


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def short_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` shortened (with a digest, extension kept) so prefixed archive/report names stay legal."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix) <= 10 else ""
    digest = hashlib.sha256(raw).hexdigest()[:8]
    stem = raw[: limit - len(suffix.encode("utf-8", "surrogateescape")) - 9].decode("utf-8", "ignore")
    return f"{stem}~{digest}{suffix}"


def report_stem(candidate: Candidate, checksum: str) -> str:
    """Deterministic per content, so a re-run after a crash overwrites rather than duplicates."""
    stamp = dt.datetime.fromtimestamp(candidate.mtime).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{Path(short_name(candidate.path.name)).stem}-{checksum[:10]}"


def as_file_error(exc: BaseException, candidate: Candidate) -> TdmError:
    """Any failure of a file's stages as a file-level error naming the file."""
    if isinstance(exc, TdmError):
        if exc.file is None:
            exc.file = candidate.path.name
        return exc
    return FileRejected(f"the file could not be processed: {type(exc).__name__}: {exc}",
                        code="unreadable", file=candidate.path.name)


def unchanged_since_discovery(candidate: Candidate) -> bool | None:
    """True: the file is as discovered; False: rewritten or replaced since; None: gone (e.g. archived by
    a concurrent run)."""
    try:
        st = os.stat(candidate.path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return st.st_size == candidate.size_bytes and st.st_mtime == candidate.mtime


def not_ready(candidate: Candidate) -> FileNotReady:
    return FileNotReady("the file changed while it was being read (replaced, or still being written); it is "
                        "left in the inbox and read again on a later pass", file=candidate.path.name)


def unreadable(candidate: Candidate) -> FileRejected:
    """A file this process may not read (its permissions): reported and moved out of the inbox, never
    left as ``not_ready`` to be retried on every pass."""
    return FileRejected("the file cannot be read: permission denied (its access rights do not let the ingestion "
                        "service read it)", code="unreadable", file=candidate.path.name,
                        hint="copy the export into the inbox again with ordinary read permissions")


def unreadable_checksum(candidate: Candidate) -> str:
    """A stand-in for the content checksum of a file that cannot be read (unique per name, size, mtime)."""
    return "unreadable-" + hashlib.sha256(f"{candidate.centre_id}/{candidate.path.name}/{candidate.size_bytes}/"
                                          f"{candidate.mtime}".encode("utf-8", "surrogateescape")).hexdigest()[:48]


def deferred(candidate: Candidate, error: TdmError | None = None, status: str = "not_ready") -> Committed:
    """Nothing recorded, nothing archived: the file stays in the inbox for a later pass."""
    message = str(error) if error is not None else "already processed by a concurrent run"
    return Committed(candidate.centre_id, candidate.path.name, None, status, 0, 0, 0, 0, message, None, None)


def archive_target(settings: Settings, candidate: Candidate, file_id: int) -> Path:
    return settings.archive / candidate.centre_id / f"{file_id:06d}-{short_name(candidate.path.name)}"


def archive_file(candidate: Candidate, committed: Committed) -> str | None:
    """Move a processed file out of the inbox (tolerates a concurrent run having moved it).

    A file rejected for direct identifiers is deleted instead: keeping it would store the very
    identifiers the rejection protects (the centre still has its export and the report says why)."""
    if committed.discarded:
        with contextlib.suppress(FileNotFoundError):
            candidate.path.unlink()
        return None
    if not committed.archive_path:
        return None
    dst = Path(committed.archive_path)
    if not candidate.path.exists():
        return str(dst) if dst.exists() else None
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(candidate.path), str(dst))
    return str(dst)


__all__ = ["Committed", "DIRECT_IDENTIFIER", "MAX_NAME_BYTES", "archive_file", "archive_target", "as_file_error",
           "deferred", "not_ready", "report_stem", "sha256_file", "short_name", "unchanged_since_discovery",
           "unreadable", "unreadable_checksum"]
