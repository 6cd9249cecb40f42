"""The drop zone: an uploaded export goes into the centre's inbox and through the one ingestion path.

Nothing here checks a file's content.  The upload is written under a hidden temporary name (which
discovery skips), moved to its real name in the centre's inbox without replacing anything, and then
the very functions ``tdm ingest`` uses (:func:`ingestion.discover`, then
:func:`ingestion.process_file_guarded`) take it: the same type sniffing, identifier refusal,
validation, report and archive as a file dropped in the folder.  A concurrent ``tdm watch`` that sees
the file first is harmless (the writer stage claims each file once).  The only check of our own is
the size limit, because an upload has to be received before ingestion can look at it.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

from base.config import Settings
from base.errors import TdmError
from ingestion import MAX_NAME_BYTES, Committed, discover, is_temporary, process_file_guarded, setup

class UploadRefused(TdmError):
    """An upload that cannot be put in the inbox (its name, its size, a file waiting under that name)."""

    code = "upload_refused"

    def __init__(self, message: str, *, status: int = 400, **kw):
        super().__init__(message, **kw)
        self.status = status


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(f"the file is larger than the upload limit of {limit >> 20} MB", status=413,
                         code="upload_too_large", hint="split the export (by year, say), or ask the coordinator "
                                                       "to put the file into the inbox folder directly")


def check_upload_name(name: str) -> str:
    """The file name as it will be in the inbox, or :class:`UploadRefused` saying why not.

    A browser sends the name alone; anything with a folder in it, a control character, or a name
    discovery would skip as temporary (``.hidden``, ``*.part``, ``~$lock``...) is refused rather
    than silently never ingested."""
    raw = name or ""
    if not raw.strip():
        raise UploadRefused("the upload has no file name", code="upload_no_name",
                            hint="choose the export file with the 'Choose file' button or drop it on the zone")
    if "/" in raw or "\\" in raw or raw in (".", ".."):
        raise UploadRefused("the file name contains a folder; only a file name is accepted", code="upload_bad_name",
                            value=raw, hint="upload the file itself, named like the centre's exports")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in raw):
        raise UploadRefused("the file name contains control or invisible characters", code="upload_bad_name",
                            value=raw, hint="rename the file with letters, digits, '-', '_' and '.' only")
    if raw != raw.strip():
        raise UploadRefused("the file name starts or ends with a space", code="upload_bad_name", value=raw,
                            hint="rename the file without the leading/trailing spaces")
    if is_temporary(raw):
        raise UploadRefused("this looks like a temporary or hidden file (a download in progress, an editor's "
                            "lock file), which ingestion never reads", code="upload_temporary_name", value=raw,
                            hint="upload the finished export itself")
    if len(raw.encode("utf-8")) > 4 * MAX_NAME_BYTES:
        raise UploadRefused("the file name is too long", code="upload_bad_name", value=raw[:60] + "...",
                            hint=f"rename the file to at most {MAX_NAME_BYTES} characters")
    return raw


async def receive_upload(settings: Settings, centre_id: str, name: str, chunks: AsyncIterator[bytes],
                         limit: int) -> Path:
    """Write the uploaded bytes into ``inbox/<centre>/<name>``; returns that path.

    The bytes go to a hidden ``.upload-*.part`` file first and are linked to the real name only
    when complete, so neither discovery nor a reader ever sees half an upload, and an existing file
    of the same name is never replaced."""
    name = check_upload_name(name)
    folder = settings.centre_inbox(centre_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        raise UploadRefused(f"a file named {name!r} is already waiting in the inbox", status=409,
                            code="upload_name_waiting", value=name,
                            hint="wait for it to be processed (a minute), or rename the new export")
    tmp = folder / f".upload-{secrets.token_hex(8)}.part"
    size = 0
    try:
        with open(tmp, "xb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)           # atomic, and fails rather than replace a file of that name
        except FileExistsError as exc:
            raise UploadRefused(f"a file named {name!r} is already waiting in the inbox", status=409,
                                code="upload_name_waiting", value=name,
                                hint="wait for it to be processed, or rename the new export") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def ingest_uploaded(settings: Settings, centre_id: str, path: Path) -> Committed:
    """Run the uploaded file through discovery and the ingestion stages, exactly as ``tdm ingest``
    would for a file dropped into the folder (only this file: others may still be being copied)."""
    settings, profiles, key = setup(settings.home)
    found = discover(settings, [centre_id], stable_seconds=0)
    cand = next((c for c in found.ready if c.path == path), None)
    if cand is None:
        why = next((w for w in found.warnings if path.name in w),
                   "it is being processed by the running 'tdm watch'; its report appears in the list of files")
        return Committed(centre_id, path.name, None, "not_found", 0, 0, 0, 0,
                         f"the file was not picked up from the inbox: {why}", None, None)
    return process_file_guarded(settings, profiles[centre_id], cand, key)


__all__ = ["UploadRefused", "check_upload_name", "receive_upload", "ingest_uploaded", "too_large"]
