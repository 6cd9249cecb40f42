"""Ingestion stages as plain functions; the Prefect flow (``flows/ingest.py``) only wires them.

``discover``  inbox files that are complete (size and mtime stable), skipping temporary names,
              symlinks and anything outside a configured centre's inbox.
``prepare``   read -> scan for direct identifiers -> harmonise -> validate, with no writes; safe to
              run for different centres in parallel (it reads the analysts' snapshot for context).
``commit``    the single-writer stage: duplicate check, report, atomic load, snapshot, archive.

A file that fails anywhere ends as a row in ``ingest.files`` with a specific message and a report;
one bad file never stops the others.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import hashlib
import os
import shutil
import threading
from dataclasses import dataclass, field, replace
from typing import Callable
from pathlib import Path

import pandas as pd

from tdm.config import DEFAULT_LIMITS, Limits, Settings
from tdm.errors import FileNotReady, FileRejected, HomeNotFound, TdmError
from tdm.runtime import STOP
from tdm.version import code_version

# Names a sender's tools use while a file is being written or that are not exports at all.
TEMPORARY_PATTERNS = ("*.part", "*.partial", "*.tmp", "*.temp", "*.crdownload", "*.download", "~$*", ".*",
                      "*.swp", "*~")
DEFAULT_STABLE_SECONDS = 5.0
# Baseline data first so that visits, ELISA and labs of the same pass find their patients.
KIND_ORDER = {"wide": 0, "baseline": 0, "visit": 1, "elisa": 2, "labs_long": 3}

# One writer per process; DuckDB's file lock serialises writers across processes.
WRITE_LOCK = threading.Lock()


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


def setup(home=None):
    """Settings, centre profiles and the pseudonymisation key for a pass (warehouse migrated)."""
    from tdm.centres import install_builtin_profiles
    from tdm.centres.profile import load_profiles_isolated
    from tdm.config import load_settings
    from tdm.privacy import load_key
    from tdm.warehouse import init_warehouse
    from tdm.warehouse.migrate import current_revision, head_revision

    settings = load_settings(home)
    if not settings.home.is_dir():   # a mistyped home never becomes a new one (only `tdm init` creates)
        raise HomeNotFound(settings.home)
    # a fresh home is initialised; an existing warehouse of an older code version is migrated on its next pass
    revision = current_revision(settings.warehouse)
    fresh = revision is None or not settings.snapshot.exists()
    if fresh or revision != head_revision():
        init_warehouse(settings)
        install_builtin_profiles(settings)
    settings.ensure_dirs()
    profiles, _broken = load_profiles_isolated(settings.centres_dir)   # broken ones: see held_centres
    return settings, profiles, load_key(settings, create=fresh)


@dataclass(frozen=True)
class Held:
    """A centre whose profile is invalid: its files wait in the inbox until the profile is fixed."""

    centre_id: str
    problem: str          # every problem of the profile, one line
    files: int            # files waiting in its inbox

    def line(self) -> str:
        return (f"centre {self.centre_id}: {self.files} file(s) wait in the inbox because its profile is invalid: "
                f"{self.problem}")


def held_centres(settings: Settings) -> tuple[Held, ...]:
    """The centres whose profile does not load, with the number of files waiting for each."""
    from tdm.centres.profile import load_profiles_isolated

    if not settings.centres_dir.is_dir():
        return ()
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


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Prepared:
    """The outcome of the read-only stages for one file."""

    candidate: Candidate
    checksum: str
    file_kind: str | None
    result: object | None = None          # validators.ValidationResult
    error: TdmError | None = None         # file-level error before validation
    rows_read: int = 0
    columnar: "ColumnarJob | None" = None  # loaded by the columnar path in the writer stage
    again: "Callable[[], Prepared] | None" = field(default=None, repr=False)   # read + validate anew
    stream: "Callable[[], Committed] | None" = field(default=None, repr=False)  # the streamed path decides


MAX_NAME_BYTES = 120   # of a sender's file name inside our archive/report names (NAME_MAX is 255 bytes)


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


def load_context(settings: Settings, centre_id: str, file_name: str, file_kind: str | None,
                 max_error_fraction: float):
    """Validation context from the analysts' snapshot (never the writer's file)."""
    from tdm.warehouse.connection import open_reader
    from tdm.warehouse.queries import confirmed_findings
    from validators import ValidationContext

    frames: dict[str, pd.DataFrame] = {}
    if settings.snapshot.exists():
        con = open_reader(settings.snapshot)
        try:
            # with their dates, so visits sent without their baseline still get the date-order rules
            frames["known_patients"] = con.execute(
                "SELECT centre_id, patient_id, birth_date, diagnosis_date, ifx_start_date FROM core.patients "
                "WHERE is_current AND centre_id = ?", [centre_id]).df()
            frames["other_centre_patients"] = other_centre_patients(con, centre_id)
            frames["existing_assessments"] = con.execute(
                "SELECT centre_id, patient_id, colonoscopy_date, infusion_date FROM core.assessments "
                "WHERE is_current AND centre_id = ?", [centre_id]).df()
            frames["reviews"] = confirmed_findings(con, centre_id)
            frames["unit_reference"] = unit_reference(con)
        finally:
            con.close()
    return ValidationContext(centre_id=centre_id, file_name=file_name, file_kind=file_kind or "",
                             max_error_fraction=max_error_fraction, today=dt.date.today(), **frames)


def other_centre_patients(con, centre_id: str) -> pd.DataFrame:
    """``centre_id, patient_id`` of every current patient of the other centres (the
    ``patient_in_other_centre`` rule's context), from the snapshot or, at commit time, the writer."""
    return con.execute("SELECT DISTINCT centre_id, patient_id FROM core.patients WHERE is_current AND centre_id <> ?",
                       [centre_id]).df()


def _file_patients(result) -> set[str]:
    ids = [df["patient_id"] for df in result.accepted.values() if "patient_id" in df.columns and len(df)]
    if len(result.rejected):
        ids.append(result.rejected["patient_id"])
    return set(pd.concat(ids).dropna().astype("str")) if ids else set()


def registered_elsewhere_since(con, prepared: "Prepared") -> bool:
    """Under the writer lock: does another centre now hold a patient of this file that its validation did
    not flag ``patient_in_other_centre``?  Centres are validated in parallel, each against the snapshot
    of its start; a centre that committed in between is seen here, so the outcome is the sequential one
    whatever the interleaving (the caller validates the file again)."""
    result = prepared.result
    if result is None or result.file_error is not None:
        return False
    ids = _file_patients(result)
    if not ids:
        return False
    elsewhere = set(other_centre_patients(con, prepared.candidate.centre_id)["patient_id"].astype("str")) & ids
    issues = result.issues
    flagged = set(issues.loc[issues["rule"] == "patient_in_other_centre", "patient_id"].dropna().astype("str"))
    return bool(elsewhere - flagged)


def unit_reference(con) -> pd.DataFrame:
    """The study's current median and count of each variable checked for a whole-file unit mix-up."""
    from schema.dictionary import ENTITIES
    from validators.units import FILE_CHECKED

    parts = [f"SELECT '{c}' AS variable, median(value) AS median, count(value) AS n FROM core.lab_results "
             f"WHERE is_current AND analyte = '{c}'" if e == "lab" else
             f"SELECT '{c}', median({c}), count({c}) FROM core.{ENTITIES[e].table} WHERE is_current"
             for e, c in FILE_CHECKED]
    return con.execute(" UNION ALL ".join(parts)).df()


@dataclass(frozen=True)
class ReadResult:
    """A file read and mapped onto the harmonised schema (or the reason it could not be)."""

    candidate: Candidate
    checksum: str
    file_kind: str | None
    harmonised: object | None = None      # tdm.centres.harmonise.Harmonised, or a tdm.columnar.Plan
    error: TdmError | None = None
    rows_read: int = 0
    harmonised_key: bytes | None = field(default=None, repr=False)   # to read the file again (reference path)
    stream: bool = False          # too large to read whole, and the columnar path cannot take it: streamed


def _as_file_error(exc: BaseException, candidate: Candidate) -> TdmError:
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


def deferred(candidate: Candidate, error: TdmError | None = None, status: str = "not_ready") -> "Committed":
    """Nothing recorded, nothing archived: the file stays in the inbox for a later pass."""
    message = str(error) if error is not None else "already processed by a concurrent run"
    return Committed(candidate.centre_id, candidate.path.name, None, status, 0, 0, 0, 0, message, None, None)


def read_and_harmonise(profile, candidate: Candidate, key: bytes, *, columnar: bool = True,
                       limits: Limits = DEFAULT_LIMITS) -> ReadResult:
    """Read one export, refuse direct identifiers, map it onto harmonised frames. Never raises.

    A wide CSV export is read by the columnar path (``tdm/columnar``: DuckDB) when its profile
    allows; its ``harmonised`` is then a :class:`tdm.columnar.ColumnarRead`, screened in
    :func:`validate_read`, and the reference path reads the file again if the screen flags anything."""
    from tdm.centres.harmonise import harmonise
    from tdm.centres.readers import read_export
    from tdm.privacy import refuse_identifiers

    spec = profile.match(candidate.path.name)
    kind = getattr(spec, "kind", None)
    if not unchanged_since_discovery(candidate):
        return ReadResult(candidate, "", kind, error=not_ready(candidate))
    try:
        checksum = sha256_file(candidate.path)
    except PermissionError:
        return ReadResult(candidate, unreadable_checksum(candidate), kind, error=unreadable(candidate))
    except OSError:
        return ReadResult(candidate, "", kind, error=not_ready(candidate))
    try:
        if spec is None:
            raise FileRejected(
                f"the file name matches none of centre '{candidate.centre_id}' export patterns",
                code="no_matching_spec", file=candidate.path.name,
                hint="rename the file to one of the patterns in the centre profile, or add a pattern",
            )
        if columnar and columnar_reason(profile, candidate, limits) is None:
            fast = _plan_columnar(profile, spec, candidate, key, checksum, limits)
            if fast is not None:
                return fast
        if candidate.size_bytes > limits.stream_threshold_bytes and spec.reading_format(candidate.path.name) == "csv":
            return ReadResult(candidate, checksum, kind, stream=True, harmonised_key=key)   # never read whole
        raw = read_export(candidate.path, spec, limits=limits)
        if not unchanged_since_discovery(candidate):   # the checksum and the rows must be of the same bytes
            raise not_ready(candidate)
        refuse_identifiers(raw, candidate.path.name)
        harmonised = harmonise(raw, spec, profile, key)
        return ReadResult(candidate, checksum, kind, harmonised=harmonised, rows_read=harmonised.rows_read,
                          harmonised_key=key)
    except Exception as exc:
        return ReadResult(candidate, checksum, kind, error=_as_file_error(exc, candidate))


def columnar_reason(profile, candidate: Candidate, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why the columnar path (``tdm/columnar``) cannot take this file; None when it can."""
    from tdm.columnar import unsupported

    return unsupported(profile.match(candidate.path.name), candidate.path.name, candidate.size_bytes, limits)


def _plan_columnar(profile, spec, candidate: Candidate, key: bytes, checksum: str, limits: Limits) -> ReadResult | None:
    """A ReadResult whose ``harmonised`` is the columnar plan of a wide CSV, or None when the reference
    path must read the file (logged why)."""
    import logging

    from tdm.columnar import Fallback, plan

    try:
        compiled = plan(candidate.path, spec, profile, key, max_line_bytes=limits.max_line_bytes)
    except Fallback as why:
        logging.getLogger("tdm.columnar").info("%s: reference path (%s)", candidate.path.name, why)
        return None
    return ReadResult(candidate, checksum, spec.kind, harmonised=compiled, rows_read=0, harmonised_key=key)


@dataclass(frozen=True)
class ColumnarJob:
    """A wide CSV the writer stage loads with the columnar path (``tdm/columnar``): its plan, the
    validation context for the screen, and the reference preparation to run if the screen flags."""

    plan: object
    context: object
    reference: Callable[[], "Prepared"]


def validate_read(settings: Settings, profile, read: ReadResult) -> Prepared:
    """Validate harmonised frames against the dictionary, the rules and the warehouse context."""
    from validators import validate_file

    if read.error is not None:
        return Prepared(read.candidate, read.checksum, read.file_kind, error=read.error, rows_read=read.rows_read)
    if read.stream:
        candidate, key = read.candidate, read.harmonised_key
        return Prepared(candidate, read.checksum, read.file_kind,
                        stream=lambda: commit_streaming(settings, profile, candidate, key))
    try:
        context = load_context(settings, read.candidate.centre_id, read.candidate.path.name, read.file_kind,
                               getattr(profile, "max_error_fraction", 0.5))
        if _is_columnar(read):
            key, candidate = read.harmonised_key, read.candidate

            def reference() -> Prepared:
                return validate_read(settings, profile, read_and_harmonise(profile, candidate, key, columnar=False,
                                                                           limits=settings.limits))

            return Prepared(candidate, read.checksum, read.file_kind,
                            columnar=ColumnarJob(read.harmonised, context, reference))
        result = validate_file(read.harmonised.frames, read.harmonised.cell_issues, context)
    except Exception as exc:
        return Prepared(read.candidate, read.checksum, read.file_kind, error=_as_file_error(exc, read.candidate),
                        rows_read=read.rows_read)
    key, candidate = read.harmonised_key, read.candidate

    def again() -> Prepared:      # reads the file again: the harmonised frames are not kept meanwhile
        return validate_read(settings, profile, read_and_harmonise(profile, candidate, key, columnar=False,
                                                                   limits=settings.limits))

    return Prepared(read.candidate, read.checksum, read.file_kind, result=result, rows_read=read.rows_read,
                    again=again if key is not None else None)


def _is_columnar(read: ReadResult) -> bool:
    from tdm.columnar import Plan

    return isinstance(read.harmonised, Plan)


def dry_run(settings: Settings, profile, path: Path, key: bytes) -> Prepared:
    """What ingesting ``path`` for ``profile``'s centre would decide, with nothing written to the
    warehouse: the same read, identifier check, harmonising and validation (rules and warehouse
    context included) as :func:`prepare`, on the reference path (the columnar path decides inside
    the writer's transaction)."""
    st = os.stat(path)
    candidate = Candidate(profile.centre_id, Path(path), st.st_size, st.st_mtime)
    return validate_read(settings, profile, read_and_harmonise(profile, candidate, key, columnar=False,
                                                               limits=settings.limits))


def prepare(settings: Settings, profile, candidate: Candidate, key: bytes) -> Prepared:
    """Read-only stages for one file (read, harmonise, validate)."""
    return validate_read(settings, profile, read_and_harmonise(profile, candidate, key, limits=settings.limits))


@dataclass(frozen=True)
class Committed:
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


DIRECT_IDENTIFIER = "direct_identifier"


def _archive_target(settings: Settings, candidate: Candidate, file_id: int) -> Path:
    return settings.archive / candidate.centre_id / f"{file_id:06d}-{short_name(candidate.path.name)}"


def archive_file(candidate: Candidate, committed: "Committed") -> str | None:
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


def process_file(settings: Settings, profile, candidate: Candidate, key: bytes) -> "Committed":
    """All stages for one file, as plain calls (the flow runs the same stages as tasks)."""
    if should_stream(profile, candidate, settings.limits):
        committed = commit_streaming(settings, profile, candidate, key)
    else:
        committed = commit(settings, prepare(settings, profile, candidate, key))
    archive_file(candidate, committed)
    return committed


class StreamInstead(Exception):
    """A large file the columnar screen did not pass: the streamed path decides it (outside the writer
    lock the columnar attempt held), so it is never read whole into memory."""

    def __init__(self, run: Callable[[], "Committed"]):
        super().__init__("streamed instead")
        self.run = run


def commit(settings: Settings, prepared: Prepared) -> Committed:
    """Single-writer stage for one file: duplicate check, report, atomic load, read snapshot."""
    if prepared.stream is not None:
        return prepared.stream()
    try:
        return _commit_once(settings, prepared)
    except StreamInstead as instead:          # nothing was written for the file: stream it now
        return instead.run()


def _commit_once(settings: Settings, prepared: Prepared) -> Committed:
    from tdm.warehouse.connection import open_writer, publish_snapshot
    from tdm.warehouse.load import FileMeta, error_outcome, load_file, plan_outcome, record_file_error

    cand = prepared.candidate
    if prepared.error is not None and prepared.error.transient:
        return deferred(cand, prepared.error)
    meta = FileMeta(
        centre_id=cand.centre_id, file_name=cand.path.name, checksum_sha256=prepared.checksum,
        size_bytes=cand.size_bytes, received_at=dt.datetime.fromtimestamp(cand.mtime),
        code_version=code_version(), file_kind=prepared.file_kind,
    )
    with WRITE_LOCK, open_writer(settings.warehouse, memory_limit=settings.limits.writer_memory_limit) as con:
        slot = _claim_file(con, settings, cand, meta)
        if isinstance(slot, Committed):
            return slot
        file_id, meta, stem, earlier = slot
        # The report is written before the load commits: a crash in between re-runs the file and
        # overwrites the same report (its name is fixed by the content), so no report is ever lost.
        discard = getattr(prepared.error, "code", None) == DIRECT_IDENTIFIER
        if discard:
            meta = replace(meta, archive_path=None)
        if earlier is not None:
            outcome, copy_of_discarded = _record_duplicate(con, settings, meta, file_id, earlier, prepared, stem)
            if copy_of_discarded:
                discard, meta = True, replace(meta, archive_path=None)
        else:
            if prepared.columnar is not None:      # the screen sees every row committed before this commit
                job = prepared.columnar
                fresh = replace(job.context, other_centre_patients=other_centre_patients(con, cand.centre_id))
                prepared = replace(prepared, columnar=replace(job, context=fresh))
            elif prepared.again is not None and registered_elsewhere_since(con, prepared):
                prepared = prepared.again()        # validated under the lock: the snapshot is current
            if prepared.columnar is not None:
                done = _commit_columnar(con, settings, meta, file_id, stem, prepared)
                if isinstance(done, Prepared):   # not loaded: the reference path (or a file error) decides
                    if done.stream is not None:  # too large for the reference path: leave the lock, stream
                        raise StreamInstead(done.stream)
                    prepared = done
                    if getattr(prepared.error, "code", None) == DIRECT_IDENTIFIER:
                        discard, meta = True, replace(meta, archive_path=None)
                else:
                    outcome = done
            if prepared.columnar is not None:
                pass                         # loaded by the columnar path
            elif prepared.error is not None and prepared.error.transient:
                return deferred(cand, prepared.error)
            elif prepared.error is not None:
                planned = error_outcome(file_id, prepared.error, prepared.rows_read)
                write_report(settings, meta, planned, prepared, stem)
                outcome = record_file_error(con, file_id, meta, prepared.error, prepared.rows_read)
            else:
                write_report(settings, meta, plan_outcome(file_id, prepared.result), prepared, stem)
                outcome = load_file(con, file_id, meta, prepared.result)
        publish_snapshot(con, settings.warehouse, settings.snapshot)
    return _committed(cand, outcome, meta, discard)


def _commit_columnar(con, settings: Settings, meta, file_id: int, stem: str, prepared: Prepared):
    """Load a columnar job in one transaction (stage, screen, report, insert, file row) and return the
    outcome; or, rolled back with nothing written, the ``Prepared`` the reference stages take on: the
    reference preparation when the screen flags anything, the file error for direct identifiers or a
    file changed while being read."""
    import logging

    from tdm.columnar import Fallback, stage
    from tdm.columnar.engine import restore_memory
    from tdm.warehouse.load import _transaction, insert_file_row, plan_outcome
    from validators.core import clean_result

    job = prepared.columnar
    try:
        with _transaction(con):
            staged = stage(con, job.plan, job.context, memory_limit=settings.limits.columnar_memory_limit)
            if not unchanged_since_discovery(prepared.candidate):   # the checksum and the rows: same bytes
                raise not_ready(prepared.candidate)
            result = clean_result(staged.accepted_for(_quarantined_patients(con, meta.centre_id)), staged.rows_read)
            outcome = plan_outcome(file_id, result)
            write_report(settings, meta, outcome, replace(prepared, result=result, rows_read=staged.rows_read), stem)
            outcome = replace(outcome, superseded=staged.insert(file_id))
            staged.drop()
            insert_file_row(con, file_id, meta, outcome)
        return outcome
    except Fallback as why:
        logging.getLogger("tdm.columnar").info("%s: reference path (%s)", meta.file_name, why)
        return job.reference()
    except TdmError as exc:
        return replace(prepared, columnar=None,
                       error=exc if exc.transient else _as_file_error(exc, prepared.candidate))
    finally:
        restore_memory(con, settings.limits.writer_memory_limit)


def _quarantined_patients(con, centre_id: str) -> list[str]:
    """Patients with quarantined rows of this centre (all a resubmission diff can match)."""
    rows = con.execute("SELECT DISTINCT patient_id FROM quarantine.rows WHERE centre_id = ? AND patient_id IS NOT NULL",
                       [centre_id]).fetchall()
    return [r[0] for r in rows]


def _claim_file(con, settings: Settings, cand: Candidate, meta):
    """Under the writer lock, before anything is written for a file: a ``Committed`` to return at
    once (processed by a concurrent run, replaced meanwhile, or already loaded by a run that crashed
    before archiving it), else ``(file_id, meta with archive and report paths, report stem, earlier)``
    where ``earlier`` is the first file with the same content, if any."""
    from tdm.warehouse.load import find_loaded_checksum, remove_uncommitted_rows, reserve_file_id

    state = unchanged_since_discovery(cand)      # a concurrent run may have archived it,
    if state is None:                            # or the sender replaced it meanwhile
        return deferred(cand, status="already_processed")
    if not state:
        return deferred(cand, not_ready(cand))
    remove_uncommitted_rows(con)   # leftovers of a streamed load killed mid-file, never published
    earlier = find_loaded_checksum(con, meta.checksum_sha256)
    if earlier is not None and earlier[1] and not Path(earlier[1]).exists() and cand.path.exists():
        # Loaded by a run that crashed before archiving: archive it now, record nothing new.
        return Committed(cand.centre_id, cand.path.name, earlier[0], "already_loaded", 0, 0, 0, 0,
                         "completed the archiving of an earlier interrupted run", None, earlier[1])
    file_id = reserve_file_id(con)
    stem = report_stem(cand, meta.checksum_sha256)
    meta = replace(meta, archive_path=str(_archive_target(settings, cand, file_id)),
                   report_path=str(settings.reports / cand.centre_id / f"{stem}.html"))
    return file_id, meta, stem, earlier


def _record_duplicate(con, settings: Settings, meta, file_id: int, earlier, prepared: Prepared, stem: str):
    """Report and record identical content received again; a copy of a file rejected for direct
    identifiers is discarded like the original.  Returns (outcome, discard)."""
    from tdm.warehouse.load import duplicate_outcome, record_duplicate

    discard = earlier[2] == DIRECT_IDENTIFIER
    if discard:
        meta = replace(meta, archive_path=None)
    write_report(settings, meta, duplicate_outcome(file_id, earlier[0]), prepared, stem)
    return record_duplicate(con, file_id, meta, earlier[0]), discard


def _committed(cand: Candidate, outcome, meta, discard: bool) -> Committed:
    return Committed(cand.centre_id, cand.path.name, outcome.file_id, outcome.status, outcome.rows_read,
                     outcome.rows_loaded, outcome.rows_warned, outcome.rows_rejected, outcome.message,
                     meta.report_path, meta.archive_path, discarded=discard)


def write_report(settings: Settings, meta, outcome, prepared: Prepared, stem: str) -> None:
    """Write the data managers' report (HTML + CSV + JSON) and refresh the centre's index."""
    from tdm.reports import write_file_report_for

    write_file_report_for(settings, meta, outcome, prepared, stem)


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


def publish_held(settings: Settings, held: tuple[Held, ...]) -> None:
    """Show each held centre's problem at the top of its reports index."""
    if not held:
        return
    from tdm.reports import write_held_notice

    for h in held:
        write_held_notice(settings, h.centre_id, h.line())


def process_file_guarded(settings: Settings, profile, candidate: Candidate, key: bytes) -> Committed:
    """``process_file``, but an unexpected failure (a bug, a full disk) is reported for this file and the
    pass goes on with the next one; the file stays in the inbox and is retried on the next pass."""
    try:
        return process_file(settings, profile, candidate, key)
    except Exception as exc:
        import logging

        logging.getLogger("tdm.ingest").exception("processing %s/%s failed", candidate.centre_id, candidate.path.name)
        return Committed(candidate.centre_id, candidate.path.name, None, "failed", 0, 0, 0, 0,
                         f"unexpected {type(exc).__name__}: {exc}; the file stays in the inbox and is retried",
                         None, None)


# --- large files: streamed in chunks ----------------------------------------------------------------
# A file above ``limits.stream_threshold_bytes`` (TDM_STREAM_THRESHOLD_MB) is never held in memory
# whole: each chunk is read, screened,
# harmonised, validated and inserted inside ONE writer transaction, so the file still commits
# atomically and memory stays bounded by the chunk size.  Limits (documented): rules that compare
# rows (duplicate rows, a second assessment) see one chunk at a time, and the report's
# resubmission diff is not computed for streamed files.


def should_stream(profile, candidate: Candidate, limits: Limits = DEFAULT_LIMITS) -> bool:
    spec = profile.match(candidate.path.name)
    if spec is None:
        return False
    if candidate.size_bytes <= limits.stream_threshold_bytes or spec.reading_format(candidate.path.name) != "csv":
        return False
    return columnar_reason(profile, candidate, limits) is not None    # DuckDB spills: no need to stream


def _merge_results(parts: list, rows_read: int):
    """One report-sized ValidationResult from the chunks' results (accepted rows are not kept)."""
    from validators.core import ValidationResult, empty_issues, empty_rejected, rule_counts

    found = [p.issues for p in parts if len(p.issues)]
    issues = pd.concat(found, ignore_index=True) if found else empty_issues()
    held = [p.confirmed for p in parts if len(p.confirmed)]
    rejected = [p.rejected for p in parts if len(p.rejected)]
    return ValidationResult(
        accepted={}, rejected=pd.concat(rejected, ignore_index=True) if rejected else empty_rejected(),
        issues=issues, file_error=None, rows_read=rows_read,
        rows_loaded=sum(p.rows_loaded for p in parts), rows_warned=sum(p.rows_warned for p in parts),
        rows_rejected=sum(p.rows_rejected for p in parts),
        warnings_suppressed=sum(p.warnings_suppressed for p in parts), rule_counts=rule_counts(issues),
        confirmed=pd.concat(held, ignore_index=True) if held else empty_issues(),
    )


def commit_streaming(settings: Settings, profile, candidate: Candidate, key: bytes,
                     chunk_rows: int | None = None) -> Committed:
    """Read, validate and load a large CSV chunk by chunk with memory bounded by one chunk.

    Each chunk commits on its own, but the file's rows count only from the final transaction that
    supersedes earlier rows and writes its ``ingest.files`` row: the snapshot is published only after
    it, and rows of a failed or killed streamed load are removed (``remove_uncommitted_rows``) before
    anything else is written, so the file is still all-or-nothing for every reader."""
    from tdm.centres.harmonise import harmonise
    from tdm.centres.readers import iter_csv_chunks
    from tdm.privacy import refuse_identifiers
    from tdm.warehouse.connection import open_writer, publish_snapshot
    from tdm.warehouse import load as loader
    from validators import validate_file

    spec = profile.match(candidate.path.name)
    chunk_rows = chunk_rows or settings.limits.stream_chunk_rows
    if not unchanged_since_discovery(candidate):
        return deferred(candidate, not_ready(candidate))
    kind = getattr(spec, "kind", None)
    try:
        checksum = sha256_file(candidate.path)
    except PermissionError:
        return commit(settings, Prepared(candidate, unreadable_checksum(candidate), kind, error=unreadable(candidate)))
    except OSError:
        return deferred(candidate, not_ready(candidate))
    meta = loader.FileMeta(
        centre_id=candidate.centre_id, file_name=candidate.path.name, checksum_sha256=checksum,
        size_bytes=candidate.size_bytes, received_at=dt.datetime.fromtimestamp(candidate.mtime),
        code_version=code_version(), file_kind=kind,
    )
    max_fraction = getattr(profile, "max_error_fraction", 0.5)
    with WRITE_LOCK, open_writer(settings.warehouse, memory_limit=settings.limits.writer_memory_limit) as con:
        slot = _claim_file(con, settings, candidate, meta)
        if isinstance(slot, Committed):
            return slot
        file_id, meta, stem, earlier = slot
        discard = False
        if earlier is not None:
            outcome, discard = _record_duplicate(con, settings, meta, file_id, earlier,
                                                 Prepared(candidate, checksum, kind), stem)
            meta = replace(meta, archive_path=None) if discard else meta
        else:
            context = load_context(settings, candidate.centre_id, candidate.path.name, kind, 1.0)
            parts, rows_read = [], 0
            try:
                for i, raw in enumerate(iter_csv_chunks(candidate.path, spec, chunk_rows, limits=settings.limits)):
                    if i == 0:
                        refuse_identifiers(raw, candidate.path.name)
                    h = harmonise(raw, spec, profile, key, file_name=candidate.path.name)
                    del raw
                    res = validate_file(h.frames, h.cell_issues, context)
                    if res.file_error is not None:
                        raise res.file_error
                    rows_read += res.rows_read
                    loader.load_chunk(con, file_id, res)      # committed, invisible until the file row
                    parts.append(replace(res, accepted={}))
                if not unchanged_since_discovery(candidate):
                    raise not_ready(candidate)
                merged = _merge_results(parts, rows_read)
                if rows_read and merged.rows_rejected / rows_read > max_fraction:
                    raise FileRejected(
                        f"{merged.rows_rejected} of {rows_read} lines have errors, more than the centre's "
                        f"limit of {max_fraction:.0%}; the whole file was rejected", code="too_many_errors",
                        file=candidate.path.name, hint="fix the errors listed in the report and resend the file")
                outcome = loader.plan_outcome(file_id, merged)
                write_report(settings, meta, outcome, Prepared(candidate, checksum, kind, result=merged,
                                                               rows_read=rows_read), stem)
                outcome = loader.finish_streamed_file(con, file_id, meta, outcome, merged.confirmed)
            except Exception as exc:
                loader.remove_uncommitted_rows(con, file_id)
                if isinstance(exc, TdmError) and exc.transient:
                    return deferred(candidate, exc)
                err = _as_file_error(exc, candidate)
                if err.code == DIRECT_IDENTIFIER:
                    discard, meta = True, replace(meta, archive_path=None)
                outcome = loader.error_outcome(file_id, err, rows_read)
                write_report(settings, meta, outcome, Prepared(candidate, checksum, kind, error=err), stem)
                outcome = loader.record_file_error(con, file_id, meta, err, rows_read)
        publish_snapshot(con, settings.warehouse, settings.snapshot)
    return _committed(candidate, outcome, meta, discard)
